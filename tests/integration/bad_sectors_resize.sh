#!/bin/bash
# Bad sectors in a partition that is resized (issue 24 item 9): the NTFS
# partition of bad_sectors.sh's old disk, served through faultfs with bad
# sectors inside two files and in free space, grown to 48 MiB and shrunk to
# 12 MiB (the files' clusters move below the new end, so the image holds
# them elsewhere than the source). Whatever view the copy reads through
# (window, copy-on-write overlay, remapped moves), the messages and the map
# name the source disk and its own sectors, as a plain copy does:
#   --bad-sectors fail: "DISK: unreadable sectors ...: <source sectors>"
#   --bad-sectors zero: "sector <source sector>: data lost in FILE", the
#     map's comments name the source sectors, its '-' runs are the image
#     sectors that hold zeros, and each damaged file read back from the
#     image (ntfscat) is the source's with exactly the bad sector zeroed.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat ddrescuelog python3 fusermount3 cmp jq
: "${P2V_FAULTFS:?P2V_FAULTFS must point at the faultfs test tool (ctest sets it)}"
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }

cd "$WORK"
# Files whose 16-byte records name themselves and their offset.
mkfile() { python3 -c '
import sys
tag, size = sys.argv[1], int(sys.argv[2])
sys.stdout.buffer.write(b"".join(b"%-8s%08x" % (tag.encode(), o) for o in range(0, size, 16)))
' "$1" "$2" >"$3"; }
mkfile THESIS $((192 * 1024)) thesis.docx
mkfile PHOTO $((256 * 1024)) photo.jpg
mkfile KEEP $((64 * 1024)) notes.txt

# The source: MBR, one NTFS partition of 32 MiB at sector 2048.
truncate -s 32M fs.img
mkntfs -q -F -Q -p 2048 -H 255 -S 63 -L OLDPC fs.img
mkdir mnt
ntfs-3g fs.img mnt
track_mount "$WORK/mnt"
mkdir -p mnt/Users/ann
cp thesis.docx mnt/Users/ann/
cp photo.jpg notes.txt mnt/
umount mnt
truncate -s 40M disk.img
echo 'start=2048, size=65536, type=7' | sfdisk -q disk.img
dd if=fs.img of=disk.img bs=512 seek=2048 conv=notrunc status=none

# Where the damage goes, in sectors of disk.img.
sector_of() { python3 -c '
import sys
data = open("disk.img", "rb").read()
at = data.find(b"%-8s%08x" % (sys.argv[1].encode(), int(sys.argv[2])))
assert at >= 0, sys.argv[1]
print(at // 512)
' "$1" "$2"; }
s_thesis=$(sector_of THESIS 65536)
s_photo=$(sector_of PHOTO 131072)
# A cluster $Bitmap marks free, in the middle of the volume (4 KiB clusters).
ntfscat -i 6 fs.img >bitmap.bin
s_free=$(python3 -c '
b = open("bitmap.bin", "rb").read()
nclus = 32 * 1024 * 1024 // 4096
free = [c for c in range(nclus // 2, nclus) if not (b[c // 8] >> (c % 8)) & 1]
print(2048 + free[len(free) // 2] * 8 + 3)
')
echo "bad sectors: thesis $s_thesis, photo $s_photo, free space $s_free"

# faultfs over disk.img with the given sector list: the source is $WORK/ff/disk.img
serve() {
    local args=() s
    for s in "$@"; do args+=(--bad "$((s * 512)):512"); done
    mkdir -p ff
    fusermount3 -u ff 2>/dev/null || true
    "$P2V_FAULTFS" "${args[@]}" disk.img ff
    track_mount "$WORK/ff"
    cmp -s -i 1048576 -n 512 disk.img ff/disk.img || fail "faultfs does not serve disk.img"
}
src=ff/disk.img

# --- fail (the default): it stops at the first block read that has bad
need ntfsfix
serve "$s_thesis" "$((s_photo + 1))" "$s_free"

# file_check IMG NAME PATH SRCFILE REC: PATH in the image's partition 1
# equals SRCFILE except the 512 bytes of the record REC (its byte offset),
# which the bad sector held: zeros there.
file_check() {
    local img=$1 name=$2 path=$3 srcfile=$4 rec=$5 start size
    start=$(sfdisk --json "$img" | jq '.partitiontable.partitions[0].start')
    size=$(sfdisk --json "$img" | jq '.partitiontable.partitions[0].size')
    dd if="$img" of="$name.part" bs=512 skip="$start" count="$size" status=none
    ntfsfix -n "$name.part" >/dev/null 2>&1 || fail "$name: ntfsfix -n"
    ntfscat "$name.part" "$path" >"$name.got" || fail "$name: ntfscat $path"
    python3 - "$name.got" "$srcfile" "$rec" <<'PY' || fail "$name: $path is not the source's with one sector zeroed"
import sys
got, src, rec = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3])
assert len(got) == len(src), (len(got), len(src))
# the bad sector holds the record at rec; it starts on a sector boundary of the disk
z = [i for i in range(0, len(got), 512) if got[i:i + 512] == bytes(512)]
assert len(z) == 1, z
a = z[0]
assert a <= rec < a + 512, (a, rec)
assert got[:a] == src[:a] and got[a + 512:] == src[a + 512:]
PY
    rm -f "$name.part" "$name.got"
}

for spec in 48M 12M; do
    # --- fail: the source disk and its sectors, nothing written ---
    expect_exit 1 "$P2V" convert -O raw --copy all -o fail.raw "$src:1=$spec"
    grep -q "^p2v: $src:1: $src: unreadable sectors (512 bytes each): $s_thesis, $((s_photo + 1)); --bad-sectors zero copies around them$" "$WORK/last.err" ||
        { cat "$WORK/last.err"; fail "=$spec: the error does not name the source disk's sectors"; }
    [ ! -e fail.raw ] && [ ! -e fail.raw.badmap ] || fail "=$spec: a failed run left files"
    pass "=$spec, --bad-sectors fail: $src, sectors $s_thesis, $((s_photo + 1))"

    # --- zero: the source's sectors in the messages and the map's comments ---
    expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o zero.raw "$src:1=$spec"
    echo "----- =$spec"; cat "$WORK/last.err"; cat zero.raw.badmap
    grep -q "$src:1: sector $s_thesis: data lost in /Users/ann/thesis.docx$" "$WORK/last.err" ||
        fail "=$spec: thesis not named with source sector $s_thesis"
    grep -q "$src:1: sector $((s_photo + 1)): data lost in /photo.jpg$" "$WORK/last.err" ||
        fail "=$spec: photo not named with source sector $((s_photo + 1))"
    grep -q "^# $src:1: $src sector $s_thesis (512 bytes each) at image byte" zero.raw.badmap ||
        fail "=$spec: the map's comment does not name source sector $s_thesis"
    grep -q "^# $src:1: $src sector $((s_photo + 1)) (512 bytes each) at image byte" zero.raw.badmap ||
        fail "=$spec: the map's comment does not name source sector $((s_photo + 1))"
    ! grep -q "@" "$WORK/last.err" zero.raw.badmap || fail "=$spec: an internal view is named"
    # the map's bad image sectors hold zeros and are where the files' records went
    for s in $(ddrescuelog -b512 -l- zero.raw.badmap); do
        cmp -s <(dd if=zero.raw bs=512 skip="$s" count=1 status=none) <(head -c 512 /dev/zero) ||
            fail "=$spec: image sector $s of the map is not zeros"
    done
    check_eq "=$spec: bad sectors in the map" 2 "$(ddrescuelog -b512 -l- zero.raw.badmap | wc -l)"
    file_check zero.raw "z$spec" Users/ann/thesis.docx thesis.docx 65536
    file_check zero.raw "z$spec" photo.jpg photo.jpg $((131072 + 512))  # s_photo + 1
    pass "=$spec, --bad-sectors zero: source sectors named, map and files exact"
    rm -f zero.raw zero.raw.badmap
done
