#!/bin/bash
# Every option value out of its range is a usage error of `p2v convert`:
# exit 2, a line naming the option, the usage text, nothing written. Before,
# --cluster-size 4M exited 2 but --align 2G exited 1.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk

cd "$WORK"
truncate -s 8M d.img
echo 'start=2048, size=4096, type=83' | sfdisk -q d.img
usage_err() { # PATTERN ARGS...
    local pat=$1
    shift
    expect_exit 2 "$P2V" convert -O raw -o out.raw "$@" d.img:1
    grep -q -- "$pat" "$WORK/last.err" || { cat "$WORK/last.err"; fail "$*: no '$pat'"; }
    grep -q "^Usage: p2v convert" "$WORK/last.err" || fail "$*: no usage text"
    [ ! -e out.raw ] || fail "$*: output written"
}
usage_err "--align 2147483648 is larger than the 1 GiB" --align 2G
usage_err "--align 1000 is not a multiple of the 512-byte sector size" --align 1000
usage_err "--size .* is larger than the .* (64 PiB)" --size 100P
usage_err "--cluster-size 4M: must be a power of two" --cluster-size 4M
usage_err "unknown --bad-sectors mode 'skip'" --bad-sectors skip
usage_err "invalid size for --align" --align 0
usage_err "--sector-size must be 512 or 4096" --sector-size 1000
pass "out-of-range --align, --size, --cluster-size, --bad-sectors, --sector-size: exit 2"
# Not an option value: a --size below what the partitions need stays a failure.
expect_exit 1 "$P2V" convert -O raw -o out.raw --size 2M d.img:1
grep -q -- "--size 2.0 MiB is too small" "$WORK/last.err" || { cat "$WORK/last.err"; fail "too small"; }
pass "--size too small for the layout: exit 1"
# A partition's own size that wraps when rounded up to whole sectors is
# refused by its size, not reported as "0 B is smaller than ..." (exit 1,
# like a DISK:N=SIZE above 64 PiB).
expect_exit 1 "$P2V" convert -O raw -o out.raw d.img:1=18446744073709551615
grep -q "d.img:1=18446744073709551615 is larger than the 72057594037927936 bytes p2v accepts" \
    "$WORK/last.err" || { cat "$WORK/last.err"; fail "=2^64-1"; }
[ ! -e out.raw ] || fail "=2^64-1: output written"
pass "=18446744073709551615 refused by its size"
