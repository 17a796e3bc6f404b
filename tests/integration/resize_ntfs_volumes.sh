#!/bin/bash
# NTFS volumes of the cluster sizes resize_ntfs.sh leaves out (1, 2, 8, 16
# and 32 KiB; it has 512 B, 4 KiB and 64 KiB), filled through ntfs-3g and
# fragmented (files written, every third deleted, more written so that data
# lies near the end), with a many-fragment file, a sparse file and (clusters
# up to 4 KiB) a compressed one; and a volume with a large MFT (4000 files).
# Each is shrunk to min and to a size in between (clusters moved) and grown
# x2. After each: ntfsfix -n clean, boot sectors, hidden sectors and
# ntfsresize --info right, ntfsinfo -m and ntfscluster --info agreeing
# (tests/lib/ntfs_fit.sh), and every file's sha256 equal to the source's,
# read back through an ntfs-3g mount of the result.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
# The ntfs-3g mount these tests fill and read the volumes through needs FUSE.
ntfs_mount_setup setfattr getfattr

PART_MIB=32

# fill PART CLUSTER NFILES: files of 1..NFILES, every third deleted, a
# many-fragment file, a sparse and a compressed file, then more files into
# the holes and towards the end. NAME.sums: sha256 of every file.
fill() {
    local part=$1 cs=$2 n=$3 i
    ntfs-3g "$part" mnt
    mkdir mnt/d mnt/e
    # one process for them all: thousands of forks are slow on a busy machine
    python3 - "$n" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(1, n + 1):
    with open("mnt/d/a%d" % i, "wb") as f:
        f.write(os.urandom((i * 7919 % 61 + 1) * 317))
for i in range(3, n + 1, 3):
    os.remove("mnt/d/a%d" % i)
PY
    # appended in pieces between other allocations: many fragments
    for i in $(seq 1 24); do
        head -c 20000 /dev/urandom >>mnt/frag.bin
        head -c 9000 /dev/urandom >"mnt/e/pad$i"
    done
    rm mnt/e/pad*[13579]
    head -c 65536 /dev/urandom | dd of=mnt/sparse.bin bs=65536 seek=30 status=none
    truncate -s $((40 * 65536)) mnt/sparse.bin
    [ "$(du -k mnt/sparse.bin | cut -f1)" -lt 1000 ] || fail "sparse.bin is not sparse"
    mkdir mnt/zip
    setfattr -n system.ntfs_attrib_be -v 0x00000810 mnt/zip
    python3 -c 'print("compressible text for the compressed file " * 9000)' >mnt/zip/z.txt
    if [ "$cs" -le 4096 ]; then
        local at
        at=$(getfattr -h -e hex -n system.ntfs_attrib_be mnt/zip/z.txt | sed -n 's/.*=0x//p')
        [ $(( 0x${at:-0} & 0x800 )) -ne 0 ] || fail "z.txt is not compressed (0x$at)"
    fi
    # more data: into the holes and on towards the end of the volume
    local free
    free=$(df -k --output=avail mnt | tail -1)
    head -c $(( free * 1024 * 2 / 3 )) /dev/urandom >mnt/e/late.bin
    (cd mnt && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"${part%.part}.sums"
    umount mnt
    ntfsfix -n "$part" >/dev/null 2>&1 || fail "$part: the source volume is not clean"
}

# mkdisk NAME CLUSTER NFILES
mkdisk() {
    local name=$1
    truncate -s "${PART_MIB}M" "$name.part"
    mkntfs -q -F -Q -c "$2" -p 2048 -H 255 -S 63 -L "V$2" "$name.part" >/dev/null 2>&1
    fill "$name.part" "$2" "$3"
    truncate -s $((PART_MIB + 2))M "$name.img"
    echo "start=2048, size=$((PART_MIB * 2048)), type=7" | sfdisk -q "$name.img"
    dd if="$name.part" of="$name.img" bs=1M seek=1 conv=notrunc,sparse status=none
}

# files_equal NAME OUTNAME: every file of NAME's source, read back through
# an ntfs-3g mount of the fitted volume OUTNAME.out.
files_equal() {
    ntfs-3g -o ro "$2.out" mnt
    (cd mnt && sha256sum --quiet -c "$WORK/$1.sums") || { umount mnt; fail "$2: files differ"; }
    umount mnt
}

# fit NAME SPEC [OPTIONS]: convert NAME.img:1=SPEC and judge the result.
fit() {
    local name=$1 spec=$2 tag
    shift 2
    tag="$name-${spec}"
    expect_exit 0 "$P2V" convert -O raw "$@" -o "$tag.raw" "$name.img:1=$spec"
    ntfs_fit_check "$tag" "$tag.raw" 1 "$name.part"
    files_equal "$name" "$tag"
    pass "$tag: $(wc -l <"$name.sums") files equal, ntfsfix/ntfsresize/ntfsinfo/ntfscluster agree"
    rm -f "$tag.raw" "$tag.out"
}

for cs in 1024 2048 8192 16384 32768; do
    n=v$cs
    mkdisk "$n" "$cs" 150
    src_sum=$(sha256sum <"$n.img")
    # between: the used space and a quarter of the rest; min: 1 MiB free
    used=$(ntfsresize --info --no-action -f "$n.part" | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
    mid=$(( (used + (PART_MIB * 1048576 - used) / 4) / 1048576 + 1 ))
    expect_exit 0 "$P2V" convert --dry-run -o never.raw "$n.img:1=${mid}M"
    moved=$(sed -n 's/.*NTFS shrunk.*; \(.*\) relocated$/\1/p' "$WORK/last.out")
    [ -n "$moved" ] && [ "$moved" != "0 B" ] || fail "$n: nothing relocated at ${mid}M: $(cat "$WORK/last.out")"
    fit "$n" "${mid}M"
    fit "$n" min --min-free 1M
    fit "$n" $((2 * PART_MIB))M
    check_eq "$n: source unchanged" "$src_sum" "$(sha256sum <"$n.img")"
    rm -f "$n".*
done

# A large MFT: 4000 files (1 to 19 KiB: resident and not), every third
# deleted, the rest of the data towards the end.
cs=4096
PART_MIB=64
mkdisk mft 4096 4000
inuse=$(ntfscluster --info mft.part 2>/dev/null | sed -n 's/^mft records in use *: *//p')
[ "$inuse" -gt 2500 ] || fail "only $inuse MFT records in use"
# (p2v once failed here: "MFT record 64: the new runlist cannot be encoded",
# the base extent of an attribute with several extents)
expect_exit 0 "$P2V" convert --dry-run --min-free 1M -o never.raw mft.img:1=min
moved=$(sed -n 's/.*NTFS shrunk.*; \(.*\) relocated$/\1/p' "$WORK/last.out")
[ -n "$moved" ] && [ "$moved" != "0 B" ] || fail "mft: nothing relocated at min: $(cat "$WORK/last.out")"
fit mft min --min-free 1M
used=$(ntfsresize --info --no-action -f mft.part | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
mid=$(( (used + (PART_MIB * 1048576 - used) / 2) / 1048576 + 1 ))
fit mft "${mid}M"
pass "a volume with $inuse MFT records in use shrunk to min and to $mid MiB"
