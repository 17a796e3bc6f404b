#!/bin/bash
# Seeds of fuzz_fsresize: a small NTFS volume (mkntfs, two files written with
# ntfscp) and the fuzz_fsmap seeds, each behind the 8 bytes that choose the
# new size (here: a quarter of the volume; the fuzzer varies it).
# usage: fuzz/make-resize-seeds.sh   (writes fuzz/corpus/fuzz_fsresize)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/fuzz_fsresize
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
le64() { python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<Q", int(sys.argv[1])))' "$1"; }
truncate -s 1100K "$tmp/ntfs"
mkntfs -q -F -Q -c 512 "$tmp/ntfs" >/dev/null 2>&1
head -c 100000 /dev/zero | tr '\0' 'a' >"$tmp/a"
ntfscp -q "$tmp/ntfs" "$tmp/a" a.txt >/dev/null
{ le64 1024; cat "$tmp/ntfs"; } >"$out/ntfs-1m-shrink"
for f in "$here"/corpus/fuzz_fsmap/*; do
    { le64 4096; cat "$f"; } >"$out/fsmap-$(basename "$f")"
done
