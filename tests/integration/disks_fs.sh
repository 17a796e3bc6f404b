#!/bin/bash
# Filesystem identity per partition: p2v disks reports what libblkid's own
# tool (blkid -p on the partition's byte range) finds, on an MBR disk with
# logical partitions and on a GPT disk; BitLocker is recognised by its
# signature.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
need sfdisk sgdisk jq blkid mkntfs mkfs.vfat mkfs.ext4 mkswap

# blkid_ids IMG: "number TYPE LABEL UUID" per partition, from blkid -p.
blkid_ids() {
    local img=$1 n start size t l u
    sfdisk --json "$img" | jq -r '.partitiontable.partitions[] |
        select((.type | ascii_downcase) as $t | ($t != "5" and $t != "f" and $t != "85")) |
        "\(.node | capture("(?<n>[0-9]+)$").n) \(.start) \(.size)"' |
    while read -r n start size; do
        t= l= u=
        eval "$(blkid -p -O $((start * 512)) -S $((size * 512)) -o export -s TYPE -s LABEL -s UUID "$img" 2>/dev/null |
                sed -n 's/^\(TYPE\|LABEL\|UUID\)=\(.*\)$/\1=\2/p' | sed 's/^TYPE=/t=/; s/^LABEL=/l=/; s/^UUID=/u=/')" || true
        echo "$n ${t:--} ${l:--} ${u:--}"
    done
}

p2v_ids() {
    "$P2V" disks --json "$1" | jq -r '.disks[0].partitions[] | select(.container | not) |
        "\(.number) \(.fstype // "-") \(.label // "-") \(.fs_uuid // "-")"'
}

for kind in mbr gpt; do
    img=$WORK/$kind.img
    "make_sample_$kind" "$img"
    want=$(blkid_ids "$img")
    got=$(p2v_ids "$img")
    if [ "$want" != "$got" ]; then
        echo "--- blkid"; echo "$want"; echo "--- p2v"; echo "$got"
        fail "$kind: filesystem identities differ from blkid"
    fi
    grep -q ntfs <<<"$got" && grep -q ext4 <<<"$got" || fail "$kind: sample filesystems missing"
    pass "$kind: $(wc -l <<<"$got") partitions identified as blkid does: $(awk '{print $2}' <<<"$got" | tr '\n' ' ')"
done

# The text table shows filesystem and label.
"$P2V" disks "$WORK/mbr.img" >"$WORK/text"
grep -qE '^ *1 +2048 +133119 +64.0 MiB +0x07 NTFS/exFAT/HPFS +ntfs +Windows +[0-9.]+ (KiB|MiB) +active$' "$WORK/text" || { cat "$WORK/text"; fail "text row of partition 1"; }
grep -qE '^ *6 .*0x82 Linux swap +swap +swap +4.0 KiB +logical$' "$WORK/text" || { cat "$WORK/text"; fail "text row of partition 6"; }
pass "text rows"

# BitLocker: "-FVE-FS-" at byte 3 of the volume.
img=$WORK/bl.img
truncate -s 16M "$img"
printf 'label: gpt\nstart=2048, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' | sfdisk -q "$img"
printf '\xeb\x58\x90-FVE-FS-' | dd of="$img" bs=1 seek=$((2048 * 512)) conv=notrunc status=none
check_eq "BitLocker fstype" bitlocker "$("$P2V" disks --json "$img" 2>/dev/null | jq -r '.disks[0].partitions[0].fstype')"
"$P2V" disks "$img" >/dev/null 2>"$WORK/err"
grep -q "notice: $img: partition 1 is BitLocker-encrypted" "$WORK/err" || fail "no BitLocker notice"
pass "BitLocker notice"

# Used bytes come from the filesystem maps: known for NTFS, FAT and ext4 and
# never more than the partition.
bad=$("$P2V" disks --json "$WORK/mbr.img" "$WORK/gpt.img" | jq -r '.disks[] | .sector_size as $ss |
    .partitions[] | select(.fstype == "ntfs" or .fstype == "vfat" or .fstype == "ext4") |
    select(.used == null or .used > .size * $ss or .used == 0) | "\(.number) \(.fstype) \(.used)"')
check_eq "partitions without a plausible used size" "" "$bad"
