#!/bin/bash
# p2v img info/check/map/compare on images of other formats: VDI and QED are
# refused in one line naming the format (exit 1,
# compare 2), never described as "raw"; a fixed VHD is format "vpc", its
# virtual size is the footer's, and map/compare read its data part only, as
# qemu-img -f vpc does. (Dynamic and differencing VHDs, VHDX, VMDK: vdisk_*.sh.)
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img jq

cd "$WORK"
truncate -s 8M disk.raw
head -c 1M /dev/urandom | dd of=disk.raw bs=1M seek=2 conv=notrunc status=none
printf 'tail' | dd of=disk.raw bs=1 seek=$((8 * 1048576 - 100)) conv=notrunc status=none

declare -A NAME=([vdi]=VDI [qed]=QED)
for f in vdi qed; do
    qemu-img convert -O $f disk.raw img.$f
    for cmd in info check map; do
        expect_exit 1 "$P2V" img $cmd img.$f
        [ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "img $cmd img.$f: $(cat "$WORK/last.err")"
        grep -qF "p2v: img.$f: ${NAME[$f]} image: not supported;" "$WORK/last.err" ||
            fail "img $cmd img.$f: $(cat "$WORK/last.err")"
        [ ! -s "$WORK/last.out" ] || fail "img $cmd img.$f printed: $(cat "$WORK/last.out")"
    done
    expect_exit 1 "$P2V" img info --output=json img.$f
    expect_exit 2 "$P2V" img compare img.$f disk.raw
    grep -qF "${NAME[$f]} image: not supported" "$WORK/last.err" || fail "compare img.$f"
    expect_exit 2 "$P2V" img compare disk.raw img.$f
    grep -qF "${NAME[$f]} image: not supported" "$WORK/last.err" || fail "compare disk.raw img.$f"
done
pass "VDI, QED refused by img info/check/map/compare"

# A fixed VHD: qemu-img probes it as raw (no signature at byte 0), so ask it
# for vpc explicitly; p2v finds the footer.
qemu-img convert -O vpc -o subformat=fixed disk.raw fixed.vpc
expect_exit 0 "$P2V" img info --output=json fixed.vpc
qemu-img info -f vpc --output=json fixed.vpc >q.json
check_eq "info JSON of a fixed VHD" "$(jq -S . q.json)" "$(jq -S . "$WORK/last.out")"
check_eq "format" vpc "$(jq -r .format "$WORK/last.out")"
[ "$(jq '."virtual-size"' q.json)" -lt "$(stat -c %s fixed.vpc)" ] || fail "virtual size includes the footer"
expect_exit 0 "$P2V" img info fixed.vpc
grep -qx "file format: vpc" "$WORK/last.out" || fail "human info: $(cat "$WORK/last.out")"
grep -qF "($(jq '."virtual-size"' q.json) bytes)" "$WORK/last.out" || fail "human virtual size"
for out in human json; do
    qemu-img map -f vpc --output=$out fixed.vpc >q.map
    expect_exit 0 "$P2V" img map --output=$out fixed.vpc
    cmp -s q.map "$WORK/last.out" || { diff q.map "$WORK/last.out" >&2 || true; fail "map --output=$out"; }
done
pass "fixed VHD: info and map equal to qemu-img -f vpc"

qemu-img convert -f vpc -O raw fixed.vpc data.raw
expect_exit 0 "$P2V" img compare fixed.vpc data.raw
grep -qx "Images are identical." "$WORK/last.out" || fail "compare: $(cat "$WORK/last.out")"
# The footer is not data: a raw copy of the whole file (a zero sector added
# so that it is no longer a VHD) differs from the VHD at the footer, past the
# VHD's end (read as zeros there).
cp fixed.vpc whole.raw
truncate -s +512 whole.raw
expect_exit 1 "$P2V" img compare fixed.vpc whole.raw
grep -qx "Content mismatch at offset $(jq '."virtual-size"' q.json)!" "$WORK/last.out" ||
    fail "footer read as data? $(cat "$WORK/last.out")"
qemu-img check -f vpc fixed.vpc >/dev/null 2>&1 && qrc=0 || qrc=$?
expect_exit "$qrc" "$P2V" img check fixed.vpc
grep -q "does not support checks" "$WORK/last.err" || fail "check: $(cat "$WORK/last.err")"
pass "fixed VHD: compare reads the data part only; check exits $qrc as qemu-img"
