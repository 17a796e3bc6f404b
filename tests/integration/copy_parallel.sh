#!/bin/bash
# The same image whatever the machine: `p2v convert` and `p2v img convert`
# with one or many source reads in flight (--queue-depth), one or many
# compressing threads (-j) and any compression level write images that
# qemu-img checks clean and compares equal; for the same options but -j or
# --queue-depth the file is byte for byte the same (the clusters stay in
# order). Bad values are usage errors. P2V_DEBUG=timing says where the time went.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk qemu-img python3 mkfs.ext4 debugfs e2fsck cmp

cd "$WORK"
# Source: GPT, 1 = ext4 over random bytes with every other file deleted (a
# fragmented used map), 2 = no filesystem: text, zeros and random bytes.
python3 - <<'PY'
import os, random
rng = random.Random(17)
os.makedirs("files", exist_ok=True)
for i in range(120):
    with open(f"files/f{i:03d}", "wb") as f:
        f.write(os.urandom(rng.choice([3000, 20000, 70000, 300000])))
words = b"the quick brown fox jumps over the lazy dog p2v qcow2 cluster ".split()
with open("mixed.bin", "wb") as f:
    for k in range(256):          # 16 MiB in 64 KiB pieces
        kind = k % 4
        if kind == 0:
            f.write(b" ".join(rng.choice(words) for _ in range(12000))[:65536].ljust(65536, b"."))
        elif kind == 1:
            f.write(bytes(65536))
        else:
            f.write(os.urandom(65536))
PY
head -c 24M /dev/urandom > ext4.img
mkfs.ext4 -q -F -E nodiscard -d files ext4.img
for i in $(seq 0 2 119); do printf 'rm /f%03d\n' "$i"; done > rm.cmds
debugfs -w -f rm.cmds ext4.img >/dev/null 2>&1
e2fsck -fn ext4.img >/dev/null || fail "the source ext4 does not check clean"
truncate -s 42M disk.img
printf 'label: gpt\nstart=2048, size=49152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=51200, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
    sfdisk -q disk.img
dd if=ext4.img of=disk.img bs=1M seek=1 conv=notrunc status=none
dd if=mixed.bin of=disk.img bs=1M seek=25 conv=notrunc status=none

conv() { # NAME ARGS...: p2v convert of both partitions into NAME
    local name=$1
    shift
    "$P2V" convert "$@" -o "$name" disk.img:1 disk.img:2 2>"$name.err" ||
        fail "p2v convert $* failed: $(cat "$name.err")"
    case $name in *.qcow2) qemu-img check -q "$name" || fail "qemu-img check of $name ($*)" ;; esac
}

# A convert gives each image a fresh disk GUID, so images of the same
# partitions differ in their tables: compare the partitions' bytes (1 MiB
# to 41 MiB of the disk) and which clusters are allocated.
parts_of() { # IMAGE: its partitions' bytes as a raw file IMAGE.parts
    qemu-img convert -O raw "$1" "$1.full"
    dd if="$1.full" of="$1.parts" bs=1M skip=1 count=40 status=none
    rm -f "$1.full"
}
alloc_of() { qemu-img map --output=json "$1" | python3 -c '
import json, sys
print([(e["start"], e["length"], e["data"], e["zero"]) for e in json.load(sys.stdin)])'; }
same_parts() { # A B WHAT: the same partitions' bytes
    parts_of "$2"
    cmp -s "$1.parts" "$2.parts" || fail "$3: partitions differ from $1"
}
same_alloc() { # A B WHAT: the same clusters allocated, the same way
    [ "$(alloc_of "$1")" = "$(alloc_of "$2")" ] || fail "$3: other clusters allocated than in $1"
}
same_disk() { same_parts "$@"; same_alloc "$@"; }

# Uncompressed: every queue depth gives the same disk.
conv ref.qcow2 --queue-depth 1
parts_of ref.qcow2
# the used copy of the ext4 checks clean; the other partition is copied whole
head -c 24M ref.qcow2.parts > ref.ext4
e2fsck -fn ref.ext4 >/dev/null 2>&1 || fail "the copied ext4 does not check clean"
cmp -s <(tail -c 16M ref.qcow2.parts) mixed.bin || fail "partition 2 differs from the source"
for qd in 2 3 16; do
    conv "qd$qd.qcow2" --queue-depth "$qd"
    same_disk ref.qcow2 "qd$qd.qcow2" "--queue-depth $qd"
done
pass "convert --queue-depth 1, 2, 3, 16: the same partitions, the same clusters allocated"
conv ref.raw -O raw --queue-depth 4
parts_of ref.raw
cmp -s ref.qcow2.parts ref.raw.parts || fail "raw and qcow2 output differ"
pass "raw output (4 reads in flight) holds the same partitions"

# Compressed: every thread count gives the same disk; levels change the
# size, never the content.
for c in zstd zlib; do
    conv "$c-j1.qcow2" -c "$c" -j 1
    same_parts ref.qcow2 "$c-j1.qcow2" "-c $c -j 1"
    for j in 2 3 16; do
        conv "$c-j$j.qcow2" -c "$c" -j "$j" --queue-depth 3
        same_parts ref.qcow2 "$c-j$j.qcow2" "-c $c -j $j"
        same_alloc "$c-j1.qcow2" "$c-j$j.qcow2" "-c $c -j $j"
        [ "$(stat -c %s "$c-j1.qcow2")" = "$(stat -c %s "$c-j$j.qcow2")" ] ||
            fail "-c $c -j $j: another file size than -j 1"
    done
done
pass "convert -c zstd|zlib -j 1, 2, 3, 16: the same disk as uncompressed, the same file size"
size() { stat -c %s "$1"; }
for spec in zstd:1 zstd:19 zlib:1 zlib:9; do
    conv "${spec/:/-}.qcow2" -c "$spec"
    same_parts ref.qcow2 "${spec/:/-}.qcow2" "-c $spec"
done
[ "$(size zstd-19.qcow2)" -lt "$(size zstd-1.qcow2)" ] || fail "zstd:19 is not smaller than zstd:1"
[ "$(size zlib-9.qcow2)" -le "$(size zlib-1.qcow2)" ] || fail "zlib:9 is larger than zlib:1"
qemu-img info zstd-19.qcow2 | grep -q 'compression type: zstd' || fail "zstd:19 is not zstd"
pass "levels: zstd:19 $(size zstd-19.qcow2) < zstd:1 $(size zstd-1.qcow2) bytes; zlib:9 <= zlib:1; content equal"

# img convert (no new identity): the very same file, clusters in order.
"$P2V" img convert --queue-depth 1 disk.img i1.qcow2
"$P2V" img convert --queue-depth 8 disk.img i8.qcow2
cmp -s i1.qcow2 i8.qcow2 || fail "img convert --queue-depth 8 differs from 1"
"$P2V" img convert -c zstd:7 -j 1 disk.img iz1.qcow2
"$P2V" img convert -c zstd:7 -j 4 disk.img iz4.qcow2
cmp -s iz1.qcow2 iz4.qcow2 || fail "img convert -c zstd:7 -j 4 differs from -j 1"
"$P2V" img convert -c zlib:9 -j 2 disk.img izl.qcow2
for f in i1.qcow2 iz4.qcow2 izl.qcow2; do
    qemu-img check -q "$f" || fail "qemu-img check of $f"
    qemu-img compare -q -F raw "$f" disk.img || fail "$f differs from disk.img"
done
pass "img convert: --queue-depth 1/8 and -j 1/4 give the same file; zstd:7, zlib:9 equal to the source"

# P2V_DEBUG=timing: one line about the copy's stages.
P2V_DEBUG=timing "$P2V" img convert --queue-depth 3 disk.img t.qcow2 2>timing.err
grep -q '^p2v: timing: copy .* 3 readers: .* waiting for data' timing.err ||
    fail "no timing line: $(cat timing.err)"
P2V_DEBUG=timing "$P2V" convert -o t2.qcow2 disk.img:1 2>timing2.err
grep -q '^p2v: timing: copy .* 4 readers' timing2.err || fail "no timing line: $(cat timing2.err)"
"$P2V" img convert disk.img t3.qcow2 2>quiet.err
[ ! -s quiet.err ] || fail "img convert printed without P2V_DEBUG: $(cat quiet.err)"
pass "P2V_DEBUG=timing prints the stage timers (default queue depth 4), nothing without it"

# Usage errors (exit 2), nothing written.
for bad in "-j 0" "-j 257" "-j x" "--queue-depth 0" "--queue-depth 17" "-c zstd:0" \
    "-c zstd:20" "-c zlib:10" "-c zlib:" "-c lz4"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$P2V" convert $bad -o bad.qcow2 disk.img:1
    [ ! -e bad.qcow2 ] || fail "convert $bad left bad.qcow2"
    # shellcheck disable=SC2086
    expect_exit 2 "$P2V" img convert $bad disk.img bad.qcow2
    [ ! -e bad.qcow2 ] || fail "img convert $bad left bad.qcow2"
done
pass "bad -j, --queue-depth and levels are usage errors"
"$P2V" convert --help >help1.txt
"$P2V" img convert --help >help2.txt
grep -q -- '--queue-depth N' help1.txt || fail "convert --help lacks --queue-depth"
grep -q -- '-j, --threads N' help1.txt || fail "convert --help lacks -j"
grep -q -- '-j, --threads N' help2.txt || fail "img convert --help lacks -j"
grep -q -- 'zstd\]\[:LEVEL\]' help2.txt || fail "img convert --help lacks the levels"
pass "both --help texts name the options"
