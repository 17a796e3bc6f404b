#!/bin/bash
# The active partition of an MBR target for BIOS when no selected partition
# was active: one whose boot sector has boot code, else the first, with a
# notice; --active DISK:N picks it explicitly.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk jq mkfs.vfat

cd "$WORK"
truncate -s 64M d.img
sfdisk -q d.img <<'SF'
label: dos
start=2048, size=16384, type=83
start=18432, size=32768, type=6
start=51200, size=32768, type=6
SF
# Partition 2: FAT16 with boot code (mkfs.fat's stub replaced by NOPs);
# partition 3: FAT16 as mkfs.fat leaves it ("This is not a bootable disk").
for n in 2 3; do
    truncate -s 16M p$n.img
    mkfs.vfat -F 16 -n P$n p$n.img >/dev/null
done
head -c 400 /dev/zero | tr '\0' '\220' | dd of=p2.img bs=1 seek=62 conv=notrunc status=none
dd if=p2.img of=d.img bs=512 seek=18432 conv=notrunc status=none
dd if=p3.img of=d.img bs=512 seek=51200 conv=notrunc status=none

active() { sfdisk --json "$1" | jq -r '[.partitiontable.partitions[] | select(.bootable) | .node | sub(".*img"; "")] | join(" ")'; }

expect_exit 0 "$P2V" convert --boot bios -O raw -o a.img d.img:1 d.img:3 d.img:2
check_eq "the one with boot code is active" 3 "$(active a.img)"
grep -q "d.img:2 is made active for BIOS boot (its boot sector has BIOS boot code); --active DISK:N" \
    "$WORK/last.err" || fail "no notice: $(cat "$WORK/last.err")"

expect_exit 0 "$P2V" convert --boot bios -O raw -o b.img d.img:3 d.img:1
check_eq "none with boot code: the first" 1 "$(active b.img)"
grep -q "d.img:3 is made active for BIOS boot (the first selected partition" "$WORK/last.err" ||
    fail "no notice: $(cat "$WORK/last.err")"

expect_exit 0 "$P2V" convert --boot bios --active d.img:1 -O raw -o c.img d.img:2 d.img:3 d.img:1
check_eq "--active d.img:1" 3 "$(active c.img)"
expect_exit 0 "$P2V" convert --dry-run --json -t mbr --active "$WORK/d.img:3" d.img:2 d.img:3
check_eq "--active by another name, dry run" "false true" \
    "$(jq -r '[.partitions[].bootable] | map(tostring) | join(" ")' "$WORK/last.out")"

expect_exit 2 "$P2V" convert --active d.img:9 -o x.img d.img:1
grep -q "not one of the selected partitions" "$WORK/last.err" || fail "--active not a SEL"
expect_exit 2 "$P2V" convert --active 1 -o x.img d.img:1
expect_exit 1 "$P2V" convert -t gpt --active d.img:1 -o x.img d.img:1
grep -q "applies to an MBR target" "$WORK/last.err" || fail "--active with GPT"
[ ! -e x.img ] || fail "x.img written"
pass "active partition: boot code preferred, --active chooses"
