#!/bin/bash
# convert's options on the sample PC: raw output grown with --size and
# verified, GPT -> MBR with five partitions (logicals), MBR -> GPT types,
# --align, compressed qcow2 with another cluster size, --json, --copy all.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
mkpc_setup

# Raw output, C: last and grown by --size, verified against the sources.
expect_exit 0 "$P2V" convert -O raw --size 400M --verify -o pc.img disk1.img:2 disk1.img:3
grep -q "verified" "$WORK/last.err" || fail "no verify report: $(cat "$WORK/last.err")"
check_eq "raw image size" $((400 << 20)) "$(stat -c %s pc.img)"
alloc=$(( $(stat -c %b pc.img) * $(stat -c %B pc.img) ))
[ "$alloc" -lt $((200 << 20)) ] || fail "raw image not sparse: $alloc bytes allocated"
pass "raw output is sparse ($alloc bytes allocated of 400 MiB)"
check_eq "C: grown to the disk end" $((400 << 11)) \
    "$(sfdisk --json pc.img | jq '[.partitiontable.partitions[] | .start + .size] | max')"
mkpc_check_output pc.img 1:2 1:3
grep -q "grows" "$WORK/last.err" || fail "no notice that the last partition grows"

# GPT -> MBR: disk 2's partitions (basic data with FAT32, Linux), plus three
# of disk 1, five in all: the last two become logical partitions.
expect_exit 0 "$P2V" convert -t mbr -O raw -o mbr.img disk2.img:1 disk2.img:2 disk1.img:1 disk1.img:5 disk1.img:2
sfdisk -V mbr.img >/dev/null || fail "sfdisk -V"
check_eq "MBR types" "c 83 7 f 27 83" "$(sfdisk --json mbr.img | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
check_eq "partition numbers" "1 2 3 4 5 6" "$(sfdisk --json mbr.img | jq -r '[.partitiontable.partitions[].node | sub(".*img"; "")] | join(" ")')"
check_eq "disk1's boot partition stays active" "mbr.img3" "$(sfdisk --json mbr.img | jq -r '.partitiontable.partitions[] | select(.bootable) | .node')"
mkpc_check_output mbr.img 2:1 2:2 1:1 1:5 1:2

# MBR -> GPT with --no-msr and a 4 MiB alignment.
expect_exit 0 "$P2V" convert -t gpt --no-msr --align 4M -O raw -o gpt.img disk1.img:3 disk1.img:6 disk1.img:2
sgdisk -v gpt.img | grep -q "No problems found" || fail "sgdisk -v"
check_eq "GPT types" "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 0FC63DAF-8483-4772-8E79-3D69D8477DE4" \
    "$(sfdisk --json gpt.img | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
for s in $(sfdisk --json gpt.img | jq '.partitiontable.partitions[].start'); do
    [ $((s % 8192)) = 0 ] || fail "partition at $s not 4 MiB aligned"
done
pass "4 MiB alignment"
mkpc_check_output gpt.img 1:3 1:6 1:2

# Compressed qcow2, 1 MiB clusters, --copy all, --json.
expect_exit 0 "$P2V" convert -c zstd --cluster-size 1M --copy all --json -o z.qcow2 disk1.img:1 disk2.img:2
jq -e '.format == "qcow2" and .table == "mbr" and (.partitions | length) == 2 and .copied_bytes > 0' \
    "$WORK/last.out" >/dev/null || fail "JSON: $(cat "$WORK/last.out")"
qemu-img check z.qcow2 >/dev/null || fail "qemu-img check (zstd)"
info=$(qemu-img info --output=json z.qcow2)
check_eq "cluster size" 1048576 "$(jq '."cluster-size"' <<<"$info")"
check_eq "compression" zstd "$(jq -r '."format-specific".data."compression-type"' <<<"$info")"
qemu-img convert -O raw z.qcow2 z.raw
mkpc_check_output z.raw 1:1 2:2

# --dry-run --json: the layout, nothing written.
expect_exit 0 "$P2V" convert --dry-run --json -o never.qcow2 disk1.img:1 disk1.img:3
jq -e '.dry_run and (.partitions[0].start == 2048) and (.partitions[1].source_number == 3)' \
    "$WORK/last.out" >/dev/null || fail "dry-run JSON: $(cat "$WORK/last.out")"
[ ! -e never.qcow2 ] || fail "--dry-run wrote OUTPUT"

# JSON attrs: a hex string, the same form as p2v disks --json (WinRE from MBR
# gets platform required + no drive letter, bit 63, beyond a double's 2^53).
expect_exit 0 "$P2V" convert --json -t gpt -O raw -o re.img disk1.img:5
conv_attrs=$(jq -r '.partitions[] | select(.kind == "copy") | .attrs' "$WORK/last.out")
check_eq "convert JSON attrs" 0x8000000000000001 "$conv_attrs"
jq -e '.partitions[] | select(.kind == "copy") | .attrs | type == "string"' "$WORK/last.out" >/dev/null ||
    fail "attrs is not a string"
expect_exit 0 "$P2V" disks --json re.img
check_eq "disks JSON attrs of the same partition" "$conv_attrs" \
    "$(jq -r '.disks[0].partitions[] | select(.type_name == "Windows recovery") | .attrs' "$WORK/last.out")"

# Progress: none when stderr is not a terminal, a bar with -p or on a terminal.
expect_exit 0 "$P2V" convert -O raw -o p1.img disk1.img:1
! grep -q "ETA" "$WORK/last.err" || fail "progress bar on a non-terminal without -p"
expect_exit 0 "$P2V" convert -p -O raw -o p2.img disk1.img:1
grep -q "100%.*MiB/s.*ETA" "$WORK/last.err" || fail "no progress bar with -p: $(cat "$WORK/last.err")"
if command -v script >/dev/null; then
    script -qec "'$P2V' convert -O raw -o p3.img disk1.img:1" /dev/null >tty.out </dev/null
    grep -q "100%.*MiB/s.*ETA" tty.out || fail "no progress bar on a terminal: $(cat tty.out)"
    pass "progress bar on a terminal"
fi
pass "progress bar only when asked or on a terminal"

sha256sum -c --quiet sources.sum || fail "a source changed"
pass "options work, sources unchanged"
