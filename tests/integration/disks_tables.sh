#!/bin/bash
# p2v disks agrees with sfdisk --json on disks built by sfdisk and sgdisk:
# an MBR with three logical partitions and a GPT with ten.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
need sfdisk sgdisk jq

mbr=$WORK/mbr.img
truncate -s 64M "$mbr"
sfdisk -q "$mbr" <<'SF'
label: dos
label-id: 0x5eed1234
start=2048, size=20480, type=7, bootable
start=22528, size=10240, type=c
start=32768, type=f
start=34816, size=8192, type=83
start=45056, size=8192, type=82
start=55296, size=8192, type=8e
start=65536, size=4096, type=27
SF
same_parts "MBR, 3 primaries and 4 logicals" "$mbr" -- "$mbr"

json=$("$P2V" disks --json "$mbr")
check_eq "table" mbr "$(jq -r '.disks[0].table' <<<"$json")"
check_eq "id" 0x5eed1234 "$(jq -r '.disks[0].id' <<<"$json")"
check_eq "size" 67108864 "$(jq -r '.disks[0].size' <<<"$json")"
check_eq "bootable partitions" 1 "$(jq -r '[.disks[0].partitions[] | select(.bootable) | .number] | join(",")' <<<"$json")"
check_eq "containers" 3 "$(jq -r '[.disks[0].partitions[] | select(.container) | .number] | join(",")' <<<"$json")"
check_eq "end of 5" 43007 "$(jq -r '.disks[0].partitions[] | select(.number == 5) | .end' <<<"$json")"
check_eq "type name of 8" "Windows recovery (hidden NTFS)" "$(jq -r '.disks[0].partitions[] | select(.number == 8) | .type_name' <<<"$json")"
check_eq "keys of a partition" "attrs,boot_stores,bootable,container,end,fs_uuid,fstype,label,name,number,size,start,type,type_name,used,uuid,windows" \
    "$(jq -r '.disks[0].partitions[0] | keys | join(",")' <<<"$json")"
check_eq "keys of a disk" "id,partitions,path,sector_size,size,table" "$(jq -r '.disks[0] | keys | join(",")' <<<"$json")"

gpt=$WORK/gpt.img
truncate -s 64M "$gpt"
codes=(ef00 0c01 0700 2700 8300 8200 8e00 fd00 ef02 8302)
args=()
for i in $(seq 1 10); do
    args+=(-n "$i:0:+${i}M" -t "$i:${codes[$((i - 1))]}" -c "$i:part $i")
done
sgdisk -o "${args[@]}" -A 4:set:0 -A 4:set:63 "$gpt" >/dev/null
sgdisk -v "$gpt" | grep -q "No problems found" || fail "sgdisk made a bad table"
same_parts "GPT, 10 partitions" "$gpt" -- "$gpt"

json=$("$P2V" disks --json "$gpt")
check_eq "table" gpt "$(jq -r '.disks[0].table' <<<"$json")"
check_eq "disk GUID" "$(sfdisk --json "$gpt" | jq -r '.partitiontable.id | ascii_downcase')" "$(jq -r '.disks[0].id' <<<"$json")"
check_eq "partition GUIDs" "$(sfdisk --json "$gpt" | jq -r '[.partitiontable.partitions[].uuid | ascii_downcase] | join(",")')" \
    "$(jq -r '[.disks[0].partitions[].uuid] | join(",")' <<<"$json")"
check_eq "names" "$(sfdisk --json "$gpt" | jq -r '[.partitiontable.partitions[].name] | join(",")')" \
    "$(jq -r '[.disks[0].partitions[].name] | join(",")' <<<"$json")"
check_eq "attrs of 4" 0x8000000000000001 "$(jq -r '.disks[0].partitions[3].attrs' <<<"$json")"
check_eq "type names" "EFI System,Microsoft reserved,Microsoft basic data,Windows recovery,Linux filesystem,Linux swap,Linux LVM,Linux RAID,BIOS boot,Linux home" \
    "$(jq -r '[.disks[0].partitions[].type_name] | join(",")' <<<"$json")"

# Text output: one line per partition under a header, sizes in human units.
"$P2V" disks "$mbr" "$gpt" >"$WORK/text" 2>"$WORK/text.err"
grep -q "^Disk $mbr: 64.0 MiB" "$WORK/text" || fail "text: no disk line"
grep -qE '^ *#  +Start +End +Size +Type' "$WORK/text" || fail "text: no header"
grep -qE '^ *5 +34816 +43007 +4.0 MiB +0x83 Linux .* logical' "$WORK/text" || fail "text: partition 5"
grep -qE '^ *4 .* Windows recovery +part 4 .*required,no-letter' "$WORK/text" || fail "text: partition 4 of the GPT"
check_eq "text warnings" "" "$(cat "$WORK/text.err")"
pass "text output"

# A disk without a table.
truncate -s 10M "$WORK/blank.img"
check_eq "blank disk" "none 0" "$("$P2V" disks --json "$WORK/blank.img" | jq -r '.disks[0] | "\(.table) \(.partitions | length)"')"
"$P2V" disks "$WORK/blank.img" | grep -q "^Table: none" || fail "text: blank disk"

# The same disks through loop devices (512-byte sectors), where available.
for img in "$mbr" "$gpt"; do
    if dev=$(losetup_attach --read-only "$img"); then
        _p2v_loops+=("$dev") # losetup_attach ran in a subshell: register for the cleanup
        check_eq "loop sector size" 512 "$("$P2V" disks --json "$dev" | jq -r '.disks[0].sector_size')"
        same_parts "$(basename "$img") through $dev" "$dev" -- "$dev"
    else
        echo "note: no loop device; loop check of $img not run"
    fi
done

# A filesystem over the whole disk (no table): reported as such.
if command -v mkfs.vfat >/dev/null; then
    truncate -s 40M "$WORK/floppy.img"
    mkfs.vfat -n FLOPPY "$WORK/floppy.img" >/dev/null
    check_eq "whole-disk filesystem" "none 0" "$("$P2V" disks --json "$WORK/floppy.img" 2>/dev/null | jq -r '.disks[0] | "\(.table) \(.partitions | length)"')"
    "$P2V" disks "$WORK/floppy.img" >"$WORK/text" 2>"$WORK/text.err"
    grep -q "^Table: none; vfat filesystem on the whole disk, label FLOPPY" "$WORK/text" || fail "whole-disk vfat not shown"
    grep -q "notice: $WORK/floppy.img: no partition table: a filesystem starts at LBA 0" "$WORK/text.err" || fail "no notice"
    pass "whole-disk filesystem shown"
fi
