#!/bin/bash
# Used-block copying end to end: one GPT disk with NTFS, FAT32, FAT16, ext4
# (with and without a journal), ext2 and swap, each written over random bytes
# and with a file deleted. After `p2v convert` (default --copy used) every
# filesystem checks clean with its own tool, every file is identical, and the
# free space that held the deleted data reads back as zeros; --copy all keeps
# it. A qcow2 source gives the same partitions as the raw one, and
# `p2v disks --json` reports the filesystems' own used counts.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/fsmap.sh"
need sfdisk jq qemu-img python3 mkntfs ntfscp ntfscat ntfsinfo ntfsfix mkfs.vfat mcopy mtype \
    mdel mshowfat fsck.vfat mkfs.ext4 mkfs.ext2 debugfs dumpe2fs e2fsck mkswap blkid

cd "$WORK"
types=(ntfs fat32 fat16 ext4 ext4nj ext2 swap)
sizes=(24 40 20 32 24 16 8)
gtype() {
    case $1 in
    ntfs|fat*) echo EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 ;;
    swap) echo 0657FD6D-A4AB-43C4-84E5-0933C84B4F4F ;;
    *) echo 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ;;
    esac
}

# The source disk: 1 MiB-aligned partitions, each filesystem image put in place.
total=2
for s in "${sizes[@]}"; do total=$((total + s)); done
truncate -s "${total}M" disk.img
{
    echo "label: gpt"
    start=2048
    for i in "${!types[@]}"; do
        echo "start=$start, size=$((sizes[i] * 2048)), type=$(gtype "${types[i]}")"
        start=$((start + sizes[i] * 2048))
    done
} | sfdisk -q disk.img
start=2048
for i in "${!types[@]}"; do
    fsm_make "${types[i]}" "fs.$i" "${sizes[i]}" "P$i"
    dd if="fs.$i" of=disk.img bs=512 seek="$start" conv=notrunc status=none
    start=$((start + sizes[i] * 2048))
done
sels=()
for i in "${!types[@]}"; do sels+=("disk.img:$((i + 1))"); done

expect_exit 0 "$P2V" convert -O raw -o used.raw "${sels[@]}"
cat "$WORK/last.err"
expect_exit 0 "$P2V" convert -O raw --copy all -o all.raw "${sels[@]}"

# Output partitions in order: "start size" in sectors.
sfdisk --json used.raw | jq -r '.partitiontable.partitions[] | "\(.start) \(.size)"' >parts.txt
check_eq "partitions in the output" "${#types[@]}" "$(wc -l <parts.txt)"
i=0
while read -r pstart psize; do
    t=${types[i]} label=P$i
    dd if=used.raw of=part.img bs=512 skip="$pstart" count="$psize" conv=sparse status=none
    fsm_fsck "$t" part.img || fail "$t: fsck of the used copy"
    if [ "$t" = swap ]; then
        check_eq "swap UUID" "$(blkid -p -o value -s UUID "fs.$i")" "$(blkid -p -o value -s UUID part.img)"
    else
        n=$(fsm_check_files "$t" part.img "$WORK/files.$label") || fail "$t: files differ"
        pass "$t: $n files identical"
    fi
    read -r fstart flen <"freed.$label"
    [ "$flen" -gt 0 ] || fail "$t: no freed region found"
    src_nz=$(fsm_nonzero "fs.$i" "$fstart" "$flen")
    out_nz=$(fsm_nonzero part.img "$fstart" "$flen")
    [ "$src_nz" -gt $((flen / 2)) ] || fail "$t: the freed region held no data in the source ($src_nz)"
    check_eq "$t: non-zero bytes of $flen freed bytes in the used copy" 0 "$out_nz"
    # --copy all keeps them (the same bytes as the source).
    cmp -s -i "$((pstart * 512 + fstart)):$fstart" -n "$flen" all.raw "fs.$i" ||
        fail "$t: --copy all did not copy the freed region as it is"
    i=$((i + 1))
done <parts.txt
used_alloc=$(du -B1 used.raw | cut -f1)
all_alloc=$(du -B1 all.raw | cut -f1)
echo "allocated: used copy $used_alloc bytes, full copy $all_alloc bytes"
[ "$used_alloc" -lt $((all_alloc / 2)) ] || fail "the used copy is not much smaller than the full one"

# A qcow2 source gives the same partitions.
qemu-img convert -O qcow2 disk.img disk.qcow2
qsels=()
for i in "${!types[@]}"; do qsels+=("disk.qcow2:$((i + 1))"); done
expect_exit 0 "$P2V" convert -O raw -o fromq.raw "${qsels[@]}"
while read -r pstart psize; do
    cmp -i "$((pstart * 512)):$((pstart * 512))" -n "$((psize * 512))" used.raw fromq.raw ||
        fail "partition at sector $pstart differs between raw and qcow2 sources"
done <parts.txt
pass "qcow2 source: every partition identical to the raw source's"

# The qcow2 output of the same conversion is valid and holds the same partitions.
expect_exit 0 "$P2V" convert -o used.qcow2 "${sels[@]}"
qemu-img check used.qcow2 >/dev/null || fail "qemu-img check"
qemu-img convert -O raw used.qcow2 q.raw
while read -r pstart psize; do
    cmp -i "$((pstart * 512)):$((pstart * 512))" -n "$((psize * 512))" used.raw q.raw ||
        fail "qcow2 output: partition at sector $pstart differs"
done <parts.txt
pass "qcow2 output: partitions identical to the raw output"

# p2v disks: used bytes as the filesystems count them.
"$P2V" disks --json disk.img >disks.json
for i in 3 5; do
    bs=$(dumpe2fs -h "fs.$i" 2>/dev/null | sed -n 's/^Block size: *//p')
    blocks=$(dumpe2fs -h "fs.$i" 2>/dev/null | sed -n 's/^Block count: *//p')
    free=$(dumpe2fs "fs.$i" 2>/dev/null | sed -n 's/^  *\([0-9]*\) free blocks,.*/\1/p' | awk '{s+=$1} END {print s}')
    want=$(( (blocks - free) * bs ))
    check_eq "${types[i]}: used bytes in p2v disks --json" "$want" \
        "$(jq ".disks[0].partitions[$i].used" disks.json)"
done
cs=$(ntfsinfo -m fs.0 2>/dev/null | sed -n 's/.*Cluster Size: *//p')
nc=$(ntfsinfo -m fs.0 2>/dev/null | sed -n 's/.*Volume Size in Clusters: *//p')
fc=$(ntfsinfo -m fs.0 2>/dev/null | sed -n 's/.*Free Clusters: *\([0-9]*\).*/\1/p')
check_eq "ntfs: used bytes in p2v disks --json" "$(( (nc - fc) * cs ))" "$(jq ".disks[0].partitions[0].used" disks.json)"
"$P2V" disks disk.img >disks.txt
cat disks.txt
grep -qiE 'used' disks.txt || fail "p2v disks text shows no used column"
