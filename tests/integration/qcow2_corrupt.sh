#!/bin/bash
# Damaged qcow2 images (flipped L1/L2/refcount entries, truncated file, huge
# L1 size, refcount table over the header, compressed cluster past the end):
# p2v img check reports what qemu-img check reports (exit code and JSON), and
# reading (compare, map, info) fails cleanly or succeeds, never crashes
# (compare's failures are qemu-img's statuses 2, 3 or 4, with a message).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$P2V_SRC/tests/lib/qcow2.sh"
need qemu-img jq python3

python3 - "$WORK/src.raw" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(48):  # half random, half compressible
        f.write(os.urandom(32768) + (b"p2v test %03d " % i) * 2520 + bytes(32768 - 13 * 2520))
    f.truncate(8 << 20)
PY

actions="l1-copied l1-misalign l1-reserved l2-copied l2-misalign l2-dup l2-past-end ref-dec
ref-inc ref-leak truncate-half huge-l1 reftable-header compressed-past-end"
for writer in qemu p2v; do
    for a in $actions; do
        img=$WORK/x.qcow2
        c=(); [ "$a" = compressed-past-end ] && c=(-c)
        if [ $writer = qemu ]; then
            qemu-img convert -f raw -O qcow2 "${c[@]}" "$WORK/src.raw" "$img"
        else
            "$P2V" img convert -f "${c[@]}" "$WORK/src.raw" "$img"
        fi
        $POKE "$img" "$a"
        q=0; qemu-img check --output=json "$img" >"$WORK/q.json" 2>"$WORK/q.err" || q=$?
        p=0; "$P2V" img check --output=json "$img" >"$WORK/p.json" 2>"$WORK/p.err" || p=$?
        grep -q Sanitizer "$WORK/p.err" && { cat "$WORK/p.err" >&2; fail "$writer $a: sanitizer report in check"; }
        check_eq "$writer $a: check exit code" "$q" "$p"
        if [ -s "$WORK/q.json" ]; then
            diff <(jq -S 'del(.filename)' "$WORK/q.json") <(jq -S 'del(.filename)' "$WORK/p.json") >&2 ||
                fail "$writer $a: check JSON differs"
        fi
        [ "$q" != 0 ] || [ "$a" = ref-leak ] || fail "$writer $a: the damage went unnoticed by qemu-img"
        for cmd in "compare $img $WORK/src.raw" "map --output=json $img" "info --output=json $img"; do
            r=0; "$P2V" img $cmd >/dev/null 2>"$WORK/r.err" || r=$?
            grep -q Sanitizer "$WORK/r.err" && { cat "$WORK/r.err" >&2; fail "$writer $a: sanitizer report in img $cmd"; }
            # compare has qemu-img's error statuses: 2 opening, 3 allocation, 4 reading
            [ "$r" -le 2 ] || { [ "${cmd%% *}" = compare ] && [ "$r" -le 4 ]; } ||
                fail "$writer $a: img $cmd exited $r"
            if [ "$r" -ge 2 ] || { [ "$r" = 1 ] && [ "${cmd%% *}" != compare ]; }; then
                grep -q "^p2v: " "$WORK/r.err" || fail "$writer $a: img $cmd failed without a message"
            fi
        done
        pass "$writer $a"
    done
done

# An image whose writer never finished (header version 0) is refused by both.
"$P2V" img convert -f "$WORK/src.raw" "$WORK/y.qcow2"
$POKE "$WORK/y.qcow2" version0
expect_exit 1 "$P2V" img check "$WORK/y.qcow2"
grep -q "never completed" "$WORK/last.err" || fail "version 0 not explained"
r=0; qemu-img check -f qcow2 "$WORK/y.qcow2" >/dev/null 2>&1 || r=$?
[ "$r" != 0 ] || fail "qemu-img accepted an unfinished image"
pass "unfinished image refused"
