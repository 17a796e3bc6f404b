#!/bin/bash
# Write the seed corpus of fuzz_inf from the test tree maker: one ANSI INF
# (viostor, per-OS decoration) and one UTF-16LE INF (netkvm).
# usage: fuzz/make-inf-seeds.sh   (writes fuzz/corpus/fuzz_inf)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/../tests/lib/mkvirtio.sh" tree "$tmp/t" per-driver
out=$here/corpus/fuzz_inf
mkdir -p "$out"
cp "$tmp/t/viostor/w10/amd64/viostor.inf" "$out/viostor-w10-amd64.inf"
cp "$tmp/t/NetKVM/w7/x86/netkvm.inf" "$out/netkvm-w7-x86-utf16.inf"
