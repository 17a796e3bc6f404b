#!/bin/bash
# convert's error lines name DISK:N once: a filesystem refusal from the
# used-block map reads "d.img:1: partition at byte ...", not "d.img:1: d.img: ...".
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.ext4 debugfs

cd "$WORK"
truncate -s 24M d.img
sfdisk -q d.img <<<'label: dos
start=2048, size=32768, type=83'
truncate -s 16M fs.img
mkfs.ext4 -q -F fs.img
debugfs -w -R "feature needs_recovery" fs.img >/dev/null 2>&1
dd if=fs.img of=d.img bs=512 seek=2048 conv=notrunc status=none
expect_exit 1 "$P2V" convert -O raw -o out.raw d.img:1
line=$(grep "needs journal recovery" "$WORK/last.err") || fail "no refusal: $(cat "$WORK/last.err")"
echo "$line"
[[ "$line" == "p2v: d.img:1: partition at byte 1048576: "* ]] || fail "prefix: $line"
check_eq "the disk named once" 1 "$(grep -o "d.img" <<<"$line" | wc -l)"
[ ! -e out.raw ] || fail "out.raw written"
pass "DISK:N named once in fsmap refusals"

# The planner's refusals name DISK:N once too.
expect_exit 1 "$P2V" convert -o out.raw d.img:7
line=$(grep "no partition 7" "$WORK/last.err") || fail "no refusal: $(cat "$WORK/last.err")"
check_eq "no partition 7: the disk named once" 1 "$(grep -o "d.img" <<<"$line" | wc -l)"
expect_exit 1 "$P2V" convert -o out.raw fs.img:1
line=$(grep "no partition table" "$WORK/last.err") || fail "no refusal: $(cat "$WORK/last.err")"
check_eq "no partition table: the disk named once" 1 "$(grep -o "fs.img" <<<"$line" | wc -l)"
pass "planner refusals name DISK:N once"
