#!/bin/bash
# A backing chain that loops (an image its own backing file, a -> b -> a) or
# that is deeper than the limit is refused with one line saying why; a
# missing file deep in a chain is named once, not behind a prefix per level.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img

cd "$WORK"
# one_line WHAT EXPECTED: the last command's stderr is exactly one line
# holding EXPECTED.
one_line() {
    [ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "$1: not one line: $(cat "$WORK/last.err")"
    grep -qF -- "$2" "$WORK/last.err" || fail "$1: $(cat "$WORK/last.err")"
}

qemu-img create -q -f qcow2 selfb.qcow2 1M
qemu-img rebase -u -b selfb.qcow2 -F qcow2 selfb.qcow2
# a -> b -> d/link.qcow2 (a symlink to c) -> a: the loop is found through
# another path to the same file.
qemu-img create -q -f qcow2 a.qcow2 1M
qemu-img create -q -f qcow2 -b "$WORK/a.qcow2" -F qcow2 c.qcow2
mkdir d && ln -s ../c.qcow2 d/link.qcow2
qemu-img create -q -f qcow2 -b d/link.qcow2 -F qcow2 b.qcow2
qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2

expect_exit 1 "$P2V" img map selfb.qcow2
one_line "self loop" "p2v: backing chain loops: selfb.qcow2's backing file selfb.qcow2 is already in the chain"
expect_exit 2 "$P2V" img compare selfb.qcow2 selfb.qcow2
one_line "self loop (compare)" "backing chain loops: selfb.qcow2's backing file selfb.qcow2 is already in the chain"
expect_exit 1 "$P2V" convert -o out.qcow2 selfb.qcow2:1
one_line "self loop (convert)" "backing chain loops: selfb.qcow2's backing file selfb.qcow2 is already in the chain"
expect_exit 1 "$P2V" img map c.qcow2
one_line "c -> a -> b -> d/link (= c)" "backing chain loops: $WORK/b.qcow2's backing file $WORK/d/link.qcow2 is already in the chain"
expect_exit 1 "$P2V" disks a.qcow2
one_line "a -> b -> d/link -> a" "backing chain loops: d/link.qcow2's backing file $WORK/a.qcow2 is already in the chain"
[ ! -e out.qcow2 ] || fail "out.qcow2 left behind"
pass "backing chain loops named in one line"

# A chain of 64 backing files opens; 65 is one too many.
qemu-img create -q -f qcow2 l0.qcow2 1M
for i in $(seq 1 65); do
    qemu-img create -q -f qcow2 -u -b "l$((i - 1)).qcow2" -F qcow2 "l$i.qcow2" 1M
done
expect_exit 0 "$P2V" img map l64.qcow2
expect_exit 1 "$P2V" img map l65.qcow2
one_line "65 backing files" "l1.qcow2: backing chain too deep: more than 64 backing files (the limit)"
pass "depth limit of 64 backing files named"

# A missing file deep in the chain: named once, by the image that names it.
rm l30.qcow2
expect_exit 1 "$P2V" img map l64.qcow2
one_line "missing l30" "p2v: l31.qcow2: cannot open backing file: l30.qcow2: No such file or directory"
pass "missing backing file named once"
