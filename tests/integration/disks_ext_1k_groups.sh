#!/bin/bash
# An MBR disk image holding an ext4 of 1 KiB blocks and 1024 blocks per
# group at 1 MiB (issue 24 item 11): a backup superblock lies at 8 MiB +
# 1 KiB, where the volume would start if the entries counted 4096-byte
# sectors. It is no reason to doubt the sector size: no "sector size
# unclear" warning, 512-byte sectors, the ext4 found; p2v convert copies it
# and e2fsck -fn finds it clean.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.ext4 e2fsck python3
cd "$WORK"

truncate -s 40M e.img
echo "start=2048, type=83" | sfdisk -q e.img
truncate -s 39M e.part
mkfs.ext4 -q -F -b 1024 -g 1024 e.part
# the premise: a superblock (a backup) where a 4096-byte-sector reading looks
python3 - <<'PY' || fail "no backup superblock at 8 MiB + 1 KiB: the test proves nothing"
import struct, sys
b = open("e.part", "rb").read()[7 * 1048576 + 1024:][:92]
sys.exit(0 if struct.unpack_from("<H", b, 56)[0] == 0xEF53 and struct.unpack_from("<H", b, 90)[0] != 0 else 1)
PY
dd if=e.part of=e.img bs=1M seek=1 conv=notrunc status=none

expect_exit 0 "$P2V" disks e.img
! grep -q "unclear" "$WORK/last.err" || fail "spurious warning: $(cat "$WORK/last.err")"
grep -q "sectors of 512 bytes" "$WORK/last.out" || fail "not 512-byte sectors: $(cat "$WORK/last.out")"
grep -q "ext4" "$WORK/last.out" || fail "no ext4: $(cat "$WORK/last.out")"
pass "p2v disks: 512-byte sectors, ext4, no warning"

expect_exit 0 "$P2V" convert -O raw -o out.raw e.img:1
! grep -q "unclear" "$WORK/last.err" || fail "convert: spurious warning: $(cat "$WORK/last.err")"
dd if=out.raw of=out.part bs=1M skip=1 count=39 status=none
e2fsck -fn out.part >fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck -fn"; }
pass "p2v convert: no warning, e2fsck -fn clean"
