#!/bin/bash
# The user's story: two disks, one qcow2 holding boot, recovery, F:, D: and C:
# in that order, C: last. MBR target (the source's), then the same as GPT.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
mkpc_setup
story=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)
want=(1:1 1:5 2:1 1:2 1:3)

# The layout first, as the user would look at it.
expect_exit 0 "$P2V" convert --dry-run -o pc.qcow2 "${story[@]}"
cat "$WORK/last.out"
[ ! -e pc.qcow2 ] || fail "--dry-run wrote the image"
grep -q "Firmware: bios (from the source)" "$WORK/last.out" || fail "dry-run does not show the firmware"

# --- MBR target (disk 1's table type) ---
expect_exit 0 "$P2V" convert --json --verify -o pc.qcow2 "${story[@]}"
jq -e '.table == "mbr" and (.partitions | length) == 5 and .verified and .verified_bytes > 0' "$WORK/last.out" >/dev/null ||
    fail "JSON result: $(cat "$WORK/last.out")"
qemu-img check pc.qcow2 || fail "qemu-img check"
vsize=$(qemu-img info --output=json pc.qcow2 | jq '."virtual-size"')
check_eq "virtual size reported" "$(jq .virtual_size "$WORK/last.out")" "$vsize"
ls -a | grep -q '\.p2v-' && fail "temporary file left behind"
qemu-img convert -O raw pc.qcow2 pc.raw
sfdisk -V pc.raw >/dev/null || fail "sfdisk -V"
id=$(sfdisk --json pc.raw | jq -r .partitiontable.id)
[ "$id" != 0x1ee7c0de ] && [ "$id" != 0x00000000 ] || fail "disk signature not new: $id"
pass "new disk signature $id"
check_eq "active partition" 1 "$(sfdisk --json pc.raw | jq -r '.partitiontable.partitions[] | select(.bootable) | .node' | sed 's/.*raw//')"
check_eq "boot code carried" P2V-TEST-BOOTCODE "$(head -c 17 pc.raw)"
check_eq "logical partitions" "5 6" "$(sfdisk --json pc.raw | jq -r '[.partitiontable.partitions[].node | sub(".*raw"; "") | tonumber | select(. >= 5)] | join(" ")')"
types=$(sfdisk --json pc.raw | jq -r '[.partitiontable.partitions[] | select(.type != "f") | .type] | join(" ")')
check_eq "types (GPT basic data with FAT32 -> 0x0c)" "7 27 c 83 7" "$types"
mkpc_check_output pc.raw "${want[@]}"
last_end=$(sfdisk --json pc.raw | jq '[.partitiontable.partitions[] | .start + .size] | max')
check_eq "C: ends where the disk ends" $(( vsize / 512 )) "$last_end"
rm -f pc.raw

# --- GPT target: MSR added, types mapped, backup GPT at the end ---
expect_exit 0 "$P2V" convert -t gpt -o pc-gpt.qcow2 "${story[@]}"
grep -q "Microsoft Reserved" "$WORK/last.err" || fail "no MSR notice"
qemu-img check pc-gpt.qcow2 || fail "qemu-img check (gpt)"
qemu-img convert -O raw pc-gpt.qcow2 pc.raw
sgdisk -v pc.raw | tee sgdisk.out
grep -q "No problems found" sgdisk.out || fail "sgdisk -v"
guid=$(sfdisk --json pc.raw | jq -r .partitiontable.id)
guid1=$(sfdisk --json disk2.img | jq -r .partitiontable.id)
[ "$guid" != "$guid1" ] || fail "disk GUID copied from a source"
check_eq "GPT types" "E3C9E316-0B5C-4DB8-817D-F92DF00215AE EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 DE94BBA4-06D1-4D40-A16A-BFD50179D6AC EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 0FC63DAF-8483-4772-8E79-3D69D8477DE4 EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" \
    "$(sfdisk --json pc.raw | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
check_eq "F: keeps its GPT partition GUID" "$(sfdisk --json disk2.img | jq -r '.partitiontable.partitions[0].uuid')" \
    "$(sfdisk --json pc.raw | jq -r '.partitiontable.partitions[3].uuid')"
check_eq "F: keeps its GPT name" "F data" "$(sfdisk --json pc.raw | jq -r '.partitiontable.partitions[3].name')"
check_eq "WinRE attributes" "RequiredPartition GUID:63" "$(sfdisk --json pc.raw | jq -r '.partitiontable.partitions[2].attrs')"
mkpc_check_output pc.raw msr "${want[@]}"
sectors=$(( $(stat -c %s pc.raw) / 512 ))
last_end=$(sfdisk --json pc.raw | jq '[.partitiontable.partitions[] | .start + .size] | max')
check_eq "C: ends where the GPT backup area begins" $(( sectors - 33 )) "$last_end"

sha256sum -c sources.sum || fail "a source image changed"
pass "story converted, sources unchanged"
