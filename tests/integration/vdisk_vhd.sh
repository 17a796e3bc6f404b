#!/bin/bash
# VHD sources (dynamic and differencing; fixed in disks_formats.sh): the disk
# qemu-img writes lists, reads and converts as the raw disk it came from;
# differencing chains (made by tests/lib/mkvhd.py) read their sectors from
# the right layer; hostile files get one line and exit 1.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
source "$P2V_SRC/tests/lib/vdisk.sh"
vdisk_setup mkvhd.py

# Dynamic, exact size (force_size: current size, no CHS rounding).
qemu-img convert -O vpc -o subformat=dynamic,force_size=on "$raw" dyn.vhd
vdisk_same_as_raw dyn.vhd "$raw" 3
vdisk_info_like_qemu dyn.vhd virtual-size format cluster-size actual-size dirty-flag
vdisk_map_like_qemu dyn.vhd
# CHS-rounded size (qemu-img's default): a few sectors more than the raw disk.
qemu-img convert -O vpc "$raw" chs.vhd
vdisk_info_like_qemu chs.vhd virtual-size format cluster-size
vdisk_map_like_qemu chs.vhd
qemu-img compare -q -f vpc chs.vhd "$raw" 2>/dev/null && qrc=0 || qrc=$?
"$P2V" img compare chs.vhd "$raw" >/dev/null && prc=0 || prc=$?
check_eq "img compare of the rounded VHD, as qemu-img" "$qrc" "$prc"
expect_exit 63 "$P2V" img check dyn.vhd
pass "img check on a VHD: no checks (63), as qemu-img"

# Differencing: child over dyn.vhd, grandchild over the child.
qemu-img convert -f vpc -O raw dyn.vhd dyn.raw
vdisk_chain vhd dyn.vhd dyn.raw
jq -e 'all(.[]; .present and (.data or .zero))' "$WORK/last.out" >/dev/null || fail "map of grand.vhd"
expect_exit 0 "$P2V" disks --json grand.vhd
check_eq "partitions of grand.vhd" 5 "$(jq '.disks[0].partitions | length' "$WORK/last.out")"
vdisk_converts_as grand.vhd grand.raw 3
pass "differencing VHDs (2 levels) read and convert as their expected raw disks"

# An absolute locator only (C:\vms\NAME): found beside the child; the parent
# moved elsewhere with the chain: refused, naming where it looked.
vdisk_abs_locator vhd VHD dyn.vhd dyn.raw
pass "absolute Windows locator resolved beside the child; a missing parent named"

# Hostile files.
python3 "$mk" diff child.vhd child.raw loop.vhd x.raw --seed 4 --parent-name loop.vhd
vdisk_refused "a VHD that is its own parent" loop.vhd "parent chain loops"
python3 "$mk" diff child.vhd child.raw a.vhd x.raw --seed 5 --parent-name b.vhd
python3 "$mk" diff child.vhd child.raw b.vhd x.raw --seed 6 --parent-name a.vhd
vdisk_refused "two VHDs each other's parent" a.vhd "parent chain loops"
python3 "$mk" diff child.vhd child.raw other.vhd x.raw --seed 7
cp --sparse=always dyn.vhd child.vhd # same name, another disk: not the parent it names
vdisk_refused "a parent with another identifier" other.vhd "parent .*child.vhd has identifier .* expects"
# a chain of 66 files: more than 64 parents
prev=dyn.vhd
for i in $(seq 1 66); do
    python3 "$mk" diff $prev - deep$i.vhd - --seed $i --light
    prev=deep$i.vhd
done
vdisk_refused "a chain of 66 VHDs" deep66.vhd "parent chain too deep: more than 64 parents"
expect_exit 0 "$P2V" img info deep64.vhd # 64 parents: the limit, read
pass "a chain of 64 parents opens"

poke() { # poke FILE PYTHON: patch the file with a python snippet (f = bytearray)
    python3 - "$1" "$2" <<'PY'
import struct, sys
p, code = sys.argv[1], sys.argv[2]
f = bytearray(open(p, "rb").read())
def be32(o, v): struct.pack_into(">I", f, o, v)
def be64(o, v): struct.pack_into(">Q", f, o, v)
def fix_footer(o):
    be32(o + 64, 0); be32(o + 64, ~sum(f[o:o + 512]) & 0xffffffff)
def fix_header(o):
    be32(o + 36, 0); be32(o + 36, ~sum(f[o:o + 1024]) & 0xffffffff)
exec(code)
open(p, "wb").write(f)
PY
}
bat=$(python3 -c "import struct;f=open('dyn.vhd','rb').read();print(struct.unpack_from('>Q',f,512+16)[0])")
first=$(python3 -c "import struct;f=open('dyn.vhd','rb').read();b=$bat;print(next(i for i in range(4096) if struct.unpack_from('>I',f,b+4*i)[0]!=0xffffffff))")
free=$(python3 -c "import struct;f=open('dyn.vhd','rb').read();b=$bat;print(next(i for i in range(4096) if struct.unpack_from('>I',f,b+4*i)[0]==0xffffffff))")
cp dyn.vhd h.vhd; truncate -s 300K h.vhd
vdisk_refused "a truncated VHD" h.vhd "h.vhd: VHD: block [0-9]+ at offset [0-9]+ goes past the end of the file"
cp dyn.vhd h.vhd; poke h.vhd "be32($bat + 4 * $free, 0x7fffffff)"
vdisk_refused "a BAT entry past the end" h.vhd "VHD: block $free at offset 1099511627264 goes past the end"
cp dyn.vhd h.vhd; poke h.vhd "be32($bat + 4 * $free, struct.unpack_from('>I', f, $bat + 4 * $first)[0])"
vdisk_refused "two blocks at one place" h.vhd "VHD: block [0-9]+ at offset [0-9]+ overlaps block [0-9]+"
cp dyn.vhd h.vhd; poke h.vhd "be32($bat + 4 * $free, 1)"
vdisk_refused "a block over the header" h.vhd "VHD: block $free at offset 512 overlaps the image's metadata"
cp dyn.vhd h.vhd; poke h.vhd "f[100] ^= 1; f[-412] ^= 1"
vdisk_refused "bad footer checksums" h.vhd "h.vhd: VHD: footer checksum is wrong \(in both copies\)"
cp dyn.vhd h.vhd; poke h.vhd "f[512 + 100] ^= 1"
vdisk_refused "a bad header checksum" h.vhd "h.vhd: VHD: dynamic header checksum is wrong"
cp dyn.vhd h.vhd; poke h.vhd "be64(48, 1 << 50); fix_footer(0)"
vdisk_refused "a huge disk size" h.vhd "disk size 1125899906842624 bytes is over the format's 2040 GiB"
cp dyn.vhd h.vhd; poke h.vhd "be32(512 + 32, 3 << 20); fix_header(512)"
vdisk_refused "a block size not a power of two" h.vhd "block size 3145728 is not a power of two"
cp dyn.vhd h.vhd; poke h.vhd "be32(512 + 28, 3); fix_header(512)"
vdisk_refused "a BAT too small for the disk" h.vhd "the block table has 3 entries; the disk size [0-9]+ needs"
cp dyn.vhd h.vhd; poke h.vhd "be64(16, 1 << 40); fix_footer(0)"
vdisk_refused "a header past the end" h.vhd "dynamic header at offset 1099511627776 is past the end"
