#!/bin/bash
# Benchmark of p2v's qcow2 writer (not a test). usage: bench/qcow2-writer.sh [DIR]
#  1. throughput: a 4 GiB raw file of mixed clusters (2/3 data, 1/3 zero)
#     written by `p2v img convert` and by `qemu-img convert -f raw -O qcow2`,
#     one after the other in this run, page cache dropped before each when
#     possible; both outputs verified with qemu-img check and compare;
#     also with zlib compression (-c) on the first 1 GiB;
#  2. memory: 100 GiB of data into a 2 TiB virtual disk through the writer
#     API, peak RSS reported (see qcow2-writer-mem.c).
# Results are printed as Markdown lines for docs/BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /var/tmp/p2v-bench.XXXXXX)}
mkdir -p "$dir"
trap 'rm -f "$dir"/src.raw "$dir"/src1g.raw "$dir"/*.qcow2 "$dir"/mem-bench' EXIT
# Its own optimised build (Release, warnings not fatal: the benchmark must not
# depend on the compiler's warning set).
cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-Wno-error=format-truncation >/dev/null
cmake --build "$root/build-bench" -j2 >/dev/null
P2V=$root/build-bench/p2v

python3 - "$dir/src.raw" <<'PY'
import os, sys
cl = 65536
data = os.urandom(cl * 64)
zero = bytes(cl)
with open(sys.argv[1], "wb") as f:
    for i in range(4 * 16384):          # 4 GiB of 64 KiB clusters
        if i % 3 == 2:
            f.write(zero)
        elif i % 3 == 1:                 # compressible text
            f.write(((b"cluster %08d of p2v benchmark data " % i) * (cl // 30))[:cl])
        else:
            f.write(data[(i % 64) * cl:(i % 64 + 1) * cl])
PY
head -c $((1 << 30)) "$dir/src.raw" >"$dir/src1g.raw"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk "BEGIN{print $t1 - $t0}"; }

run_pair() { # LABEL SRC P2V_OPTS QEMU_OPTS
    local label=$1 src=$2 popts=$3 qopts=$4 tp tq tps tqs
    drop; tp=$(secs "$P2V" img convert -f $popts "$src" "$dir/p.qcow2")
    tps=$(secs sync)
    drop; tq=$(secs qemu-img convert -f raw -O qcow2 $qopts "$src" "$dir/q.qcow2")
    tqs=$(secs sync)
    qemu-img check -q "$dir/p.qcow2"
    qemu-img compare -q -f raw -F qcow2 "$src" "$dir/p.qcow2"
    local sp sq
    sp=$(stat -c %s "$dir/p.qcow2"); sq=$(stat -c %s "$dir/q.qcow2")
    printf '| %s | %.2f s (+%.2f s sync) | %.2f s (+%.2f s sync) | %.2f | %.2f | %s / %s |\n' \
        "$label" "$tp" "$tps" "$tq" "$tqs" "$(awk "BEGIN{print $tq / $tp}")" \
        "$(awk "BEGIN{print ($tq + $tqs) / ($tp + $tps)}")" "$sp" "$sq"
}

echo "machine: $(nproc) cores, $(uname -r), qemu-img $(qemu-img --version | head -1 | awk '{print $3}'), $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | p2v img convert (syncs itself) | qemu-img convert (no sync) | throughput p2v/qemu | same, qemu + sync | file bytes p2v / qemu |"
echo "| --- | --- | --- | --- | --- | --- |"
run_pair "4 GiB mixed, uncompressed" "$dir/src.raw" "" ""
run_pair "1 GiB mixed, zlib" "$dir/src1g.raw" "-c" "-c"
run_pair "1 GiB mixed, zstd" "$dir/src1g.raw" "-czstd" "-c -o compression_type=zstd"
rm -f "$dir/src.raw" "$dir/src1g.raw" "$dir"/*.qcow2

cc -O2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$root/src" "$root/bench/qcow2-writer-mem.c" \
    "$root/build-bench/libp2vcore.a" $(pkg-config --libs zlib libzstd blkid ext2fs com_err libntfs-3g) \
    -lpthread -lm -o "$dir/mem-bench"
echo
echo "memory: $("$dir/mem-bench" "$dir/mem.qcow2" 100 2048)"
qemu-img check -q "$dir/mem.qcow2"
rm -f "$dir/mem.qcow2"
