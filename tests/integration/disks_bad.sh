#!/bin/bash
# Crafted bad tables: each gives one clear line naming what and where, a
# warning (exit 0) when the rest is usable, exit 1 when nothing is, and never
# a crash or a sanitizer report.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
need sfdisk sgdisk jq od

le32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# --- GPT ---------------------------------------------------------------------
gpt=$WORK/gpt.img
truncate -s 32M "$gpt"
sgdisk -o -n 1:0:+4M -t 1:ef00 -n 2:0:+8M -t 2:0700 -n 3:0:+8M -t 3:8300 "$gpt" >/dev/null
last=$((32 * 2048 - 1))

cp "$gpt" "$WORK/g1.img"   # primary header CRC wrong
put_bytes "$WORK/g1.img" $((512 + 56)) ff
expect_msg 0 "p2v: warning: $WORK/g1.img: primary GPT header at LBA 1 is bad: bad header CRC (stored 0x" "$P2V" disks "$WORK/g1.img"
expect_msg 0 "; using the backup at LBA $last" "$P2V" disks "$WORK/g1.img"
check_eq "partitions from the backup" 3 "$("$P2V" disks --json "$WORK/g1.img" 2>/dev/null | jq '.disks[0].partitions | length')"
grep -q "read from the backup" "$WORK/last.out" || fail "text output does not say the backup was used"

cp "$gpt" "$WORK/g2.img"   # backup header CRC wrong
put_bytes "$WORK/g2.img" $((last * 512 + 56)) ff
expect_msg 0 "p2v: warning: $WORK/g2.img: backup GPT header at LBA $last is bad: bad header CRC" "$P2V" disks "$WORK/g2.img"

cp "$gpt" "$WORK/g3.img"   # primary entry array CRC wrong
put_bytes "$WORK/g3.img" $((1024 + 56)) 41
expect_msg 0 "primary GPT header at LBA 1 is bad: bad entry array CRC (stored 0x" "$P2V" disks "$WORK/g3.img"

cp "$gpt" "$WORK/g4.img"   # both headers bad
put_bytes "$WORK/g4.img" $((512 + 56)) ff
put_bytes "$WORK/g4.img" $((last * 512 + 56)) ff
expect_msg 1 "p2v: $WORK/g4.img: no usable GPT: primary header at LBA 1: bad header CRC (stored 0x" "$P2V" disks "$WORK/g4.img"
expect_msg 1 "; backup header at LBA $last: bad header CRC" "$P2V" disks "$WORK/g4.img"
check_eq "one line" 1 "$(wc -l <"$WORK/last.err")"

cp "$gpt" "$WORK/g5.img"   # both entry arrays bad
put_bytes "$WORK/g5.img" $((1024 + 56)) 41
put_bytes "$WORK/g5.img" $(((last - 32) * 512 + 56)) 41
expect_msg 1 "no usable GPT: primary header at LBA 1: bad entry array CRC" "$P2V" disks "$WORK/g5.img"

cp "$gpt" "$WORK/g6.img"   # truncated inside partition 3: 1 and 2 still usable
truncate -s 16M "$WORK/g6.img"
expect_msg 0 "p2v: warning: $WORK/g6.img: the GPT places its backup header at LBA $last but the disk has only 32768 sectors: the image looks truncated" "$P2V" disks "$WORK/g6.img"
expect_msg 0 "p2v: warning: $WORK/g6.img: partition 3 (LBA 26624-43007) extends past the end of the disk (32768 sectors)" "$P2V" disks "$WORK/g6.img"
grep -qE '^ *3 .*PAST-END' "$WORK/last.out" || fail "partition 3 not flagged in the table"

cp "$gpt" "$WORK/g7.img"   # truncated before partition 1 ends: nothing usable
truncate -s 3M "$WORK/g7.img"
expect_msg 1 "p2v: $WORK/g7.img: partition 1 (LBA 2048-10239) extends past the end of the disk (6144 sectors); no usable partition remains" "$P2V" disks "$WORK/g7.img"

truncate -s 300 "$WORK/g8.img"   # less than a sector
expect_msg 0 "only 300 bytes, smaller than one sector: no partition table" "$P2V" disks "$WORK/g8.img"

# --- MBR ---------------------------------------------------------------------
mbr=$WORK/mbr.img
truncate -s 64M "$mbr"
sfdisk -q "$mbr" <<'SF'
label: dos
start=2048, size=20480, type=7
start=22528, size=10240, type=c
start=32768, type=5
start=34816, size=8192, type=83
start=45056, size=8192, type=82
start=55296, size=8192, type=83
SF
ebr1=32768
ebr2=$((ebr1 + $(le32_at "$mbr" $((ebr1 * 512 + 446 + 16 + 8)))))

cp "$mbr" "$WORK/m1.img"   # EBR loop: the second EBR links back to the first
put_le32 "$WORK/m1.img" $((ebr2 * 512 + 446 + 16 + 8)) 0
expect_msg 0 "p2v: warning: $WORK/m1.img: EBR chain loops: the EBR at LBA $ebr2 links back to LBA $ebr1; logical partitions from 7 on are ignored" "$P2V" disks "$WORK/m1.img"
check_eq "partitions before the loop" "1 2 3 5 6" "$("$P2V" disks --json "$WORK/m1.img" 2>/dev/null | jq -r '[.disks[0].partitions[].number] | join(" ")')"

cp "$mbr" "$WORK/m2.img"   # partition 2 past the end of the disk
put_le32 "$WORK/m2.img" $((446 + 16 + 12)) 500000
expect_msg 0 "p2v: warning: $WORK/m2.img: partition 2 (LBA 22528-522527) extends past the end of the disk (131072 sectors)" "$P2V" disks "$WORK/m2.img"

cp "$mbr" "$WORK/m3.img"   # partitions 1 and 2 overlap
put_le32 "$WORK/m3.img" $((446 + 16 + 8)) 20000
expect_msg 0 "p2v: warning: $WORK/m3.img: partitions 1 (LBA 2048-22527) and 2 (LBA 20000-30239) overlap" "$P2V" disks "$WORK/m3.img"
grep -qE '^ *1 .*OVERLAP' "$WORK/last.out" || fail "partition 1 not flagged"
# convert refuses to copy a partition the table disagrees about, and one past the end
expect_exit 1 "$P2V" convert -O raw -o "$WORK/m3-out.img" "$WORK/m3.img:2"
grep -q "m3.img:2: partition (sectors 20000..+10240) overlaps another partition" "$WORK/last.err" ||
    fail "convert of an overlapping partition: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -O raw -o "$WORK/m2-out.img" "$WORK/m2.img:2"
grep -q "m2.img:2: partition (sectors 22528..+500000) goes past the end of the disk" "$WORK/last.err" ||
    fail "convert of a partition past the end: $(cat "$WORK/last.err")"
[ ! -e "$WORK/m3-out.img" ] && [ ! -e "$WORK/m2-out.img" ] || fail "output left behind"
pass "convert refuses inconsistent partitions"

cp "$mbr" "$WORK/m4.img"   # truncated inside partition 1: nothing usable
truncate -s 5M "$WORK/m4.img"
expect_msg 1 "p2v: $WORK/m4.img: partition 1 (LBA 2048-22527) extends past the end of the disk (10240 sectors); no usable partition remains" "$P2V" disks "$WORK/m4.img"

cp "$mbr" "$WORK/m5.img"   # link out of the container
put_le32 "$WORK/m5.img" $((ebr1 * 512 + 446 + 16 + 8)) 7000000
expect_msg 0 "EBR at LBA $ebr1 links to LBA $((ebr1 + 7000000)), outside the extended partition (LBA 32768-131071)" "$P2V" disks "$WORK/m5.img"

cp "$mbr" "$WORK/m6.img"   # second EBR without its signature
put_bytes "$WORK/m6.img" $((ebr2 * 512 + 510)) 00 00
expect_msg 0 "EBR at LBA $ebr2 has no 0x55AA signature; logical partitions from 6 on are ignored" "$P2V" disks "$WORK/m6.img"

# One good disk and one bad: the good one is listed, the exit status is 1.
expect_exit 1 "$P2V" disks --json "$mbr" "$WORK/g4.img"
check_eq "good disk still listed" "$mbr" "$(jq -r '.disks[0].path' "$WORK/last.out")"
check_eq "only the good disk" 1 "$(jq -r '.disks | length' "$WORK/last.out")"
