#!/bin/bash
# Human output of p2v img info and img compare is qemu-img's, byte for byte:
# sizes as qemu-img prints them ("128 MiB", "1.5 GiB", "196 KiB",
# "0.977 MiB", "1e+03 KiB"), and compare's size warning only once the common
# part is equal, with the offset of the first differing 512-byte sector.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img

cd "$WORK"
# same_out WHAT CMD...: p2v img CMD... and qemu-img CMD... print the same
# stdout and exit with the same status.
same_out() {
    local what=$1 qrc=0 prc=0
    shift
    qemu-img "$@" >q.out 2>/dev/null || qrc=$?
    "$P2V" img "$@" >p.out 2>p.err || prc=$?
    check_eq "$what: exit status" "$qrc" "$prc" >/dev/null
    cmp -s q.out p.out || { diff q.out p.out >&2 || true; fail "$what: output differs from qemu-img"; }
}

# Raw files: virtual sizes across the unit boundaries; some data for the
# disk size line (200704 bytes allocated = "196 KiB").
for n in 0 512 1024 200704 512000 1022976 1023488 1024000 1048576 1572864 134217728 \
    1073741312 1073741824 1610612736 1048064000 5368709120 1099511627776; do
    truncate -s "$n" s$n.raw
    same_out "raw $n" info s$n.raw
done
head -c 200704 /dev/urandom >alloc.raw
truncate -s 128M alloc.raw
same_out "raw with 196 KiB allocated" info alloc.raw
grep -qx "virtual size: 128 MiB (134217728 bytes)" p.out || fail "$(cat p.out)"
pass "raw info text equal to qemu-img's"

qemu-img create -q -f qcow2 q128.qcow2 128M
qemu-img create -q -f qcow2 -o cluster_size=4096 q15.qcow2 1536M
qemu-img convert -O qcow2 alloc.raw alloc.qcow2
qemu-img create -q -f qcow2 -b alloc.qcow2 -F qcow2 over.qcow2
for img in q128.qcow2 q15.qcow2 alloc.qcow2 over.qcow2; do
    same_out "$img" info $img
done
grep -qx "virtual size: 1.5 GiB (1610612736 bytes)" <(qemu-img info q15.qcow2) || fail "qemu-img changed"
pass "qcow2 info text equal to qemu-img's"

# compare: mismatch in the common part (no size warning), equal with a
# longer zero tail, a non-zero tail, and offsets inside a sector.
truncate -s 1M a.raw
truncate -s 2M b.raw
printf x | dd of=b.raw bs=1 seek=100 conv=notrunc status=none
truncate -s 2M c.raw
truncate -s 2M d.raw
printf y | dd of=d.raw bs=1 seek=1500000 conv=notrunc status=none
truncate -s 1M e.raw
printf z | dd of=e.raw bs=1 seek=70000 conv=notrunc status=none
qemu-img convert -O qcow2 e.raw e.qcow2
qemu-img convert -O qcow2 b.raw b.qcow2
for pair in "a.raw b.raw" "b.raw a.raw" "a.raw c.raw" "c.raw a.raw" "a.raw d.raw" "d.raw a.raw" \
    "a.raw e.raw" "a.raw e.qcow2" "e.qcow2 b.qcow2" "a.raw b.qcow2" "c.raw d.raw"; do
    same_out "compare $pair" compare $pair
done
"$P2V" img compare a.raw b.raw >p.out || true
check_eq "mismatch in the common part, no size warning" "Content mismatch at offset 0!" "$(cat p.out)"
pass "compare output and exit status equal to qemu-img's"
