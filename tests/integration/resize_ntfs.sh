#!/bin/bash
# NTFS partitions given their own size (DISK:N=SIZE, DISK:N=min, --size):
# volumes with 512-byte, 4 KiB and 64 KiB clusters, holding many files
# (fragmented, sparse and compressed ones where an ntfs-3g mount works),
# grown to twice their size and shrunk to sizes in between and to min.
# After each: ntfsfix -n clean, ntfsresize --info agreeing on the used
# space, every file's sha256 equal to the source's, the boot sector's total
# sectors filling the partition, the backup boot sector in its last sector,
# hidden sectors = the new start, ntfsinfo -m and ntfscluster --info agreeing
# with the new size and with the source's user data. Refusals write nothing.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
need sfdisk jq mkntfs ntfscp ntfscat ntfsfix ntfsresize ntfsls ntfsinfo ntfscluster qemu-img python3 sha256sum \
    setfattr getfattr
cd "$WORK"

PART_MIB=64

# ntfs_files DIR: random files from 1 KiB to 3 MiB.
ntfs_files() {
    mkdir -p "$1"
    local i
    for i in 1 2 3 4 5 6 7 8; do
        head -c $(( (i * i * 37 + 1) * 1024 )) /dev/urandom >"$1/f$i.bin"
    done
    head -c $((3 << 20)) /dev/urandom >"$1/big.bin"
}

# fuse_extras IMG DIR: where ntfs-3g can mount, a fragmented file (written
# between files that are deleted afterwards), a sparse file and a
# compressed file; their contents also go to DIR for the checks.
fuse_extras() {
    local img=$1 dir=$2 mnt=$WORK/mnt i
    mkdir -p "$mnt"
    if ! ntfs-3g -o no_def_opts "$img" "$mnt" 2>/dev/null; then
        echo "note: ntfs-3g cannot mount here: no fragmented, sparse or compressed files" >&2
        return 0
    fi
    track_mount "$mnt"
    for i in 1 2 3 4 5 6; do head -c 40000 /dev/urandom >"$mnt/gap$i"; done
    rm -f "$mnt/gap2" "$mnt/gap4"
    head -c 300000 /dev/urandom >"$dir/frag.bin"
    # Appended in small pieces between other allocations: many fragments.
    for i in 1 2 3 4 5 6 7 8 9 10; do
        dd if="$dir/frag.bin" bs=30000 skip=$((i - 1)) count=1 status=none >>"$mnt/frag.bin"
        head -c 8192 /dev/urandom >"$mnt/pad$i"
    done
    rm -f "$mnt"/pad[13579]
    for i in 2 4 6 8 10; do cp "$mnt/pad$i" "$dir/pad$i"; done
    for i in 1 3 5 6; do cp "$mnt/gap$i" "$dir/gap$i"; done
    head -c 65536 /dev/urandom >"$dir/sparse.bin"
    dd if="$dir/sparse.bin" of="$mnt/sparse.bin" bs=65536 seek=20 status=none
    truncate -s $((22 * 65536)) "$mnt/sparse.bin"
    cp "$mnt/sparse.bin" "$dir/sparse.bin"
    mkdir "$mnt/zip"
    setfattr -n system.ntfs_attrib_be -v 0x00000810 "$mnt/zip" 2>/dev/null || true
    mkdir -p "$dir/zip"
    python3 -c 'print("compressible text for the compressed file " * 12000)' >"$dir/zip/zip.txt"
    cp "$dir/zip/zip.txt" "$mnt/zip/zip.txt"
    # NTFS compresses with clusters up to 4 KiB only.
    if [ "$cs" -le 4096 ]; then
        local at
        at=$(getfattr -h -e hex -n system.ntfs_attrib_be "$mnt/zip/zip.txt" 2>/dev/null | sed -n 's/.*=0x//p')
        [ $(( 0x${at:-0} & 0x800 )) -ne 0 ] || fail "zip.txt is not compressed (attributes 0x$at)"
    fi
    [ "$(du -k "$mnt/sparse.bin" | cut -f1)" -lt 1000 ] || fail "sparse.bin is not sparse"
    umount "$mnt"
}

# make_disk NAME CLUSTER: NAME.img, MBR, one NTFS partition of PART_MIB at
# 1 MiB; its files in NAME.files/.
make_disk() {
    local name=$1 cs=$2 f
    truncate -s $((PART_MIB + 2))M "$name.img"
    echo "start=2048, size=$((PART_MIB * 2048)), type=7" | sfdisk -q "$name.img"
    truncate -s ${PART_MIB}M "$name.part"
    mkntfs -q -F -Q -c "$cs" -p 2048 -H 255 -S 63 -L "R$cs" "$name.part" >/dev/null 2>&1
    ntfs_files "$name.files"
    for f in "$name.files"/*.bin; do ntfscp -q "$name.part" "$f" "$(basename "$f")" >/dev/null; done
    fuse_extras "$name.part" "$name.files"
    ntfsfix -n "$name.part" >/dev/null 2>&1 || fail "$name: the source volume is not clean"
    dd if="$name.part" of="$name.img" bs=1M seek=1 conv=notrunc status=none
    rm "$name.part"
}

# ntfs_used PARTIMG: the used bytes ntfsresize reports ("You might resize at").
ntfs_used() {
    ntfsresize --info --no-action -f "$1" 2>&1 | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p'
}

# u64 FILE OFFSET LEN: a little-endian number from the file.
le() {
    python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(int.from_bytes(f.read(int(sys.argv[3])),"little"))' "$1" "$2" "$3"
}

# check_part RAW NUM NAME WANT_BYTES: partition NUM of RAW holds NAME's
# volume fitted to WANT_BYTES.
check_part() {
    local raw=$1 num=$2 name=$3 want=$4 start size f
    start=$(sfdisk --json "$raw" | jq ".partitiontable.partitions[$((num - 1))].start")
    size=$(sfdisk --json "$raw" | jq ".partitiontable.partitions[$((num - 1))].size")
    check_eq "$name: partition bytes" "$want" $((size * 512))
    dd if="$raw" of=out.part bs=512 skip="$start" count="$size" status=none
    ntfsfix -n out.part >fix.out 2>&1 || { cat fix.out >&2; fail "$name: ntfsfix -n"; }
    ! grep -qiE 'bad|corrupt|error' fix.out || { cat fix.out >&2; fail "$name: ntfsfix -n complains"; }
    check_eq "$name: total sectors" $((size - 1)) "$(le out.part 40 8)"
    check_eq "$name: hidden sectors" "$start" "$(le out.part 28 4)"
    cmp -s <(dd if=out.part bs=512 count=1 status=none) \
        <(dd if=out.part bs=512 skip=$((size - 1)) count=1 status=none) ||
        fail "$name: the backup boot sector differs from the primary"
    local got_used src_used
    got_used=$(ntfs_used out.part)
    src_used=$(ntfs_used "$name.src")
    # $Bitmap may take a few more clusters in a larger volume.
    [ -n "$got_used" ] && [ "$got_used" -le $((src_used + 65536 + want / 4096)) ] &&
        [ "$got_used" -ge $((src_used - 65536 - src_used / 64)) ] ||
        fail "$name: ntfsresize --info says $got_used bytes used, the source $src_used"
    # ntfsresize counts the volume as its whole clusters plus the boot sector.
    local spc=$((cs / 512)) info
    info=$(ntfsresize --info --no-action -f out.part 2>&1 || true)
    grep -q "Current volume size: $(( (size - 1) / spc * cs + 512 )) bytes" <<<"$info" ||
        fail "$name: ntfsresize --info volume size: $(grep Current <<<"$info")"
    ntfs_tools_check "$name" out.part "$name.src" $(( (size - 1) / spc ))
    for f in $(cd "$name.files" && find . -type f | sed 's|^\./||'); do
        [ "$(ntfscat out.part "$f" 2>/dev/null | sha256sum)" = "$(sha256sum <"$name.files/$f")" ] ||
            fail "$name: $f differs"
    done
    [ "$(find "$name.files" -type f | wc -l)" -ge 9 ] || fail "$name: too few files checked"
    pass "$name fitted to $want bytes: ntfsfix -n clean, used $got_used (source $src_used), ntfsinfo/ntfscluster agree, $(find "$name.files" -type f | wc -l) files equal, boot sectors right"
}

for cs in 512 4096 65536; do
    n=c$cs
    make_disk "$n" "$cs"
    dd if="$n.img" of="$n.src" bs=1M skip=1 count=$PART_MIB status=none
    src_sum=$(sha256sum <"$n.img")

    # Grow x2 by =SIZE; the dry run says old and new size.
    expect_exit 0 "$P2V" convert --dry-run -O raw -o never.raw "$n.img:1=$((2 * PART_MIB))M"
    grep -q "$n.img:1: 64.0 MiB -> 128.0 MiB; NTFS grown" "$WORK/last.out" ||
        fail "dry run: $(cat "$WORK/last.out")"
    grep -q "0 B relocated" "$WORK/last.out" || fail "dry run: no relocated bytes: $(cat "$WORK/last.out")"
    [ ! -e never.raw ] || fail "--dry-run wrote OUTPUT"
    expect_exit 0 "$P2V" convert -O raw --verify -o grow.raw "$n.img:1=$((2 * PART_MIB))M"
    check_part grow.raw 1 "$n" $((2 * PART_MIB << 20))

    # Grow by --size: the last partition and its volume fill the disk.
    expect_exit 0 "$P2V" convert -O raw --size 100M -o size.raw "$n.img:1"
    grep -q "NTFS grown" "$WORK/last.err" || fail "--size: no notice: $(cat "$WORK/last.err")"
    check_part size.raw 1 "$n" $(( (100 << 20) - (1 << 20) ))

    # Shrink to a size in between, into qcow2: a smaller virtual disk.
    expect_exit 0 "$P2V" convert -o shrink.qcow2 "$n.img:1=44M"
    qemu-img check shrink.qcow2 >/dev/null || fail "$n: qemu-img check"
    check_eq "$n: qcow2 virtual size" $((45 << 20)) "$(qemu-img info --output=json shrink.qcow2 | jq '."virtual-size"')"
    qemu-img convert -O raw shrink.qcow2 shrink.raw
    check_part shrink.raw 1 "$n" $((44 << 20))

    # min with a small margin: at least the data, less than the source.
    expect_exit 0 "$P2V" convert -O raw --min-free 2M -o min.raw "$n.img:1=min"
    min_bytes=$(( $(sfdisk --json min.raw | jq '.partitiontable.partitions[0].size') * 512 ))
    [ "$min_bytes" -lt $((PART_MIB << 20)) ] || fail "$n: min is not smaller than the source ($min_bytes)"
    check_part min.raw 1 "$n" "$min_bytes"

    # Refusals: each names why, writes nothing.
    expect_exit 1 "$P2V" convert -O raw -o no.raw "$n.img:1=4M"
    grep -q "smaller than the .* bytes the NTFS volume uses" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
    [ ! -e no.raw ] || fail "a refused shrink wrote OUTPUT"
    check_eq "$n: source unchanged" "$src_sum" "$(sha256sum <"$n.img")"
    rm -f grow.raw size.raw shrink.qcow2 shrink.raw min.raw out.part "$n.src"
done

# Far below the data's end (mkntfs puts $MFTMirr in the middle of the volume,
# ntfs-3g the files after it): the clusters beyond the new end are moved,
# and the dry run says how many bytes.
expect_exit 0 "$P2V" convert --dry-run -O raw -o never.raw c4096.img:1=16M
moved=$(sed -n 's/.*NTFS shrunk.*; \(.*\) relocated$/\1/p' "$WORK/last.out")
[ -n "$moved" ] && [ "$moved" != "0 B" ] || fail "dry run: nothing relocated: $(cat "$WORK/last.out")"
pass "dry run: $moved relocated for c4096.img:1=16M"
dd if=c4096.img of=c4096.src bs=1M skip=1 count=$PART_MIB status=none
expect_exit 0 "$P2V" convert -O raw --verify -o far.raw c4096.img:1=16M
cs=4096 check_part far.raw 1 c4096 $((16 << 20))

# A hibernated volume (Fast Startup) is not resized.
truncate -s 34M hib.img
echo "start=2048, size=$((32 * 2048)), type=7" | sfdisk -q hib.img
truncate -s 32M hib.part
mkntfs -q -F -Q -p 2048 -H 255 -S 63 hib.part >/dev/null 2>&1
printf 'HIBR%04092d' 0 >hib.sys
ntfscp -q hib.part hib.sys hiberfil.sys >/dev/null
dd if=hib.part of=hib.img bs=1M seek=1 conv=notrunc status=none
expect_exit 1 "$P2V" convert -O raw -o no.raw hib.img:1=64M
grep -q "hibernated.*cannot be resized" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e no.raw ] || fail "a refused grow wrote OUTPUT"
pass "hibernated volume refused"

# A volume marked dirty (Windows did not shut it down) is not resized: the
# dirty bit of $Volume's information set in MFT record 3 and its mirror.
truncate -s 34M dirty.img
echo "start=2048, size=$((32 * 2048)), type=7" | sfdisk -q dirty.img
truncate -s 32M dirty.part
mkntfs -q -F -Q -p 2048 -H 255 -S 63 dirty.part >/dev/null 2>&1
python3 - dirty.part <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
bs = f.read(512)
bps, spc = struct.unpack_from("<HB", bs, 11)
cs = bps * spc
mft, mirr = struct.unpack_from("<qq", bs, 0x30)
rsz = struct.unpack_from("<b", bs, 0x40)[0]
rsz = rsz * cs if rsz > 0 else 1 << -rsz
for base in (mft * cs, mirr * cs):
    f.seek(base + 3 * rsz)
    rec = bytearray(f.read(rsz))
    off = struct.unpack_from("<H", rec, 0x14)[0]
    while struct.unpack_from("<I", rec, off)[0] != 0x70:
        off += struct.unpack_from("<I", rec, off + 4)[0]
    val = off + struct.unpack_from("<H", rec, off + 0x14)[0]
    flags = struct.unpack_from("<H", rec, val + 0x0A)[0]
    struct.pack_into("<H", rec, val + 0x0A, flags | 1)
    f.seek(base + 3 * rsz)
    f.write(rec)
PY
dd if=dirty.part of=dirty.img bs=1M seek=1 conv=notrunc status=none
expect_exit 1 "$P2V" convert -O raw -o no.raw dirty.img:1=16M
grep -q "marked dirty.*cannot be resized" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e no.raw ] || fail "a refused shrink of a dirty volume wrote OUTPUT"
pass "dirty volume refused"

# With --allow-dirty a grow by DISK:N=SIZE is what a grow by --size is: the
# partition grows, the volume keeps its size and is copied whole as it is,
# with a warning; a shrink stays refused.
for how in "dirty.img:1=48M" "--size 50M dirty.img:1"; do
    # shellcheck disable=SC2086
    expect_exit 0 "$P2V" convert -O raw --allow-dirty -o ad.raw $how
    grep -q "marked dirty.*keeps its size (--allow-dirty)" "$WORK/last.err" ||
        fail "allow-dirty grow ($how): $(cat "$WORK/last.err")"
    cmp -s dirty.part <(dd if=ad.raw bs=1M skip=1 count=32 status=none) ||
        fail "allow-dirty grow ($how): the volume is not copied as it is"
    rm -f ad.raw
done
expect_exit 1 "$P2V" convert -O raw --allow-dirty -o ad.raw dirty.img:1=16M
grep -q "marked dirty.*cannot be resized" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e ad.raw ] || fail "a refused shrink of a dirty volume wrote OUTPUT"
pass "--allow-dirty: DISK:N=SIZE grows like --size, a shrink is refused"

# The plan file keeps the sizes.
expect_exit 0 "$P2V" convert --save-plan p.json --min-free 3M c4096.img:1=min
check_eq "plan new_size" '"min"' "$(jq -c '.selections[0].new_size' p.json)"
check_eq "plan min_free" 3145728 "$(jq '.options.min_free' p.json)"
expect_exit 0 "$P2V" convert --plan p.json --dry-run --json -o never.raw
jq -e '.partitions[0].resize.new_bytes < .partitions[0].resize.old_bytes' "$WORK/last.out" >/dev/null ||
    fail "plan replay: $(cat "$WORK/last.out")"
pass "plan file round trip of DISK:N=min"
