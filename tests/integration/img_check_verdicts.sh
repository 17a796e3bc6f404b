#!/bin/bash
# `p2v img check` gives qemu-img's verdict on damaged qcow2 images, judged
# against qemu-img itself: the same exit status and the same corruption and
# leak counts (JSON) for an image cut off inside its L1 table, an L1 entry
# pointing into the header cluster (offset 0 with only COPIED set, and an
# unaligned offset inside it), no refcount table (refcount_table_clusters 0),
# and a backing file that is missing (no check: exit 1).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img qemu-io jq python3

cd "$WORK"
qemu-img create -q -f qcow2 good.qcow2 64M
qemu-io -c "write -P 0x11 0 1M" good.qcow2 >/dev/null
l1=$(python3 -c 'import struct; print(struct.unpack_from(">Q", open("good.qcow2","rb").read(), 40)[0])')

poke() { # FILE OFFSET FORMAT VALUE
    python3 -c 'import struct, sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(struct.pack(sys.argv[3], int(sys.argv[4], 0)))' "$@"
}
cp good.qcow2 cut.qcow2 && truncate -s $((l1 + 4)) cut.qcow2
cp good.qcow2 l1hdr.qcow2 && poke l1hdr.qcow2 "$l1" '>Q' 0x8000000000000000
cp good.qcow2 l1hdr512.qcow2 && poke l1hdr512.qcow2 "$l1" '>Q' 0x8000000000000200
cp good.qcow2 norefs.qcow2 && poke norefs.qcow2 56 '>I' 0

same_verdict() { # FILE
    local q=0 p=0
    qemu-img check --output=json "$1" >q.json 2>/dev/null || q=$?
    "$P2V" img check --output=json "$1" >p.json 2>/dev/null || p=$?
    check_eq "$1: exit status (qemu-img $q)" "$q" "$p"
    for k in corruptions leaks check-errors; do
        check_eq "$1: $k" "$(jq ".\"$k\" // 0" q.json)" "$(jq ".\"$k\" // 0" p.json)"
    done
}
same_verdict good.qcow2
same_verdict cut.qcow2
same_verdict l1hdr.qcow2
same_verdict l1hdr512.qcow2
same_verdict norefs.qcow2
check_eq "cut inside L1: corruption" 2 "$(set +e; "$P2V" img check cut.qcow2 >/dev/null 2>&1; echo $?)"

qemu-img create -q -f qcow2 base.qcow2 64M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
rm base.qcow2
q=0
qemu-img check overlay.qcow2 >/dev/null 2>&1 || q=$?
expect_exit "$q" "$P2V" img check overlay.qcow2
grep -q "overlay.qcow2: cannot open backing file: base.qcow2: No such file or directory" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "missing backing file: message"; }
pass "missing backing file: exit $q like qemu-img, naming it"
