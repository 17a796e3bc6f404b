# The old disk of the bad-sector tests (bad_sectors.sh, bad_sectors_resize.sh):
# an MBR disk.img with one 32 MiB NTFS partition at sector 2048 (fs.img, its
# image) holding three files whose 16-byte records name themselves and their
# offset, and where to damage it: s_thesis and s_photo, sectors inside two of
# the files (found by searching the disk for their contents, not through any
# NTFS code), s_free, a sector of a cluster $Bitmap marks free. serve SECTOR...
# puts faultfs over it: the source with those sectors failing is $src.
# Source after common.sh; baddisk_setup checks for the tools (P2V_FAULTFS,
# mkntfs, ntfs-3g, ntfscat, sfdisk, python3, fusermount3, ...) and makes it
# in $WORK.

# Files whose 16-byte records name themselves and their offset.
mkfile() { python3 -c '
import sys
tag, size = sys.argv[1], int(sys.argv[2])
sys.stdout.buffer.write(b"".join(b"%-8s%08x" % (tag.encode(), o) for o in range(0, size, 16)))
' "$1" "$2" >"$3"; }

# The sector of disk.img holding TAG's record at OFFSET.
sector_of() { python3 -c '
import sys
data = open("disk.img", "rb").read()
at = data.find(b"%-8s%08x" % (sys.argv[1].encode(), int(sys.argv[2])))
assert at >= 0, sys.argv[1]
print(at // 512)
' "$1" "$2"; }

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

# baddisk_setup: skip unless the tools of the bad-sector tests and FUSE are
# here; then baddisk_make in $WORK.
baddisk_setup() {
    need sfdisk mkntfs ntfs-3g ntfscat ddrescuelog python3 fusermount3 cmp jq
    : "${P2V_FAULTFS:?P2V_FAULTFS must point at the faultfs test tool (ctest sets it)}"
    [ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }
    cd "$WORK"
    baddisk_make
}

baddisk_make() {
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

    src=ff/disk.img
}
