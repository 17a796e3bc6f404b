#!/bin/bash
# More partitions than a default GPT array holds: 129 selections (128 from
# one disk, one from another) need a longer entry array at both ends of the
# disk; the plan must leave room for it, so that the dry run and the real run
# agree and sgdisk finds the result valid. Also 128 + an added MSR.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk sgdisk jq

cd "$WORK"
truncate -s 200M g128.img
{ echo "label: gpt"; for _ in $(seq 1 128); do echo "size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"; done; } |
    sfdisk -q g128.img
cp --sparse=always g128.img g128b.img
sels=()
for i in $(seq 1 128); do sels+=("g128.img:$i"); done
sels+=("g128b.img:1")

expect_exit 0 "$P2V" convert --dry-run -O raw -o many.raw "${sels[@]}"
expect_exit 0 "$P2V" convert -O raw -o many.raw "${sels[@]}"
sgdisk -v many.raw >sgdisk.out 2>&1 || { cat sgdisk.out >&2; fail "sgdisk -v failed"; }
grep -q "No problems found" sgdisk.out || { cat sgdisk.out >&2; fail "sgdisk -v found problems"; }
check_eq "partitions in the image" 129 "$(sfdisk --json many.raw | jq '.partitiontable.partitions | length')"
pass "129 GPT partitions: longer entry array, sgdisk -v clean"

# With --size: the grown last partition still ends before the backup array.
expect_exit 0 "$P2V" convert -f -O raw --size 300M -o many.raw "${sels[@]}"
sgdisk -v many.raw >sgdisk.out 2>&1 || { cat sgdisk.out >&2; fail "sgdisk -v failed (--size)"; }
grep -q "No problems found" sgdisk.out || { cat sgdisk.out >&2; fail "sgdisk -v found problems (--size)"; }
pass "129 GPT partitions with --size 300M: sgdisk -v clean"

# Sizes near 2^64 are refused before any arithmetic can wrap, in the dry run
# too, as usage errors (exit 2) like every option value out of its range.
expect_exit 2 "$P2V" convert --dry-run --size 18446744073709551615 -O raw -o big.raw g128.img:1
grep -q "is larger than the 72057594037927936 bytes (64 PiB) p2v accepts" "$WORK/last.err" || fail "huge --size: $(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert --dry-run --align 8E -O raw -o big.raw g128.img:1
grep -q "is larger than the 1 GiB p2v accepts" "$WORK/last.err" || fail "huge --align: $(cat "$WORK/last.err")"
[ ! -e big.raw ] || fail "output left"
pass "huge --size and --align refused"
