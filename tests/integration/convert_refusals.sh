#!/bin/bash
# Bad input is refused with one clear line: usage errors exit 2 with the usage
# text, everything else exits 1; OUTPUT that is a source or that exists is
# never written over (without --force), and no file is left behind.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk jq

cd "$WORK"
truncate -s 64M disk.img
sfdisk -q disk.img <<'SF'
label: dos
start=2048, size=20480, type=83
start=22528, size=40960, type=f
start=24576, size=20480, type=83
SF
# Something non-zero to copy.
head -c 1M /dev/urandom | dd of=disk.img bs=512 seek=2048 conv=notrunc status=none
sum=$(sha256sum <disk.img)

# Usage errors: exit 2 and the usage text.
for bad in disk.img disk.img: :1 disk.img:x disk.img:0 disk.img:-1 disk.img:1x; do
    expect_exit 2 "$P2V" convert -o out.qcow2 "$bad"
    grep -q "Usage: p2v convert" "$WORK/last.err" || fail "no usage text for '$bad'"
    grep -q "is not a partition selection" "$WORK/last.err" || fail "no message for '$bad'"
done
pass "bad SEL forms exit 2 with usage"
expect_exit 2 "$P2V" convert disk.img:1
grep -q "no OUTPUT" "$WORK/last.err" || fail "missing -o not explained"
expect_exit 2 "$P2V" convert -o out.qcow2
expect_exit 2 "$P2V" convert --frobnicate -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert -O vmdk -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert -t bsd -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert --boot coreboot -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert --size 12Q -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert --copy some -o out.qcow2 disk.img:1
expect_exit 2 "$P2V" convert --cluster-size 3K -o out.qcow2 disk.img:1
for opt in "-c" "-c zstd" "--compress=zlib" "--cluster-size 1M"; do
    expect_exit 2 "$P2V" convert -O raw $opt -o out.img disk.img:1
    grep -q "applies to qcow2 output only" "$WORK/last.err" || fail "-O raw $opt: $(cat "$WORK/last.err")"
    expect_exit 2 "$P2V" convert $opt -O raw -o out.img disk.img:1
done
# -c/--compress takes the next word as its argument unless it is a SEL or an option.
for c in -c --compress; do
    expect_exit 2 "$P2V" convert $c lz4 -o out.qcow2 disk.img:1
    grep -q "unknown compression 'lz4' (zlib or zstd)" "$WORK/last.err" ||
        fail "$c lz4: $(cat "$WORK/last.err")"
    expect_exit 2 "$P2V" convert -o out.qcow2 $c lz4 disk.img:1
    grep -q "unknown compression 'lz4'" "$WORK/last.err" || fail "$c lz4 after -o"
    expect_exit 0 "$P2V" convert --dry-run $c -o out.qcow2 disk.img:1
    expect_exit 0 "$P2V" convert --dry-run -o out.qcow2 $c disk.img:1
    expect_exit 0 "$P2V" convert --dry-run -o out.qcow2 $c zstd disk.img:1
done
expect_exit 2 "$P2V" convert --compress=lz4 -o out.qcow2 disk.img:1
grep -q "unknown compression 'lz4'" "$WORK/last.err" || fail "--compress=lz4"
pass "-c NAME / -c before a SEL or an option"
expect_exit 0 "$P2V" convert --help
grep -q "Usage: p2v convert" "$WORK/last.out" || fail "--help"
pass "option errors exit 2"

# Bad input: exit 1, one line naming what and where.
expect_exit 1 "$P2V" convert -o out.qcow2 disk.img:9
grep -q "disk.img:9.*no partition 9" "$WORK/last.err" || fail "unknown partition message"
expect_exit 1 "$P2V" convert -o out.qcow2 disk.img:2
grep -q "extended partition" "$WORK/last.err" || fail "container message"
expect_exit 1 "$P2V" convert -o out.qcow2 disk.img:1 disk.img:5 disk.img:1
grep -q "selected twice" "$WORK/last.err" || fail "duplicate message"
expect_exit 1 "$P2V" convert -o out.qcow2 missing.img:1
grep -q "missing.img" "$WORK/last.err" || fail "missing disk message"
expect_exit 1 "$P2V" convert --size 5M -o out.qcow2 disk.img:1
grep -q "too small" "$WORK/last.err" || fail "size message"
[ -z "$(ls -A | grep -v -e '^disk.img$' -e '^last\.')" ] || fail "files left behind: $(ls -A)"
pass "bad input exits 1, nothing written"

# OUTPUT that is a source: refused even with --force, by any name.
ln disk.img alias.img
ln -s disk.img link.img
for out in disk.img alias.img link.img; do
    expect_exit 1 "$P2V" convert -f -o "$out" disk.img:1
    grep -q "is one of the sources" "$WORK/last.err" || fail "OUTPUT=$out not refused as a source"
    # A dry run refuses the same.
    expect_exit 1 "$P2V" convert --dry-run -f -o "$out" disk.img:1
    grep -q "is one of the sources" "$WORK/last.err" || fail "dry run: OUTPUT=$out not refused"
done
check_eq "source unchanged" "$sum" "$(sha256sum <disk.img)"
rm alias.img link.img

# An existing OUTPUT needs --force.
echo precious >out.qcow2
expect_exit 1 "$P2V" convert -o out.qcow2 disk.img:1
grep -q "already exists" "$WORK/last.err" || fail "existing OUTPUT message"
check_eq "existing OUTPUT kept" precious "$(cat out.qcow2)"
expect_exit 1 "$P2V" convert --dry-run -o out.qcow2 disk.img:1
grep -q "already exists" "$WORK/last.err" || fail "dry run: existing OUTPUT not refused"
expect_exit 0 "$P2V" convert --dry-run -f -o out.qcow2 disk.img:1
grep -q "^NEW" "$WORK/last.out" || fail "dry run with -f: no layout"
check_eq "dry run writes nothing" precious "$(cat out.qcow2)"
expect_exit 0 "$P2V" convert -f -o out.qcow2 disk.img:1 disk.img:5
[ "$(head -c 4 out.qcow2)" = "$(printf 'QFI\xfb')" ] || fail "--force did not replace OUTPUT"
[ -z "$(ls -A | grep p2v-)" ] || fail "temporary file left"
pass "existing OUTPUT refused, replaced with --force"

# A symlink OUTPUT: the file it points to is replaced (temporary file beside
# it), the link stays a link; a dangling link is refused; a link to a source
# is refused (above).
mkdir sub
echo old >sub/real.qcow2
ln -s sub/real.qcow2 lnk.qcow2
expect_exit 1 "$P2V" convert -o lnk.qcow2 disk.img:1
grep -q "already exists" "$WORK/last.err" || fail "symlink OUTPUT without -f"
expect_exit 0 "$P2V" convert -f -o lnk.qcow2 disk.img:1
[ -L lnk.qcow2 ] || fail "the symlink OUTPUT was replaced by a file"
check_eq "link target" sub/real.qcow2 "$(readlink lnk.qcow2)"
[ "$(head -c 4 sub/real.qcow2)" = "$(printf 'QFI\xfb')" ] || fail "the link's target was not written"
[ -z "$(ls -A . sub | grep p2v-)" ] || fail "temporary file left"
ln -s sub/missing.qcow2 dangling.qcow2
expect_exit 1 "$P2V" convert -f -o dangling.qcow2 disk.img:1
grep -q "symbolic link to a missing" "$WORK/last.err" || fail "dangling link: $(cat "$WORK/last.err")"
[ -L dangling.qcow2 ] && [ ! -e sub/missing.qcow2 ] || fail "dangling link touched"
pass "symlink OUTPUT: its target replaced, the link kept"

# Types: a BIOS boot partition into MBR, an unknown GPT type into MBR, an
# unknown MBR byte into GPT, LDM and Storage Spaces anywhere: refused with one
# line naming the partition; nothing written.
truncate -s 32M g.img
sfdisk -q g.img <<'SF'
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=grubbios
start=4096, size=8192, type=11111111-2222-3333-4444-555555555555, name=oddball
start=12288, size=8192, type=AF9B60A0-1431-4F62-BC68-3311714A69AD
start=20480, size=8192, type=E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D
start=28672, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
SF
truncate -s 32M m.img
sfdisk -q m.img <<'SF'
label: dos
start=2048, size=8192, type=12
start=10240, size=8192, type=42
SF
expect_exit 1 "$P2V" convert -t mbr -o t.img g.img:1 g.img:5
grep -q "g.img:1 is a BIOS boot partition.*leave it out" "$WORK/last.err" || fail "BIOS boot: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -t mbr -o t.img g.img:2
grep -q "g.img:2: GPT type 11111111-2222-3333-4444-555555555555 (.*, name \"oddball\") has no MBR equivalent.*-t gpt" \
    "$WORK/last.err" || fail "unknown GPT type: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -t gpt -o t.img m.img:1
grep -q "m.img:1: MBR type 0x12 .* has no GPT equivalent.*-t mbr" "$WORK/last.err" || fail "unknown MBR type: $(cat "$WORK/last.err")"
for sel in g.img:3 m.img:2; do
    expect_exit 1 "$P2V" convert -o t.img "$sel"
    grep -q "dynamic disk (LDM)" "$WORK/last.err" || fail "LDM $sel: $(cat "$WORK/last.err")"
done
expect_exit 1 "$P2V" convert -o t.img g.img:4
grep -q "Storage Spaces" "$WORK/last.err" || fail "Storage Spaces: $(cat "$WORK/last.err")"
[ ! -e t.img ] || fail "an image was written"
expect_exit 0 "$P2V" convert -t mbr -O raw -o t.img g.img:5
check_eq "Linux GPT -> MBR" 83 "$(sfdisk --json t.img | jq -r '.partitiontable.partitions[0].type')"
pass "types with no equivalent, BIOS boot into MBR, LDM, Storage Spaces refused"

# OUTPUT names: empty and directory names refused before any copying; a
# 250-byte name works (the temporary name is shortened, not the OUTPUT).
expect_exit 1 "$P2V" convert -O raw -o "" disk.img:1
grep -q "OUTPUT is an empty name" "$WORK/last.err" || fail "empty OUTPUT: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert -O raw -o nodir/ disk.img:1
grep -q "OUTPUT names a directory" "$WORK/last.err" || fail "OUTPUT with a slash: $(cat "$WORK/last.err")"
long=$(printf 'l%.0s' $(seq 1 246)).raw
expect_exit 0 "$P2V" convert -O raw -o "$long" disk.img:1
[ -s "$long" ] || fail "250-byte OUTPUT name not written"
[ -z "$(ls -A | grep p2v-)" ] || fail "temporary file left"
rm -f "$long"
pass "OUTPUT names: empty and directory refused, 250 bytes written"
