#!/bin/bash
# Redundant metadata that disagrees with itself: a FAT whose FAT #1 lost the
# chains of its files while FAT #2 still has them (before the fix: the files'
# clusters were left out and read as zeros in the image), an NTFS whose
# $MFTMirr differs from the first $MFT records, and an ext4 whose backup
# superblock disagrees with the primary. Each is copied whole (the output
# partition equals the source partition byte for byte), exit 0, with a notice
# naming the disagreement. Intact filesystems keep their used-blocks copy.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.vfat mcopy mkntfs ntfscp mkfs.ext4 python3 cmp

cd "$WORK"
head -c 300000 /dev/urandom >a.bin
head -c 200000 /dev/urandom >b.bin
truncate -s 16M fat.img ntfs.img ext.img
mkfs.vfat -F 16 -h 2048 fat.img >/dev/null   # hidden sectors already right: the copy is byte-exact
mcopy -i fat.img a.bin b.bin ::/
mkntfs -q -F -Q -p 34816 ntfs.img >/dev/null 2>&1
ntfscp -q ntfs.img a.bin a.bin
mkdir extfiles && cp a.bin b.bin extfiles/
mkfs.ext4 -q -F -b 1024 -d extfiles ext.img

# disk: fat, ntfs, ext at 1 MiB, 17 MiB, 33 MiB
mkdisk() {
    truncate -s 50M disk.img
    printf 'start=2048,size=32768,type=6\nstart=34816,size=32768,type=7\nstart=67584,size=32768,type=83\n' | sfdisk -q disk.img
    dd if=fat.img of=disk.img bs=512 seek=2048 conv=notrunc status=none
    dd if=ntfs.img of=disk.img bs=512 seek=34816 conv=notrunc status=none
    dd if=ext.img of=disk.img bs=512 seek=67584 conv=notrunc status=none
}
# part N of IMG as a file
part() { sfdisk --json "$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1]) - 1]
print(p["start"], p["size"])' "$2"; }
same_part() { # N: output partition N equals source partition N
    local s1 n1 s2 n2
    read -r s1 n1 < <(part disk.img "$1")
    read -r s2 n2 < <(part out.raw "$1")
    cmp <(dd if=disk.img bs=512 skip="$s1" count="$n1" status=none) \
        <(dd if=out.raw bs=512 skip="$s2" count="$n1" status=none) >/dev/null
}

mkdisk
expect_exit 0 "$P2V" convert -O raw -o out.raw disk.img:1 disk.img:2 disk.img:3
grep -q "copying every sector" "$WORK/last.err" && { cat "$WORK/last.err"; fail "intact filesystems copied whole"; }
pass "intact FAT, NTFS and ext4: used blocks only, no notice"

# FAT #1 loses the chains of its files (entries from 2 on zeroed); FAT #2 keeps them.
python3 - <<'PY'
import struct
f = open("fat.img", "r+b")
bs = f.read(512)
bps, res, fatsz = struct.unpack_from("<H", bs, 11)[0], struct.unpack_from("<H", bs, 14)[0], struct.unpack_from("<H", bs, 22)[0]
f.seek(res * bps + 4)
f.write(bytes(fatsz * bps - 4))
PY
# NTFS: one byte of $MFTMirr's first record (the record of $MFT itself) changes.
python3 - <<'PY'
import struct
f = open("ntfs.img", "r+b")
bs = f.read(512)
bps, spc = struct.unpack_from("<H", bs, 11)[0], bs[13]
mirr = struct.unpack_from("<q", bs, 0x38)[0] * bps * spc
f.seek(mirr + 0x60)
b = f.read(1)
f.seek(mirr + 0x60)
f.write(bytes([b[0] ^ 0x55]))
PY
# ext4: the backup superblock in group 1 (1 KiB blocks: block 8193) gets another UUID.
python3 - <<'PY'
f = open("ext.img", "r+b")
f.seek(8193 * 1024 + 104)
f.write(b"\x11" * 16)
PY
mkdisk
expect_exit 0 "$P2V" convert -O raw -f -o out.raw disk.img:1 disk.img:2 disk.img:3
cat "$WORK/last.err"
grep -q "notice: disk.img:1: copying every sector: FAT #1 and FAT #2 differ (first at byte 4 of the FAT): one of them is damaged" "$WORK/last.err" ||
    fail "FAT: no notice"
grep -q "notice: disk.img:2: copying every sector: .*MFTMirr" "$WORK/last.err" || fail "NTFS: no notice"
grep -q "notice: disk.img:3: copying every sector: ext4 primary superblock and its backup in group 1 disagree on the UUID" "$WORK/last.err" ||
    fail "ext4: no notice"
for n in 1 2 3; do same_part "$n" || fail "partition $n is not a full copy"; done
pass "FAT #1 != FAT #2, \$MFTMirr != \$MFT, ext4 backup superblock != primary: full copies with notices"
