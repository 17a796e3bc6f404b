#!/bin/bash
# Write the seed corpus of fuzz_iso: a small ISO 9660 image (Joliet and Rock
# Ridge, no padding) of one driver directory from the test tree maker, and
# the same without extensions.
# usage: fuzz/make-iso-seeds.sh   (writes fuzz/corpus/fuzz_iso)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/../tests/lib/mkvirtio.sh" tree "$tmp/t" per-driver
mkdir -p "$tmp/s/viostor/w10/amd64"
cp "$tmp/t/viostor/w10/amd64/viostor.inf" "$tmp/t/viostor/w10/amd64/viostor.sys" "$tmp/s/viostor/w10/amd64/"
out=$here/corpus/fuzz_iso
mkdir -p "$out"
xorriso -as mkisofs -quiet -no-pad -J -R -V SEED -o "$out/viostor-jr.iso" "$tmp/s" 2>/dev/null
xorriso -as mkisofs -quiet -no-pad -V SEED -o "$out/viostor-plain.iso" "$tmp/s" 2>/dev/null
