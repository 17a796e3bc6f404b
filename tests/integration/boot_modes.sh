#!/bin/bash
# Firmware and table decisions, end to end (no qemu): the default boot mode
# follows the source (MBR + active -> bios, GPT + ESP -> uefi) and is shown
# in the dry-run table and JSON; a Windows MBR disk going to GPT gets a 16 MiB
# Microsoft Reserved partition before its Windows partition (not with
# --no-msr) and its 0xEF partition stays an ESP; --boot bios from a GPT disk
# without boot code writes p2v's MBR program and an active flag.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk sgdisk mkntfs mkfs.fat qemu-img jq
cd "$WORK"
msr_type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE
esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
bd_type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7

# A BIOS-era Windows disk: an 0xEF partition, active NTFS "System Reserved",
# NTFS C:, and boot code.
truncate -s 200M win.img
sfdisk -q win.img <<EOF
label: dos
start=2048, size=81920, type=ef
start=83968, size=40960, type=7, bootable
start=124928, size=204800, type=7
EOF
truncate -s 40M esp.fs
mkfs.fat -F 32 -n TOOLS -h 2048 esp.fs >/dev/null
dd if=esp.fs of=win.img bs=1M seek=1 conv=notrunc,sparse status=none
for p in 83968:40960:SYSRES 124928:204800:C; do
    IFS=: read -r start size label <<<"$p"
    rm -f ntfs.fs
    truncate -s $((size * 512)) ntfs.fs
    mkntfs -Q -F -q -s 512 -p "$start" -H 255 -S 63 -L "$label" ntfs.fs >/dev/null 2>&1
    dd if=ntfs.fs of=win.img bs=512 seek="$start" conv=notrunc,sparse status=none
done
rm -f ntfs.fs esp.fs
printf 'WIN-BOOTCODE' | dd of=win.img conv=notrunc status=none

# Default: MBR with an active partition -> bios, the source's boot code kept.
expect_exit 0 "$P2V" convert --dry-run --json -o x.qcow2 win.img:2 win.img:3
check_eq "default firmware (MBR + active)" "bios true mbr win.img" \
    "$(jq -r '"\(.firmware) \(.firmware_from_source) \(.table) \(.boot_code)"' "$WORK/last.out")"
expect_exit 0 "$P2V" convert --dry-run -o x.qcow2 win.img:2 win.img:3
grep -q "^Firmware: bios (from the source)" "$WORK/last.out" || fail "text dry-run: $(cat "$WORK/last.out")"
pass "dry-run table says: $(grep '^Firmware' "$WORK/last.out")"

# --boot uefi: GPT, the 0xEF partition an ESP, MSR before the first Windows partition.
expect_exit 0 "$P2V" convert --boot uefi -O raw -o gpt.img win.img:1 win.img:2 win.img:3
grep -q "Microsoft Reserved" "$WORK/last.err" || fail "no MSR notice"
sgdisk -v gpt.img | grep -q "No problems found" || fail "sgdisk -v"
types=$(sfdisk --json gpt.img | jq -r '[.partitiontable.partitions[].type] | join(" ")')
check_eq "types: ESP, MSR, Windows, Windows" "$esp_type $msr_type $bd_type $bd_type" "$types"
check_eq "MSR size (16 MiB)" 32768 "$(sfdisk --json gpt.img | jq '.partitiontable.partitions[1].size')"
msr_end=$(sfdisk --json gpt.img | jq '.partitiontable.partitions[1] | .start + .size')
win_start=$(sfdisk --json gpt.img | jq '.partitiontable.partitions[2].start')
[ "$win_start" -ge "$msr_end" ] || fail "MSR overlaps the Windows partition"
pass "MSR right before the Windows partition ($msr_end <= $win_start)"

expect_exit 0 "$P2V" convert --boot uefi --no-msr -O raw -o nomsr.img win.img:1 win.img:2 win.img:3
check_eq "--no-msr types" "$esp_type $bd_type $bd_type" \
    "$(sfdisk --json nomsr.img | jq -r '[.partitiontable.partitions[].type] | join(" ")')"

# Default from a GPT source with an ESP: uefi.
expect_exit 0 "$P2V" convert --dry-run --json -o x.qcow2 gpt.img:1 gpt.img:4
check_eq "default firmware (GPT + ESP)" "uefi true gpt" \
    "$(jq -r '"\(.firmware) \(.firmware_from_source) \(.table)"' "$WORK/last.out")"
expect_exit 0 "$P2V" convert --dry-run -o x.qcow2 gpt.img:1 gpt.img:4
grep -q "^Firmware: uefi (from the source)" "$WORK/last.out" || fail "text dry-run: $(cat "$WORK/last.out")"
pass "dry-run table says: $(grep '^Firmware' "$WORK/last.out")"

# --boot bios from the GPT disk (no boot code there): MBR, p2v's program, active.
expect_exit 0 "$P2V" convert --boot bios --json -O raw -o bios.img gpt.img:4
check_eq "boot code source" p2v "$(jq -r .boot_code "$WORK/last.out")"
check_eq "table" dos "$(sfdisk --json bios.img | jq -r .partitiontable.label)"
check_eq "partition 1 active" true "$(sfdisk --json bios.img | jq '.partitiontable.partitions[0].bootable // false')"
if [ -s "${P2V_BUILD:-}/generated/mbr.bin" ]; then
    cmp -n 440 "$P2V_BUILD/generated/mbr.bin" bios.img || fail "not p2v's MBR program"
    pass "bytes 0..439 are p2v's MBR program"
fi
