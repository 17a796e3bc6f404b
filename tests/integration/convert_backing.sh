#!/bin/bash
# Every file of a source's backing chain is a source: OUTPUT naming any of
# them (directly, through a symlink or another path) is refused, even with
# --force and in --dry-run, and the file is left untouched.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.vfat qemu-img sha256sum jq

cd "$WORK"
truncate -s 16M d2.img
sfdisk -q d2.img <<'SF'
label: dos
start=2048, size=20480, type=c
SF
truncate -s 10M fs.img
mkfs.vfat -n DATA fs.img >/dev/null
dd if=fs.img of=d2.img bs=512 seek=2048 conv=notrunc,sparse status=none
qemu-img convert -O qcow2 d2.img base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
cp d2.img rawbase.img
qemu-img create -q -f qcow2 -b rawbase.img -F raw overraw.qcow2
mkdir sub
ln -s ../base.qcow2 sub/link.qcow2
base_sum=$(sha256sum <base.qcow2)
mid_sum=$(sha256sum <mid.qcow2)
raw_sum=$(sha256sum <rawbase.img)

for out in base.qcow2 mid.qcow2 ./base.qcow2 "$WORK/base.qcow2" sub/../base.qcow2 sub/link.qcow2; do
    for dry in "" --dry-run; do
        expect_exit 1 "$P2V" convert $dry -f -o "$out" top.qcow2:1
        grep -q "in the backing chain of top.qcow2, one of the sources; refusing to write over it" \
            "$WORK/last.err" || fail "-o $out $dry: $(cat "$WORK/last.err")"
    done
done
check_eq "base.qcow2 untouched" "$base_sum" "$(sha256sum <base.qcow2)"
check_eq "mid.qcow2 untouched" "$mid_sum" "$(sha256sum <mid.qcow2)"
qemu-img compare -q top.qcow2 d2.img || fail "the source top.qcow2 changed"
pass "OUTPUT in a qcow2 backing chain refused (direct, relative, symlink, --dry-run)"

# The chain of a second source counts too; a raw backing file as well.
expect_exit 1 "$P2V" convert -f -o rawbase.img -O raw d2.img:1 overraw.qcow2:1
grep -q "OUTPUT is rawbase.img, in the backing chain of overraw.qcow2" "$WORK/last.err" ||
    fail "raw backing: $(cat "$WORK/last.err")"
check_eq "rawbase.img untouched" "$raw_sum" "$(sha256sum <rawbase.img)"
pass "raw backing file of the second source refused"

# A file outside the chain is still written (with --force), and the copy is right.
cp base.qcow2 other.qcow2
expect_exit 0 "$P2V" convert -f -o other.qcow2 top.qcow2:1
qemu-img check -q other.qcow2
[ "$(qemu-img info --output=json other.qcow2 | jq -r '."backing-filename" // "none"')" = none ] ||
    fail "other.qcow2 has a backing file"
pass "OUTPUT outside the chain is replaced with --force"
