#!/bin/bash
# Volumes that must not be mapped as they are: a hibernated NTFS (Fast
# Startup) and an ext4 that needs journal recovery are refused with a clear
# error unless --allow-dirty, and then copied whole; damaged metadata (a bad
# ext group descriptor checksum, a FAT entry outside the volume, a $Bitmap run
# list pointing elsewhere, an ext4 whose state records errors) gives a notice
# and a full copy, never a silently incomplete one.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/fsmap.sh"
need sfdisk jq python3 mkntfs ntfscp ntfsinfo ntfscat mkfs.vfat mcopy mdel mshowfat fsck.vfat \
    mkfs.ext4 debugfs dumpe2fs

cd "$WORK"
kinds=(hibernated recovery gdcsum fatrange ntfsruns errors)
types=(ntfs ext4 ext4 fat32 ntfs ext4)
sizes=(16 16 16 40 16 16)
truncate -s 124M disk.img
{
    echo "label: gpt"
    start=2048
    for i in "${!kinds[@]}"; do
        echo "start=$start, size=$((sizes[i] * 2048))"
        start=$((start + sizes[i] * 2048))
    done
} | sfdisk -q disk.img
start=2048
starts=()
for i in "${!kinds[@]}"; do
    fsm_make "${types[i]}" "fs.$i" "${sizes[i]}" "K$i"
    case ${kinds[i]} in
    hibernated) fsm_ntfs_hibernate "fs.$i" ;;
    recovery) debugfs -w -R "feature needs_recovery" "fs.$i" >/dev/null 2>&1 ;;
    gdcsum) fsm_ext_bad_gd_csum "fs.$i" ;;
    fatrange) fsm_fat32_bad_entry "fs.$i" ;;
    ntfsruns) fsm_ntfs_break_bitmap_runs "fs.$i" ;;
    errors) debugfs -w -R "ssv state 2" "fs.$i" >/dev/null 2>&1
            dumpe2fs -h "fs.$i" 2>/dev/null | grep -q "^Filesystem state:.* with errors" ||
                fail "debugfs did not set the errors state" ;;
    esac
    dd if="fs.$i" of=disk.img bs=512 seek="$start" conv=notrunc status=none
    starts+=("$start")
    start=$((start + sizes[i] * 2048))
done

# same_as_source I RAW SKIP_HEAD SKIP_TAIL: the output's only partition holds
# the source filesystem byte for byte, apart from boot sectors p2v patches
# (hidden sectors) at the head and tail.
same_as_source() {
    local i=$1 raw=$2 head=$3 tail=$4 pstart len
    pstart=$(sfdisk --json "$raw" | jq '.partitiontable.partitions[0].start')
    len=$((sizes[i] * 1024 * 1024 - head - tail))
    cmp -i "$((pstart * 512 + head)):$head" -n "$len" "$raw" "fs.$i" ||
        fail "${kinds[i]}: the output is not a full copy of the source"
    pass "${kinds[i]}: every sector copied"
}

# Refused without --allow-dirty, with the reason and the way out.
expect_exit 1 "$P2V" convert -O raw -o out.raw disk.img:1
cat "$WORK/last.err"
grep -q "hibernated Windows" "$WORK/last.err" || fail "no hibernation message"
grep -q "shut it down fully" "$WORK/last.err" || fail "no advice on shutting Windows down"
grep -q -- "--allow-dirty" "$WORK/last.err" || fail "no mention of --allow-dirty"
[ ! -e out.raw ] || fail "an output was left behind"
expect_exit 0 "$P2V" convert -O raw --allow-dirty -o out.raw disk.img:1
grep -q "copying every sector" "$WORK/last.err" || fail "no notice for the hibernated volume"
same_as_source 0 out.raw 512 512
rm -f out.raw

expect_exit 1 "$P2V" convert -O raw -o out.raw disk.img:2
cat "$WORK/last.err"
grep -q "needs journal recovery" "$WORK/last.err" || fail "no journal recovery message"
[ ! -e out.raw ] || fail "an output was left behind"
expect_exit 0 "$P2V" convert -O raw --allow-dirty -o out.raw disk.img:2
same_as_source 1 out.raw 0 0
rm -f out.raw

# Damaged metadata: a notice saying why, and every sector.
for i in 2 3 4 5; do
    expect_exit 0 "$P2V" convert -O raw -o out.raw "disk.img:$((i + 1))"
    cat "$WORK/last.err"
    case ${kinds[i]} in
    gdcsum) grep -q "copying every sector: .*bad checksum" "$WORK/last.err" || fail "gdcsum: no notice"
            same_as_source "$i" out.raw 0 0 ;;
    fatrange) grep -q "copying every sector: .*outside the volume" "$WORK/last.err" || fail "fatrange: no notice"
            same_as_source "$i" out.raw 4096 0 ;;
    ntfsruns) grep -q "copying every sector: .*NTFS" "$WORK/last.err" || fail "ntfsruns: no notice"
            same_as_source "$i" out.raw 512 512 ;;
    errors) grep -qF "copying every sector: ext4 filesystem has errors recorded (state \"errors\"), so its block bitmaps cannot be trusted; run e2fsck on it in the guest" "$WORK/last.err" ||
                fail "errors: no notice"
            same_as_source "$i" out.raw 0 0 ;;
    esac
    rm -f out.raw
done
