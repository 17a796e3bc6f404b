#!/bin/bash
# An NTFS volume grown far beyond what its free space can hold a $Bitmap for
# (issue 24 item 4): 64 MiB with 4 KiB clusters, about 70 % full (19 MiB
# free), grown to 8 GiB (raw output, sparse) and to 1 TiB (qcow2 output),
# whose $Bitmap of 32 MiB only fits in the new space. After each:
# ntfsfix -n clean, ntfsresize --info and --check accept it, ntfsinfo -m and
# ntfscluster --info agree (tests/lib/ntfs_fit.sh), $Bitmap has a run in
# the new space (1 TiB), every file's sha256 equals the source's, the output
# stays sparse.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
need sfdisk jq mkntfs ntfscp ntfscat ntfsfix ntfsresize ntfsinfo ntfscluster qemu-img python3 sha256sum
cd "$WORK"

# extract RAW OFFSET LEN OUT: LEN bytes of RAW from OFFSET into a sparse OUT
# (only RAW's data extents are read: a 1 TiB image takes a moment).
extract() {
    python3 - "$@" <<'PY'
import os, sys
src, off, ln, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fi = os.open(src, os.O_RDONLY)
fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fo, ln)
pos = off
while pos < off + ln:
    try:
        d = os.lseek(fi, pos, os.SEEK_DATA)
    except OSError:
        break
    if d >= off + ln:
        break
    h = min(os.lseek(fi, d, os.SEEK_HOLE), off + ln)
    while d < h:
        b = os.pread(fi, min(h - d, 1 << 20), d)
        if b.count(0) != len(b):
            os.pwrite(fo, b, d - off)
        d += len(b)
    pos = h
PY
}

truncate -s 66M src.img
echo "start=2048, size=$((64 * 2048)), type=7" | sfdisk -q src.img
truncate -s 64M src.part
mkntfs -q -F -Q -c 4096 -p 2048 -H 255 -S 63 src.part >/dev/null 2>&1
mkdir files
for i in 1 2 3 4 5 6 7 8 9; do
    head -c $(( (5 << 20) - i * 4096 )) /dev/urandom >"files/f$i.bin"
    ntfscp -q src.part "files/f$i.bin" "f$i.bin" >/dev/null
done
src_used=$(ntfsresize --info --no-action -f src.part 2>&1 | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
[ "$src_used" -gt $((44 << 20)) ] || fail "the source is not full enough: $src_used bytes used"
dd if=src.part of=src.img bs=1M seek=1 conv=notrunc status=none
src_sum=$(sha256sum <src.img)

# check NAME RAW BYTES: partition 1 of RAW is the source volume grown to BYTES.
check() {
    local name=$1 raw=$2 want=$3 size cs info f n=0
    size=$(( $(sfdisk --json "$raw" | jq '.partitiontable.partitions[0].size') * 512 ))
    check_eq "$name: partition bytes" "$want" "$size"
    extract "$raw" $((1 << 20)) "$size" "$name.part"
    ntfsfix -n "$name.part" >"$name.fix" 2>&1 || { cat "$name.fix" >&2; fail "$name: ntfsfix -n"; }
    ! grep -qiE 'bad|corrupt|error' "$name.fix" || { cat "$name.fix" >&2; fail "$name: ntfsfix -n complains"; }
    cs=4096
    info=$(ntfsresize --info --no-action -f "$name.part" 2>&1) ||
        { echo "$info" >&2; fail "$name: ntfsresize --info"; }
    grep -q "Current volume size: $(( (size / 512 - 1) / 8 * cs + 512 )) bytes" <<<"$info" ||
        fail "$name: ntfsresize --info volume size: $(grep Current <<<"$info")"
    ntfsresize --check -f "$name.part" >"$name.chk" 2>&1 ||
        { cat "$name.chk" >&2; fail "$name: ntfsresize --check"; }
    ntfs_tools_check "$name" "$name.part" src.part $(( (size / 512 - 1) / 8 ))
    for f in files/*.bin; do
        [ "$(ntfscat "$name.part" "$(basename "$f")" 2>/dev/null | sha256sum)" = "$(sha256sum <"$f")" ] ||
            fail "$name: $(basename "$f") differs"
        n=$((n + 1))
    done
    pass "$name: grown to $want bytes, ntfsfix -n, ntfsresize --info/--check clean, $n files equal"
}

expect_exit 0 "$P2V" convert -O raw -o g8.raw src.img:1=8G
grep -q "NTFS grown to 8.0 GiB" "$WORK/last.err" || fail "8G: no notice: $(cat "$WORK/last.err")"
[ "$(du -k g8.raw | cut -f1)" -lt $((80 << 10)) ] || fail "g8.raw is not sparse: $(du -k g8.raw)"
check g8 g8.raw $(( (8 << 30) ))

expect_exit 0 "$P2V" convert -o t1.qcow2 src.img:1=1T
grep -q "NTFS grown to 1.0 TiB" "$WORK/last.err" || fail "1T: no notice: $(cat "$WORK/last.err")"
qemu-img check t1.qcow2 >/dev/null || fail "1T: qemu-img check"
[ "$(du -k t1.qcow2 | cut -f1)" -lt $((80 << 10)) ] || fail "t1.qcow2 is too large: $(du -k t1.qcow2)"
qemu-img convert -O raw t1.qcow2 t1.raw
rm t1.qcow2
check t1 t1.raw $(( (1 << 40) ))
# 268435455 clusters need a $Bitmap of 32 MiB; 19 MiB were free: some of it
# lies past the old volume's 16383 clusters.
ntfsinfo -i 6 t1.part >t1.bitmap 2>&1 || fail "ntfsinfo -i 6"
grep -q "Allocated Size:[[:space:]]*33554432" t1.bitmap || fail "1T: \$Bitmap size: $(grep -i allocated t1.bitmap)"
used=$(ntfsresize --info --no-action -f t1.part 2>&1 | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
[ "$used" -ge $((src_used + (30 << 20))) ] || fail "1T: $used bytes used, the new \$Bitmap not counted"
pass "1T: \$Bitmap of 32 MiB, $used bytes used (source $src_used)"

check_eq "source unchanged" "$src_sum" "$(sha256sum <src.img)"
