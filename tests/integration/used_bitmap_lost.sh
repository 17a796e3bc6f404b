#!/bin/bash
# A used-block bitmap that lost a file's clusters (a crash, a broken tool;
# chkdsk /f or e2fsck -f repairs it) must not lose the file:
# - NTFS: the clusters of victim.bin marked free in $Bitmap and nothing else
#   changed (tests/lib/ntfsedit.py bitmap-clear; ntfsresize --info sees the
#   "cluster accounting" mismatch). A plain copy copies every sector, with
#   a notice naming the cluster and the MFT record, and victim.bin reads
#   back identical from the output (ntfscat); a resize, grow or shrink, is
#   refused with the same reason, exit 1, nothing left behind.
# - ext4: victim.bin's blocks freed with debugfs freeb, the group's and the
#   superblock's free counts raised to match (so that only the inodes tell:
#   e2fsck -fn reports the block bitmap differences alone). The same plain
#   copy (notice names the block and the inode; debugfs cat of the output)
#   and the grow refused.
# - FAT: the FAT is the map and the chains alike; a file whose chain was
#   freed in both FATs has lost its clusters in the filesystem itself, and
#   the copy holds what fsck.fat keeps of it: the repaired output's files
#   equal the repaired source's.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkntfs ntfscp ntfscat ntfsresize mkfs.ext4 debugfs dumpe2fs e2fsck mkfs.fat \
    mcopy mtype fsck.fat python3 sha256sum
cd "$WORK"
edit() { python3 "$P2V_SRC/tests/lib/ntfsedit.py" "$@"; }

head -c 3M /dev/urandom >victim.bin
head -c 1M /dev/urandom >other.bin
want=$(sha256sum <victim.bin)

# todisk NAME TYPE: NAME.img, MBR, the 32 MiB NAME.part as partition 1 at 1 MiB.
todisk() {
    truncate -s 34M "$1.img"
    echo "start=2048, size=$((32 * 2048)), type=$2" | sfdisk -q "$1.img"
    dd if="$1.part" of="$1.img" bs=1M seek=1 conv=notrunc,sparse status=none
}

# part NAME RAW: partition 1 of the raw image RAW into NAME.
part() { dd if="$2" of="$1" bs=1M skip=1 count=32 status=none; }

# refused WHAT PATTERN ARGS...: exit 1, PATTERN in the message, out/ empty.
refused() {
    local what=$1 pat=$2
    shift 2
    mkdir -p out
    expect_exit 1 "$P2V" convert -O raw -o out/x.raw "$@"
    grep -q -- "$pat" "$WORK/last.err" || fail "$what: $(cat "$WORK/last.err")"
    [ -z "$(ls -A out)" ] || fail "$what: the refusal left $(ls -A out)"
    pass "$what: $(tail -1 "$WORK/last.err")"
}

# --- NTFS ---
truncate -s 32M nt.part
mkntfs -q -F -Q -c 4096 nt.part >/dev/null 2>&1
ntfscp -q nt.part other.bin other.bin >/dev/null
ntfscp -q nt.part victim.bin victim.bin >/dev/null
cleared=$(edit bitmap-clear nt.part victim.bin | head -1)
lcn=${cleared%+*}
ntfsresize --info --no-action -f nt.part >nr.out 2>&1 || true
grep -q "cluster accounting mismatches" nr.out || fail "ntfsresize sees no mismatch: $(cat nr.out)"
todisk nt 7
expect_exit 0 "$P2V" convert -O raw -o nt.raw nt.img:1
grep -q "copying every sector: NTFS \$Bitmap says cluster $lcn is free but MFT record [0-9]* uses it (attribute type 0x80); run chkdsk /f" \
    "$WORK/last.err" || fail "ntfs: no notice naming cluster $lcn: $(cat "$WORK/last.err")"
part nt.out nt.raw
check_eq "ntfs: victim.bin from the plain copy" "$want" "$(ntfscat -f nt.out victim.bin 2>/dev/null | sha256sum)"
pat="nt.img:1: NTFS \$Bitmap says cluster $lcn is free but MFT record [0-9]* uses it (attribute type 0x80); run chkdsk /f: it cannot be resized"
refused "ntfs: grow refused" "$pat" nt.img:1=64M
refused "ntfs: shrink refused" "$pat" nt.img:1=24M
refused "ntfs: --size refused" "$pat" --size 80M nt.img:1
# The same volume with $Bitmap intact is mapped, not copied whole.
truncate -s 32M ok.part
mkntfs -q -F -Q -c 4096 ok.part >/dev/null 2>&1
ntfscp -q ok.part victim.bin victim.bin >/dev/null
todisk ok 7
expect_exit 0 "$P2V" convert -O raw -o ok.raw ok.img:1
! grep -q "copying every sector" "$WORK/last.err" || fail "ntfs: a sound volume copied whole: $(cat "$WORK/last.err")"
pass "ntfs: a sound volume is mapped"

# --- ext4 (4 KiB blocks: one group) ---
truncate -s 32M ex.part
mkfs.ext4 -q -F -b 4096 ex.part
debugfs -w -R "write other.bin other.bin" ex.part >/dev/null 2>&1
debugfs -w -R "write victim.bin victim.bin" ex.part >/dev/null 2>&1
ino=$(debugfs -R "stat /victim.bin" ex.part 2>/dev/null | sed -n 's/^Inode: *\([0-9]*\).*/\1/p')
read -r first len < <(debugfs -R "ex /victim.bin" ex.part 2>/dev/null |
    awk 'NR > 1 && $NF ~ /^[0-9]+$/ { print $(NF - 3), $NF; exit }')
[ "${len:-0}" -gt 0 ] || fail "ext4: no extent of victim.bin"
debugfs -w -R "freeb $first $len" ex.part >/dev/null 2>&1
gfree=$(dumpe2fs ex.part 2>/dev/null | grep -m1 'free blocks,' | sed 's/^ *\([0-9]*\) free blocks.*/\1/')
sfree=$(dumpe2fs -h ex.part 2>/dev/null | sed -n 's/^Free blocks: *//p')
debugfs -w -f - ex.part >/dev/null 2>&1 <<EOF
set_bg 0 free_blocks_count $((gfree + len))
set_bg 0 checksum calc
ssv free_blocks_count $((sfree + len))
EOF
e2fsck -fn ex.part >fsck.out 2>&1 || true
grep -q "Block bitmap differences" fsck.out || fail "ext4: e2fsck sees no bitmap difference: $(cat fsck.out)"
! grep -qi "count wrong" fsck.out || fail "ext4: the free counts disagree too: $(cat fsck.out)"
todisk ex 83
expect_exit 0 "$P2V" convert -O raw -o ex.raw ex.img:1
grep -q "copying every sector: ext4 block bitmap says block $first is free but inode $ino uses it; run e2fsck -f" \
    "$WORK/last.err" || fail "ext4: no notice naming block $first: $(cat "$WORK/last.err")"
part ex.out ex.raw
check_eq "ext4: victim.bin from the plain copy" "$want" "$(debugfs -R "cat /victim.bin" ex.out 2>/dev/null | sha256sum)"
refused "ext4: grow refused" "ex.img:1: ext4 block bitmap says block $first is free but inode $ino uses it; run e2fsck -f: it cannot be resized" ex.img:1=64M

# --- FAT16: victim.bin's chain freed in both FATs ---
truncate -s 32M fat.part
mkfs.fat -F 16 -s 4 fat.part >/dev/null
mcopy -i fat.part other.bin ::other.bin
mcopy -i fat.part victim.bin ::victim.bin
python3 - fat.part <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b")
bs = f.read(512)
bps, spc, res, nfats, nroot = struct.unpack_from("<HBHBH", bs, 11)
fatsz = struct.unpack_from("<H", bs, 22)[0]
root = (res + nfats * fatsz) * bps
f.seek(root)
ents = f.read(nroot * 32)
start = next(struct.unpack_from("<H", ents, i + 26)[0] for i in range(0, len(ents), 32)
             if ents[i:i + 11] == b"VICTIM  BIN")
for k in range(nfats):
    f.seek((res + k * fatsz) * bps)
    fat = bytearray(f.read(fatsz * bps))
    c = start
    while 2 <= c < 0xFFF0:
        nxt = struct.unpack_from("<H", fat, 2 * c)[0]
        struct.pack_into("<H", fat, 2 * c, 0)
        c = nxt
    f.seek((res + k * fatsz) * bps)
    f.write(fat)
EOF
todisk fat 6
expect_exit 0 "$P2V" convert -O raw -o fat.raw fat.img:1
part fat.out fat.raw
cp fat.part fat.src
fsck.fat -a fat.src >/dev/null 2>&1 || true
fsck.fat -a fat.out >/dev/null 2>&1 || true
for f in victim.bin other.bin; do
    check_eq "fat: $f after fsck.fat, output as source" \
        "$(mtype -i fat.src "::$f" 2>/dev/null | sha256sum)" "$(mtype -i fat.out "::$f" 2>/dev/null | sha256sum)"
done
check_eq "fat: other.bin intact" "$(sha256sum <other.bin)" "$(mtype -i fat.out ::other.bin | sha256sum)"
