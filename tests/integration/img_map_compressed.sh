#!/bin/bash
# p2v img map (human output) on compressed clusters does what qemu-img map
# does: the extents before them, then "File contains external, encrypted or
# compressed clusters." and exit 1. JSON output lists them without offset.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img jq

cd "$WORK"
# same_as_qemu IMG [ARGS]: same stdout and exit status as qemu-img map.
same_as_qemu() {
    local img=$1 qrc=0 prc=0
    shift
    qemu-img map "$@" "$img" >q.out 2>q.err || qrc=$?
    "$P2V" img map "$@" "$img" >p.out 2>p.err || prc=$?
    check_eq "$img $* exit status" "$qrc" "$prc"
    cmp -s q.out p.out || { diff q.out p.out >&2 || true; fail "$img $*: stdout differs from qemu-img"; }
    if [ "$qrc" != 0 ]; then
        grep -q "File contains external, encrypted or compressed clusters." q.err ||
            fail "qemu-img's message changed: $(cat q.err)"
        grep -q "File contains external, encrypted or compressed clusters." p.err ||
            fail "$img: $(cat p.err)"
    fi
}

# Random (incompressible: stored plain), zeros, then compressible text.
head -c 2M /dev/urandom >r.img
truncate -s 3M r.img
head -c 1M < <(yes hello) >>r.img
qemu-img convert -c -O qcow2 r.img late.qcow2
# Compressed data first.
head -c 1M < <(yes hello) >t.img
qemu-img convert -c -O qcow2 t.img first.qcow2
# A plain overlay over a compressed base: the compressed data is at depth 1.
qemu-img create -q -f qcow2 -b late.qcow2 -F qcow2 over.qcow2
qemu-img convert -O qcow2 r.img plain.qcow2

for img in late.qcow2 first.qcow2 over.qcow2 plain.qcow2; do
    same_as_qemu $img
done
[ "$(wc -l <p.out)" -gt 1 ] || fail "plain.qcow2: no extents"
pass "human map matches qemu-img on compressed clusters (stops, exit 1)"

for img in late.qcow2 first.qcow2 over.qcow2; do
    same_as_qemu $img --output=json
done
check_eq "compressed extents without offset" 1 \
    "$(jq '[.[] | select(.data and (has("offset") | not))] | length' p.out)"
pass "JSON map lists compressed extents without offset, as qemu-img"
