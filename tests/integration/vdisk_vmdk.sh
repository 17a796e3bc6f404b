#!/bin/bash
# VMDK sources: every subformat qemu-img writes (monolithicSparse,
# streamOptimized with compressed grains, twoGbMaxExtentSparse,
# monolithicFlat, twoGbMaxExtentFlat) lists, reads and converts as the raw
# disk it came from, img info/map/check as qemu-img's; a descriptor with
# several extents (flat at an offset, zero, in a subfolder); snapshots
# (parentFileNameHint); hostile files get one line and exit 1.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
source "$P2V_SRC/tests/lib/vdisk.sh"
need qemu-io
vdisk_setup

for sf in monolithicSparse streamOptimized twoGbMaxExtentSparse monolithicFlat twoGbMaxExtentFlat; do
    mkdir -p $sf
    qemu-img convert -O vmdk -o subformat=$sf "$raw" $sf/d.vmdk
    case $sf in
    monolithicSparse | streamOptimized) vdisk_same_as_raw $sf/d.vmdk "$raw" 3 ;;
    *) expect_exit 0 "$P2V" img compare $sf/d.vmdk "$raw" ;;
    esac
    vdisk_info_like_qemu $sf/d.vmdk virtual-size format cluster-size actual-size dirty-flag
    vdisk_map_like_qemu $sf/d.vmdk
    qemu-img check --output=json $sf/d.vmdk >q.json
    expect_exit 0 "$P2V" img check --output=json $sf/d.vmdk
    check_eq "img check $sf" "$(jq -S . q.json)" "$(jq -S . "$WORK/last.out")"
done
vdisk_same_as_raw twoGbMaxExtentFlat/d.vmdk "$raw" 5

# A descriptor of our own: 200 MiB flat at offset 0 of a.bin, 1 MiB further
# on in a.bin, the rest flat at sector 2048 of sub/b.bin. (qemu-img 7.2 maps
# the second extent of a.bin to offset 0 of a.bin: the raw disk is the oracle.)
size=$(stat -c %s "$raw")
zs=$((200 * 1048576)) zl=$((1048576))
cmp -s <(head -c $zl /dev/zero) <(dd if="$raw" bs=1M skip=200 count=1 status=none) ||
    fail "the sample disk is not empty at 200 MiB"
mkdir -p sub
dd if="$raw" of=a.bin bs=1M count=200 status=none
{ head -c 1048576 /dev/urandom; dd if="$raw" bs=1M skip=201 status=none; } >sub/b.bin
cat >multi.vmdk <<EOD
# Disk DescriptorFile
version=1
CID=12345678
parentCID=ffffffff
createType="monolithicFlat"

RW $((zs / 512)) FLAT "a.bin" 0
RW $((zl / 512)) FLAT "a.bin" $((zs / 512))
RW $(((size - zs - zl) / 512)) FLAT "sub/b.bin" 2048
EOD
dd if="$raw" of=a.bin bs=1M skip=200 seek=200 count=1 conv=notrunc status=none
VD_NO_QEMU=1 vdisk_same_as_raw multi.vmdk "$raw" 5
expect_exit 0 "$P2V" img map multi.vmdk
check_eq "files in the map of multi.vmdk" "a.bin sub/b.bin" \
    "$(awk 'NR > 1 { print $4 }' "$WORK/last.out" | sort -u | xargs)"
# A zero extent as VMware writes it, without a file name (qemu reads zero
# extents otherwise: no oracle but the raw disk).
sed "s/^RW $((zl / 512)) FLAT .*/RW $((zl / 512)) ZERO/" multi.vmdk >zero.vmdk
grep -q "^RW $((zl / 512)) ZERO$" zero.vmdk || fail "zero.vmdk"
expect_exit 0 "$P2V" img compare zero.vmdk "$raw"
expect_exit 0 "$P2V" img map --output=json zero.vmdk
jq -e --argjson s $zs '.[] | select(.start == $s) | .zero and .present and (.data | not)' "$WORK/last.out" >/dev/null ||
    fail "zero extent in the map: $(cat "$WORK/last.out")"
pass "a zero extent line without a file name reads as zeros"

# OUTPUT must not be any file a VMDK reads: an extent of a two-file or a
# split image, by its own name, another path or a hard link, in a parent's
# extents too, with and without --dry-run, for convert and img convert.
qemu-img create -q -f vmdk -b twoGbMaxExtentSparse/d.vmdk -F vmdk snapsplit.vmdk
ln -f sub/b.bin b-link.bin
guard_refused() { # guard_refused EXTENT OUTPUT SOURCE
    local before
    before=$(sha256sum <"$1")
    for dry in "" --dry-run; do
        expect_exit 1 "$P2V" convert $dry -f -o "$2" "$3:1"
        grep -q "OUTPUT is .*${1##*/}, an extent file of .*, one of the sources); refusing to write over it" \
            "$WORK/last.err" || fail "-o $2 from $3 $dry: $(cat "$WORK/last.err")"
    done
    expect_exit 1 "$P2V" img convert -f "$3" "$2"
    grep -q "an extent file of" "$WORK/last.err" || fail "img convert -o $2: $(cat "$WORK/last.err")"
    check_eq "$1 untouched" "$before" "$(sha256sum <"$1")"
}
guard_refused monolithicFlat/d-flat.vmdk monolithicFlat/d-flat.vmdk monolithicFlat/d.vmdk
guard_refused twoGbMaxExtentSparse/d-s001.vmdk twoGbMaxExtentSparse/d-s001.vmdk twoGbMaxExtentSparse/d.vmdk
guard_refused twoGbMaxExtentFlat/d-f001.vmdk ./twoGbMaxExtentFlat/../twoGbMaxExtentFlat/d-f001.vmdk \
    twoGbMaxExtentFlat/d.vmdk
guard_refused sub/b.bin b-link.bin multi.vmdk
guard_refused a.bin "$WORK/a.bin" multi.vmdk
guard_refused twoGbMaxExtentSparse/d-s001.vmdk twoGbMaxExtentSparse/d-s001.vmdk snapsplit.vmdk
expect_exit 0 "$P2V" convert --dry-run -o new.qcow2 multi.vmdk:1
pass "OUTPUT equal to a VMDK extent file (own, other name, hard link, a parent's) refused"

# A snapshot over the monolithicSparse disk, written by qemu-io.
qemu-img create -q -f vmdk -b monolithicSparse/d.vmdk -F vmdk snap.vmdk
qemu-io -c "write -P 0x5a 64M 192k" -c "write -z 100M 1M" snap.vmdk >/dev/null
qemu-img convert -O raw snap.vmdk snap.raw
expect_exit 0 "$P2V" img compare snap.vmdk snap.raw
vdisk_map_like_qemu snap.vmdk
vdisk_info_like_qemu snap.vmdk virtual-size format cluster-size
pass "a VMDK snapshot reads through its parent as qemu-img reads it"

# Hostile files.
poke() { # poke FILE PYTHON (f = bytearray)
    python3 - "$1" "$2" <<'PY'
import struct, sys
p, code = sys.argv[1], sys.argv[2]
f = bytearray(open(p, "rb").read())
def le32(o, v): struct.pack_into("<I", f, o, v)
def le64(o, v): struct.pack_into("<Q", f, o, v)
def u32(o): return struct.unpack_from("<I", f, o)[0]
def u64(o): return struct.unpack_from("<Q", f, o)[0]
exec(code)
open(p, "wb").write(f)
PY
}
sp=monolithicSparse/d.vmdk
sed 's/"a.bin"/"gone.bin"/' multi.vmdk >h.vmdk
vdisk_refused "a missing extent file" h.vmdk "h.vmdk: VMDK: extent file .*gone.bin not found"
sed 's/^createType=.*/createType="custom"/' multi.vmdk >h.vmdk
vdisk_refused "an unknown createType (as qemu)" h.vmdk "h.vmdk: VMDK: unsupported image type 'custom'"
sed 's/ FLAT "a.bin"/ VMFSSPARSE "a.bin"/' multi.vmdk >h.vmdk
vdisk_refused "an extent type not supported" h.vmdk "VMDK: extent type VMFSSPARSE not supported"
cp $sp h.vmdk; poke h.vmdk "le64(56, 1 << 40)"
vdisk_refused "a grain directory past the end" h.vmdk "VMDK: grain directory at sector 1099511627776 .* is past the end"
cp $sp h.vmdk; poke h.vmdk "le32(u64(56) * 512, 0x7fffffff)"
vdisk_refused "a grain table past the end" h.vmdk "VMDK: grain table 0 at offset 1099511627264 is past the end"
cp $sp h.vmdk; poke h.vmdk "le64(12, 1 << 50)"
vdisk_refused "a huge capacity" h.vmdk "VMDK: capacity of 1125899906842624 sectors is too large"
cp $sp h.vmdk; poke h.vmdk "le64(20, 3)"
vdisk_refused "a grain size not a power of two" h.vmdk "VMDK: grain of 3 sectors is not a power of two"
cp streamOptimized/d.vmdk h.vmdk
poke h.vmdk "
gd = u64(56) * 512
gt = u32(gd) * 512
g = next(u32(gt + 4 * i) for i in range(512) if u32(gt + 4 * i) > 1)
le64(g * 512, 12345)"
expect_exit 4 "$P2V" img compare h.vmdk "$raw" # 4: a read error, as qemu-img compare
grep -qE "VMDK: compressed grain [0-9]+ at offset [0-9]+: bad marker \(LBA 12345" "$WORK/last.err" ||
    fail "bad grain marker: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -o bad.qcow2 h.vmdk:1
[ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "bad marker convert: $(cat "$WORK/last.err")"
[ ! -e bad.qcow2 ] || fail "convert over a bad grain left an output"
pass "a compressed grain with a wrong marker: one line, no output"
cp $sp h.vmdk; truncate -s 16K h.vmdk
vdisk_refused "a sparse VMDK cut in its tables" h.vmdk "VMDK: grain (directory|table) .* past the end of the file"
# Cut in its grains: the tables open (as in qemu-img); reading a lost grain
# fails: warnings where disks probes, one line and no output for convert.
cp $sp h.vmdk; truncate -s 100K h.vmdk
expect_exit 0 "$P2V" disks h.vmdk
grep -q "VMDK: grain [0-9]* at offset [0-9]* is past the end of the file" "$WORK/last.err" ||
    fail "truncated grains: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -o cut.qcow2 h.vmdk:3
grep -q "VMDK: grain [0-9]* at offset [0-9]* is past the end of the file" "$WORK/last.err" ||
    fail "truncated grains, convert: $(cat "$WORK/last.err")"
[ ! -e cut.qcow2 ] || fail "convert of lost grains left an output"
pass "a sparse VMDK cut in its grains: read errors named, no output"
cp snap.vmdk h.vmdk
python3 - h.vmdk <<'PY'
import sys
p = sys.argv[1]
f = bytearray(open(p, "rb").read())
i = f.find(b"parentCID=")
f[i + 10:i + 18] = b"0badcafe"
open(p, "wb").write(f)
PY
vdisk_refused "a snapshot whose parent changed" h.vmdk "VMDK: parent .*d.vmdk has CID [0-9a-f]{8}, the snapshot expects [0-9a-f]{8} \\(the parent was changed"
cp snap.vmdk loop.vmdk
python3 - loop.vmdk <<'PY'
import sys
p = sys.argv[1]
f = bytearray(open(p, "rb").read())
i = f.find(b'parentFileNameHint="')
j = f.find(b'"', i + 20)
f[i + 20:j + 1] = b'loop.vmdk"'.ljust(j + 1 - i - 20, b" ")  # same length: the descriptor is fixed
open(p, "wb").write(f)
PY
vdisk_refused "a VMDK that is its own parent" loop.vmdk "loop.vmdk: parent chain loops: parent loop.vmdk is already in the chain"
