#!/bin/bash
# Images written by p2v's qcow2 writer (cluster sizes 512 B to 2 MiB,
# uncompressed / zlib / zstd, compat 0.10 and 1.1, dense and sparse data,
# sizes not a multiple of the cluster size) are clean for qemu-img check,
# hold exactly the raw data for qemu-img compare, never allocate an all-zero
# cluster, and p2v img info/check/map agree with qemu-img's JSON.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$P2V_SRC/tests/lib/qcow2.sh"
need qemu-img jq python3

mkdata "$WORK/dense.raw" $((3 * 1048576 + 3584)) dense
mkdata "$WORK/sparse.raw" $((6 * 1048576 + 512)) sparse

for cs in 512 4096 65536 2097152; do
    for comp in none zlib zstd; do
        for data in dense sparse; do
            raw=$WORK/$data.raw img=$WORK/out.qcow2
            compat=1.1
            [ "$comp" = zlib ] && [ "$data" = dense ] && compat=0.10
            opts=(--cluster-size "$cs" --compat "$compat")
            [ "$comp" != none ] && opts+=("--compress=$comp")
            what="cs=$cs comp=$comp compat=$compat $data"
            "$P2V" img convert -f "${opts[@]}" "$raw" "$img" || fail "$what: p2v img convert"
            expect_exit 0 qemu-img check "$img"
            expect_exit 0 qemu-img compare -q -f raw -F qcow2 "$raw" "$img"
            info=$(qemu-img info --output=json "$img")
            check_eq "$what virtual-size" "$(stat -c %s "$raw")" "$(jq '."virtual-size"' <<<"$info")"
            check_eq "$what cluster-size" "$cs" "$(jq '."cluster-size"' <<<"$info")"
            check_eq "$what compat" "$compat" "$(jq -r '."format-specific".data.compat' <<<"$info")"
            want_ct=zlib; [ "$comp" = zstd ] && want_ct=zstd
            check_eq "$what compression-type" "$want_ct" \
                "$(jq -r '."format-specific".data."compression-type"' <<<"$info")"
            chk=$(qemu-img check --output=json "$img")
            check_eq "$what allocated clusters = non-zero clusters" \
                "$(nonzero_clusters "$raw" "$cs")" "$(jq '."allocated-clusters" // 0' <<<"$chk")"
            json_same_as_qemu "$what" "$img"
            expect_exit 0 "$P2V" img compare "$raw" "$img"
        done
    done
done
pass "p2v-written images agree with qemu-img"
