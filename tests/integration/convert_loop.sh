#!/bin/bash
# An OUTPUT that is the backing file of a loop device given as a source is
# refused, even with --force, also with --dry-run: the file stays as it was.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk losetup

cd "$WORK"
truncate -s 32M d1.img
sfdisk -q d1.img <<<'label: dos
start=2048, size=20480, type=83'
head -c 1M /dev/urandom | dd of=d1.img bs=512 seek=2048 conv=notrunc status=none
sum=$(sha256sum <d1.img)
L=$(losetup_attach -r d1.img) || { echo "SKIP: cannot attach a loop device" >&2; exit 77; }
[ -b "$L" ] || { echo "SKIP: no loop block device" >&2; exit 77; }
ln -s d1.img link.img
for out in d1.img "$WORK/d1.img" link.img; do
    for dry in "" --dry-run; do
        expect_exit 1 "$P2V" convert $dry -f -o "$out" "$L:1"
        grep -q "backing file of loop device $L" "$WORK/last.err" ||
            fail "OUTPUT=$out $dry not refused: $(cat "$WORK/last.err")"
    done
done
check_eq "loop backing file unchanged" "$sum" "$(sha256sum <d1.img)"
[ -z "$(ls -A | grep p2v-)" ] || fail "temporary file left"
pass "OUTPUT behind a source loop device refused"

# Another file is fine.
expect_exit 0 "$P2V" convert -O raw -o other.img "$L:1"
cmp <(dd if=d1.img bs=512 skip=2048 count=20480 status=none) \
    <(dd if=other.img bs=512 skip=2048 count=20480 status=none) || fail "copy differs"
pass "a loop device source converts to another file"
