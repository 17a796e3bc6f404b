#!/bin/bash
# The bad-sector file report when the sector that opens the filesystem is
# lost (issue 25 item 7), through faultfs (a FUSE file whose chosen byte
# ranges fail with EIO), --bad-sectors zero:
#   FAT16: a bad sector in FAT #1 that holds the middle of a file's chain,
#     and a bad data sector in that file's last cluster: the FAT sector is
#     named "(FAT #1)", and the file is named, its chain followed through
#     FAT #2 (with FAT #1 alone the chain stops at the zeroed sector and the
#     file's tail reads as free space);
#   NTFS: the boot sector (the partition's first sector) bad, and a sector
#     of a file: the copy goes on (the boot sector written as zeros, the
#     partition copied whole with a notice), the report opens the volume
#     through its backup boot sector in the partition's last sector and
#     names /$Boot and the file (before: "cannot tell which files of a
#     unknown filesystem").
# Every line is checked exactly; the sectors are found in the disk image by
# the files' own contents and the FAT's layout read by Python, not by p2v.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.vfat mcopy mkntfs ntfs-3g python3 fusermount3 cmp
: "${P2V_FAULTFS:?P2V_FAULTFS must point at the faultfs test tool (ctest sets it)}"
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }
cd "$WORK"

# Files whose 16-byte records name themselves and their offset.
mkfile() { python3 -c '
import sys
tag, size = sys.argv[1], int(sys.argv[2])
sys.stdout.buffer.write(b"".join(b"%-8s%08x" % (tag.encode(), o) for o in range(0, size, 16)))
' "$1" "$2" >"$3"; }

# disk IMG FS: a 40 MiB disk, one 32 MiB partition at sector 2048 holding FS.
disk() {
    truncate -s 40M "$1"
    echo 'start=2048, size=65536, type=7' | sfdisk -q "$1"
    dd if="$2" of="$1" bs=512 seek=2048 conv=notrunc status=none
}

# serve IMG SECTOR...: faultfs over IMG, which it serves as $WORK/ff/disk.img
serve() {
    local img=$1 args=() s
    shift
    for s in "$@"; do args+=(--bad "$((s * 512)):512"); done
    mkdir -p ff
    fusermount3 -u ff 2>/dev/null || true
    "$P2V_FAULTFS" "${args[@]}" "$img" ff
    track_mount "$WORK/ff"
    cmp -s -n 512 "$img" ff/disk.img || fail "faultfs does not serve $img"
}
src=ff/disk.img

# zero_copy OUT: p2v convert --bad-sectors zero of partition 1 of the served
# disk into OUT (raw); its messages printed, and kept in $WORK/last.err.
zero_copy() {
    expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o "$1" "$src:1"
    cat "$WORK/last.err"
}

# sector_of IMG TAG OFFSET: the disk sector holding that record of a file
sector_of() { python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
at = data.find(b"%-8s%08x" % (sys.argv[2].encode(), int(sys.argv[3])))
assert at >= 0, sys.argv[2]
print(at // 512)
' "$1" "$2" "$3"; }

# --- FAT16: FAT #1's sector in the middle of big.bin's chain ---
mkfile BIGFILE $((1536 * 1024)) big.bin
mkfile SMALL $((8 * 1024)) small.txt
truncate -s 32M fat.fs
mkfs.vfat -F 16 -n OLDFAT fat.fs >/dev/null
mcopy -i fat.fs small.txt big.bin ::/
disk fat.img fat.fs
# The FAT sector holding the entry of big.bin's middle cluster, and the
# sector of its last record (its chain runs on past that FAT sector).
read -r s_fat s_tail <<<"$(python3 - <<'PY'
import struct
d = open("fat.img", "rb").read()
base = 2048 * 512
bs = d[base:base + 512]
bps, spc, res, nfats, rootents, _, _, fatsz = struct.unpack_from("<HBHBHHBH", bs, 11)
fat0 = base + res * bps
data0 = fat0 + nfats * fatsz * bps + rootents * 32
csize = bps * spc
first = (d.find(b"BIGFILE 00000000") - data0) // csize + 2
last_at = d.find(b"BIGFILE %08x" % (1536 * 1024 - 16))
last = (last_at - data0) // csize + 2
assert last > first + 600, (first, last)     # one run, spanning FAT sectors
mid = (first + last) // 2
s_fat, s_tail = (fat0 + mid * 2) // 512, last_at // 512
assert (fat0 + last * 2) // 512 != s_fat     # the tail's entry lies past the bad sector
print(s_fat, s_tail)
PY
)"
echo "FAT: FAT #1 sector $s_fat, big.bin's last sector $s_tail"
serve fat.img "$s_fat" "$s_tail"
zero_copy fat.raw
err_has -x "p2v: warning: $src:1: sector $s_fat: data lost in (FAT #1)" "FAT: the bad FAT #1 sector is not named (FAT #1)"
err_has -x "p2v: warning: $src:1: sector $s_tail: data lost in /big.bin" \
    "FAT: big.bin, whose chain passes the bad FAT #1 sector, is not named"
grep -c "data lost in" "$WORK/last.err" | grep -qx 2 || fail "FAT: more named than damaged"
fusermount3 -u ff
pass "FAT: (FAT #1) named for its bad sector, big.bin named through FAT #2"

# --- NTFS: the boot sector lost ---
mkfile THESIS $((192 * 1024)) thesis.docx
truncate -s 32M nt.fs
mkntfs -q -F -Q -p 2048 -H 255 -S 63 -L OLDPC nt.fs
mkdir -p mnt
ntfs-3g nt.fs mnt
track_mount "$WORK/mnt"
mkdir -p mnt/Users/ann
cp thesis.docx mnt/Users/ann/
umount mnt
disk nt.img nt.fs
s_thesis=$(sector_of nt.img THESIS 65536)
serve nt.img 2048 "$s_thesis"
zero_copy nt.raw
err_has "notice: $src:1: copying every sector: its filesystem's metadata cannot be read" "NTFS: no full-copy notice"
err_has -x "p2v: warning: $src:1: sector 2048: data lost in /\$Boot" "NTFS: the boot sector is not named /\$Boot"
err_has -x "p2v: warning: $src:1: sector $s_thesis: data lost in /Users/ann/thesis.docx" "NTFS: thesis.docx is not named"
grep -q "cannot tell which files" "$WORK/last.err" && fail "NTFS: still cannot tell"
# The image: the source with those two sectors as zeros.
python3 - "$s_thesis" <<'PY' || fail "NTFS: the image differs from the source outside the bad sectors"
import sys
bad = {2048, int(sys.argv[1])}
src = open("nt.img", "rb").read()[2048 * 512:(2048 + 65536) * 512]
out = open("nt.raw", "rb").read()[2048 * 512:(2048 + 65536) * 512]
for s in range(65536):
    a, b = src[s * 512:(s + 1) * 512], out[s * 512:(s + 1) * 512]
    assert b == (bytes(512) if 2048 + s in bad else a), s
PY
fusermount3 -u ff
pass "NTFS: boot sector lost: copied with zeros there, files named through the backup boot sector"
