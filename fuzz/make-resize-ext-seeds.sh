#!/bin/bash
# Seeds of fuzz_fsresize_ext: small ext filesystems made by mke2fs (ext4
# defaults with one or many groups, ext2, meta_bg, sparse_super2, no resize inode), each with a
# file, behind the 8 bytes that choose the new size (here: four times the
# filesystem; the fuzzer varies it).
# usage: fuzz/make-resize-ext-seeds.sh   (writes fuzz/corpus/fuzz_fsresize_ext)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/fuzz_fsresize_ext
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/files"
le64() { python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<Q", int(sys.argv[1])))' "$1"; }
seq 1 3000 >"$tmp/files/n.txt"
seed() { # seed NAME SIZE MKFS...
    local name=$1 size=$2
    shift 2
    rm -f "$tmp/img"
    truncate -s "$size" "$tmp/img"
    "$@" -q -F -b 1024 -E nodiscard -d "$tmp/files" "$tmp/img" >/dev/null 2>&1
    { le64 $(($(stat -c %s "$tmp/img") * 4 / 512)); cat "$tmp/img"; } >"$out/$name"
}
seed ext4-256k 256K mkfs.ext4 -N 32
seed ext4-groups-256k 256K mkfs.ext4 -N 32 -g 256
seed ext2-128k 128K mkfs.ext2 -N 16
seed meta-bg-256k 256K mkfs.ext4 -N 32 -O meta_bg,^resize_inode -g 1024
seed sparse-super2-256k 256K mkfs.ext4 -N 32 -O sparse_super2 -g 1024
seed no-resize-256k 256K mkfs.ext4 -N 32 -O ^resize_inode -g 1024
