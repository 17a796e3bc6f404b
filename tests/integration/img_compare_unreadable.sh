#!/bin/bash
# `p2v img compare` on an image with an unreadable cluster (served by faultfs,
# whose chosen bytes fail with EIO) exits 4 as qemu-img compare does ("error
# reading"), naming the image and the sector; readable images keep 0 and 1.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img fusermount3
: "${P2V_FAULTFS:?P2V_FAULTFS must point at the faultfs test tool (ctest sets it)}"
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }

cd "$WORK"
head -c 4M /dev/urandom >a.raw
mkdir ff
"$P2V_FAULTFS" --bad 2097152:512 a.raw ff
track_mount "$WORK/ff"
q=0
qemu-img compare -f raw -F raw a.raw ff/disk.img >/dev/null 2>&1 || q=$?
check_eq "qemu-img compare on an unreadable cluster" 4 "$q"
expect_exit 4 "$P2V" img compare a.raw ff/disk.img
grep -q "ff/disk.img: read error at offset 2097152 (sector 4096)" "$WORK/last.err" || fail "message"
pass "p2v img compare: exit 4, naming the image and sector"
cp a.raw b.raw
expect_exit 0 "$P2V" img compare a.raw b.raw
# the complement of the byte there: a fixed byte equals the random one 1 time in 256
old=$(od -An -tu1 -j3000000 -N1 a.raw | tr -d ' ')
printf "\\$(printf %o $((255 - old)))" | dd of=b.raw bs=1 seek=3000000 conv=notrunc status=none
cmp -s a.raw b.raw && fail "b.raw still equals a.raw"
expect_exit 1 "$P2V" img compare a.raw b.raw
fusermount3 -u ff
