#!/bin/bash
# --min-free 0 (issue 24 item 7): DISK:N=min then leaves no margin (the
# used space and the backup boot sector, rounded up to the alignment), where
# it was a usage error. Plan files keep it apart from the default margin:
# "min_free": 0 alone (every older plan) still means the default, an
# explicit zero is saved with "min_free_set": true and replayed as zero.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkntfs ntfscp ntfsfix ntfsresize jq
cd "$WORK"

truncate -s 66M src.img
echo "start=2048, size=$((64 * 2048)), type=7" | sfdisk -q src.img
truncate -s 64M src.part
mkntfs -q -F -Q -c 4096 src.part >/dev/null 2>&1
head -c $((20 << 20)) /dev/urandom >big.bin
ntfscp -q src.part big.bin big.bin >/dev/null
dd if=src.part of=src.img bs=1M seek=1 conv=notrunc status=none
used=$(ntfsresize --info --no-action -f src.part 2>&1 | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
want=$(( (used + (1 << 20) - 1) / (1 << 20) * (1 << 20) ))

# part_bytes RAW: bytes of partition 1
part_bytes() { echo $(( $(sfdisk --json "$1" | jq '.partitiontable.partitions[0].size') * 512 )); }

expect_exit 0 "$P2V" convert -O raw --min-free 0 -o zero.raw src.img:1=min
check_eq "--min-free 0: partition bytes (ntfsresize's minimum $used, rounded to 1 MiB)" "$want" "$(part_bytes zero.raw)"
dd if=zero.raw of=zero.part bs=1M skip=1 count=$((want >> 20)) status=none
ntfsfix -n zero.part >/dev/null 2>&1 || fail "--min-free 0: ntfsfix -n"
cmp -s <(ntfscat zero.part big.bin) big.bin || fail "--min-free 0: big.bin differs"

# the default margin (at least 1 GiB) is more than the source: it keeps its size
expect_exit 0 "$P2V" convert -O raw -o dflt.raw src.img:1=min
check_eq "default margin: partition bytes" $((64 << 20)) "$(part_bytes dflt.raw)"
grep -q "keeps its size" "$WORK/last.err" || fail "no notice: $(cat "$WORK/last.err")"

expect_exit 2 "$P2V" convert -O raw --min-free -1 -o no.raw src.img:1=min
grep -q "invalid size for --min-free" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"

# plans: an explicit zero saved and replayed; 0 alone is the default margin
expect_exit 0 "$P2V" convert --dry-run -O raw --min-free 0 --save-plan z.json src.img:1=min
check_eq "plan: options.min_free" 0 "$(jq .options.min_free z.json)"
check_eq "plan: options.min_free_set" true "$(jq .options.min_free_set z.json)"
expect_exit 0 "$P2V" convert --plan z.json -o zplan.raw
check_eq "plan with an explicit zero: partition bytes" "$want" "$(part_bytes zplan.raw)"
jq 'del(.options.min_free_set)' z.json >old.json
expect_exit 0 "$P2V" convert --plan old.json -o old.raw
check_eq "plan with min_free 0 alone (as older plans): default margin" $((64 << 20)) "$(part_bytes old.raw)"
expect_exit 0 "$P2V" convert --dry-run -O raw --min-free 2M --save-plan two.json src.img:1=min
check_eq "plan: options.min_free 2M" $((2 << 20)) "$(jq .options.min_free two.json)"
check_eq "plan: no min_free_set beside a size" null "$(jq .options.min_free_set two.json)"
expect_exit 0 "$P2V" convert --dry-run -O raw --save-plan d.json src.img:1=min
check_eq "plan: no min_free_set for the default" null "$(jq .options.min_free_set d.json)"
expect_exit 2 "$P2V" convert --plan z.json --min-free 0 -o never.raw
grep -q -- "--min-free comes from the plan file" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
pass "--min-free 0 on the command line and in plans"
