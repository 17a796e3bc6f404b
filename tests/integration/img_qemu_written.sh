#!/bin/bash
# Images written by qemu-img (cluster sizes 512 B to 2 MiB, compat 0.10 and
# 1.1, compressed with zlib and zstd, zero clusters and holes, a backing chain
# of depth 3 down to a raw file with relative names): p2v's reader returns the
# bytes qemu-img convert -O raw returns, and p2v img info/map/check print the
# same JSON as qemu-img on the fields both have.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$P2V_SRC/tests/lib/qcow2.sh"
need qemu-img qemu-io jq python3

mkdata "$WORK/src.raw" $((4 * 1048576)) dense

same_as_qemu() { # WHAT IMAGE
    local what=$1 img=$2
    qemu-img convert -O raw "$img" "$WORK/expect.raw"
    expect_exit 0 "$P2V" img compare "$img" "$WORK/expect.raw"
    expect_exit 0 "$P2V" img compare "$WORK/expect.raw" "$img"
    json_same_as_qemu "$what" "$img"
    pass "$what"
}

for cs in 512 4096 65536 2097152; do
    for compat in 0.10 1.1; do
        for comp in none zlib zstd; do
            [ "$comp" = zstd ] && [ "$compat" = 0.10 ] && continue
            o="cluster_size=$cs,compat=$compat"
            [ "$comp" = zstd ] && o+=",compression_type=zstd"
            c=(); [ "$comp" != none ] && c=(-c)
            img=$WORK/q.qcow2
            qemu-img convert -f raw -O qcow2 -o "$o" "${c[@]}" "$WORK/src.raw" "$img"
            # Zero clusters (v3 zero flag or v2 deallocation) and a hole in
            # the middle of data, then a partial overwrite.
            io=(-c "write -z $cs $cs")
            [ $((cs * 9)) -le $((4 * 1048576)) ] && io+=(-c "discard $((cs * 8)) $cs")
            qemu-io "${io[@]}" -c "write -P 0x5a 1000 3000" "$img" >/dev/null
            same_as_qemu "qemu cs=$cs compat=$compat comp=$comp" "$img"
        done
    done
done

# An image qemu-img created sparse: its map must report the holes as zero.
qemu-img create -q -f qcow2 "$WORK/sparse.qcow2" 64M
qemu-io -c "write -P 7 1M 64k" -c "write -P 8 40M 128k" "$WORK/sparse.qcow2" >/dev/null
same_as_qemu "sparse" "$WORK/sparse.qcow2"
holes=$("$P2V" img map --output=json "$WORK/sparse.qcow2" | jq '[.[] | select(.data == false and .zero == true)] | length')
[ "$holes" -ge 3 ] || fail "expected at least 3 hole extents, got $holes"

# Every refcount width from 1 to 64 bits, intact and with a doubly used cluster.
for rb in 1 2 4 8 32 64; do
    qemu-img convert -f raw -O qcow2 -o refcount_bits=$rb,cluster_size=4096 "$WORK/src.raw" "$WORK/rb.qcow2"
    same_as_qemu "refcount_bits=$rb" "$WORK/rb.qcow2"
    $POKE "$WORK/rb.qcow2" l2-dup
    json_same "refcount_bits=$rb, cluster used twice" 'del(.filename)' \
        qemu-img check --output=json "$WORK/rb.qcow2" -- "$P2V" img check --output=json "$WORK/rb.qcow2"
done

# Internal snapshots: their L1/L2 tables count in the refcounts (shared
# clusters have refcount > 1 and no COPIED flag).
qemu-img create -q -f qcow2 "$WORK/snap.qcow2" 8M
qemu-io -c "write -P 1 0 1M" "$WORK/snap.qcow2" >/dev/null
qemu-img snapshot -c s1 "$WORK/snap.qcow2"
qemu-io -c "write -P 2 512k 1M" "$WORK/snap.qcow2" >/dev/null
qemu-img snapshot -c s2 "$WORK/snap.qcow2"
qemu-io -c "write -z 0 64k" "$WORK/snap.qcow2" >/dev/null
same_as_qemu "internal snapshots" "$WORK/snap.qcow2"
$POKE "$WORK/snap.qcow2" ref-dec
json_same "snapshots, damaged refcount" 'del(.filename)' qemu-img check --output=json "$WORK/snap.qcow2" -- \
    "$P2V" img check --output=json "$WORK/snap.qcow2"

# A dirty image (lazy refcounts, writer killed): refcounts not yet written,
# which both checks report alike; the data still reads the same.
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$WORK/dirty.qcow2" 8M
(qemu-io -c "write -P 3 0 256k" -c "write -P 4 1M 64k" -c abort "$WORK/dirty.qcow2" >/dev/null 2>&1) 2>/dev/null || true
check_eq "dirty flag" true "$("$P2V" img info --output=json "$WORK/dirty.qcow2" | jq '."dirty-flag"')"
same_as_qemu "dirty image" "$WORK/dirty.qcow2"

# A chain of depth 3 over a raw base, with relative backing names resolved
# from each image's own directory, and an overlay larger than its backing.
mkdir -p "$WORK/chain/sub"
head -c $((2 * 1048576)) "$WORK/src.raw" >"$WORK/chain/base.raw"
(
    cd "$WORK/chain"
    qemu-img create -q -f qcow2 -b ../base.raw -F raw sub/mid1.qcow2 3M
    qemu-io -c "write -P 1 64k 64k" -c "write -z 1M 64k" sub/mid1.qcow2 >/dev/null
    qemu-img create -q -f qcow2 -o cluster_size=4096 -b mid1.qcow2 -F qcow2 sub/mid2.qcow2 4M
    qemu-io -c "write -P 2 100k 8k" -c "write -P 3 2500k 64k" sub/mid2.qcow2 >/dev/null
    qemu-img create -q -f qcow2 -b sub/mid2.qcow2 -F qcow2 top.qcow2 6M
    qemu-io -c "write -P 4 0 4k" -c "write -z 128k 64k" -c "write -P 5 5M 64k" top.qcow2 >/dev/null
)
same_as_qemu "chain depth 3" "$WORK/chain/top.qcow2"
(cd "$WORK/chain/sub" && same_as_qemu "chain from another directory" ../top.qcow2)
depth=$("$P2V" img map --output=json "$WORK/chain/top.qcow2" | jq '[.[].depth] | max')
check_eq "deepest layer in the map" 3 "$depth"

# A missing backing file is an error naming it, not zeros.
mv "$WORK/chain/base.raw" "$WORK/chain/gone.raw"
expect_exit 2 "$P2V" img compare "$WORK/chain/top.qcow2" "$WORK/expect.raw"
grep -q "base.raw" "$WORK/last.err" || fail "missing backing file not named: $(cat "$WORK/last.err")"

# Extended L2 entries are detected and refused clearly.
qemu-img create -q -f qcow2 -o extended_l2=on "$WORK/ext.qcow2" 1M
check_eq "extended-l2 in info" true \
    "$("$P2V" img info --output=json "$WORK/ext.qcow2" | jq '."format-specific".data."extended-l2"')"
expect_exit 2 "$P2V" img compare "$WORK/ext.qcow2" "$WORK/ext.qcow2"
grep -q "extended L2 entries.*not supported" "$WORK/last.err" || fail "no clear extended L2 message"
pass "qemu-written images read identically"
