#!/bin/bash
# VHDX sources: every variant qemu-img writes (block sizes, log sizes, fixed,
# block_state_zero) lists, reads and converts as the raw disk it came from,
# with img info and check as qemu-img's; differencing VHDX and 4096-byte
# logical sectors (made by tests/lib/mkvhdx.py, which qemu-img cannot make;
# its plain files are checked against qemu-img too); hostile files get one
# line and exit 1: bad CRCs, a log not yet applied, BAT entries past the end
# or overlapping, a parent loop, huge sizes.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
source "$P2V_SRC/tests/lib/vdisk.sh"
vdisk_setup mkvhdx.py

qemu-img convert -O vhdx "$raw" d.vhdx
vdisk_same_as_raw d.vhdx "$raw" 3
qemu-img convert -O vhdx -o block_size=1M "$raw" b1.vhdx
vdisk_same_as_raw b1.vhdx "$raw" 5
for o in "" block_size=1M block_size=32M,log_size=4M block_size=256M subformat=fixed \
    block_size=8M,block_state_zero=off log_size=8M; do
    rm -f v.vhdx
    qemu-img convert -O vhdx ${o:+-o $o} "$raw" v.vhdx
    expect_exit 0 "$P2V" img compare v.vhdx "$raw"
    vdisk_info_like_qemu v.vhdx virtual-size format cluster-size actual-size dirty-flag
    qemu-img check --output=json v.vhdx >q.json
    expect_exit 0 "$P2V" img check --output=json v.vhdx
    check_eq "img check -o ${o:-default}" "$(jq -S . q.json)" "$(jq -S . "$WORK/last.out")"
done

# The writer of the test files against qemu-img, then a differencing chain.
python3 "$mk" base "$raw" base.vhdx
qemu-img compare -q base.vhdx "$raw" || fail "mkvhdx.py base: qemu-img reads it otherwise"
vdisk_same_as_raw base.vhdx "$raw" 3
vdisk_chain vhdx base.vhdx "$raw"
vdisk_converts_as grand.vhdx grand.raw 3
expect_exit 0 "$P2V" img check grand.vhdx
pass "differencing VHDX (2 levels, partially present blocks) read and convert as expected"
vdisk_abs_locator vhdx VHDX base.vhdx "$raw"
pass "absolute Windows parent path resolved beside the child; a missing parent named"

# 4096-byte logical sectors: a 4Kn GPT (sgdisk through a 4Kn loop device).
truncate -s 64M 4k.img
if dev=$(losetup_attach --sector-size 4096 4k.img); then
    _p2v_loops+=("$dev")
    sgdisk -o -n 1:0:+8M -t 1:ef00 -n 2:0:+16M -t 2:0700 -n 3:0:+4M -t 3:8300 "$dev" >/dev/null
    losetup -d "$dev"
    python3 "$mk" base 4k.img 4k.vhdx --lss 4096 --block-size 1048576
    expect_exit 0 "$P2V" disks --json 4k.vhdx
    check_eq "sector size of the 4Kn VHDX" 4096 "$(jq '.disks[0].sector_size' "$WORK/last.out")"
    [ ! -s "$WORK/last.err" ] || fail "4Kn VHDX: $(cat "$WORK/last.err")"
    want=$("$P2V" disks --json --sector-size 4096 4k.img | jq -S '.disks[0] | del(.path)')
    check_eq "4Kn VHDX lists as the 4Kn raw disk" "$want" "$(jq -S '.disks[0] | del(.path)' "$WORK/last.out")"
    expect_exit 0 "$P2V" img compare 4k.vhdx 4k.img
else
    echo "(no 4Kn loop device: 4096-byte VHDX part skipped)"
fi

# Hostile files.
poke() { # poke FILE PYTHON: patch FILE (f = bytearray); fix_crc(off, len) redoes a CRC-32C
    python3 - "$1" "$2" "$mk" <<'PY'
import importlib.util, struct, sys
spec = importlib.util.spec_from_file_location("mkvhdx", sys.argv[3])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
p, code = sys.argv[1], sys.argv[2]
f = bytearray(open(p, "rb").read())
def le32(o, v): struct.pack_into("<I", f, o, v)
def le64(o, v): struct.pack_into("<Q", f, o, v)
def fix_crc(o, n): f[o:o + n] = m.with_crc(bytes(f[o:o + n]))
exec(code)
open(p, "wb").write(f)
PY
}
MIB=1048576
bat=$((3 * MIB))
# base.vhdx: blocks of 2 MiB; find a present payload entry and a not-present one
present=$(python3 -c "import struct;f=open('base.vhdx','rb').read();print(next(i for i in range(200) if struct.unpack_from('<Q',f,$bat+8*i)[0]&7==6))")
absent=$(python3 -c "import struct;f=open('base.vhdx','rb').read();print(next(i for i in range(200) if struct.unpack_from('<Q',f,$bat+8*i)[0]&7==0))")
cp base.vhdx h.vhdx; poke h.vhdx "f[65536 + 200] ^= 1; f[131072 + 200] ^= 1"
vdisk_refused "two bad header CRCs" h.vhdx "h.vhdx: VHDX: neither header \(at 64 KiB, 128 KiB\) is valid"
cp base.vhdx h.vhdx; poke h.vhdx "f[131072 + 200] ^= 1"
expect_exit 0 "$P2V" img compare h.vhdx "$raw"
pass "one bad header: the other one is used"
cp base.vhdx h.vhdx; poke h.vhdx "f[196608 + 20] ^= 1; f[262144 + 20] ^= 1"
vdisk_refused "bad region table CRCs" h.vhdx "VHDX: no valid region table"
cp base.vhdx h.vhdx; python3 "$mk" log h.vhdx
vdisk_refused "a log not yet applied" h.vhdx "VHDX: the log holds writes not yet applied"
cp base.vhdx h.vhdx; poke h.vhdx "le64($bat + 8 * $absent, 6 | (1 << 40) << 20)"
vdisk_refused "a BAT entry past the end" h.vhdx "VHDX: BAT entry $absent: block at offset [0-9]+ goes past the end of the file"
cp base.vhdx h.vhdx; poke h.vhdx "le64($bat + 8 * $absent, struct.unpack_from('<Q', f, $bat + 8 * $present)[0])"
vdisk_refused "two blocks at one place" h.vhdx "VHDX: BAT entries [0-9]+ and [0-9]+: blocks overlap at offset"
cp base.vhdx h.vhdx; poke h.vhdx "le64($bat + 8 * $absent, 6 | 2 << 20)"
vdisk_refused "a block over the metadata" h.vhdx "VHDX: BAT entry $absent: block at offset 2097152 overlaps the image's headers, log or regions"
cp base.vhdx h.vhdx; poke h.vhdx "le64($bat + 8 * $absent, 5)"
vdisk_refused "a bad block state" h.vhdx "VHDX: BAT entry $absent: bad block state 5"
cp base.vhdx h.vhdx; poke h.vhdx "o = struct.unpack_from('<I', f, 2 * $MIB + 32 + 32 + 16)[0]; le64(2 * $MIB + o, 1 << 50)"
vdisk_refused "a huge disk size" h.vhdx "VHDX: disk size 1125899906842624 bytes is zero, over 64 TiB"
cp base.vhdx h.vhdx; poke h.vhdx "o = struct.unpack_from('<I', f, 2 * $MIB + 32 + 16)[0]; le32(2 * $MIB + o, 3 << 20)"
vdisk_refused "a block size not a power of two" h.vhdx "VHDX: block size 3145728 is not a power of two"
cp base.vhdx h.vhdx; poke h.vhdx "le64(196608 + 16 + 16, 1 << 45); fix_crc(196608, 65536); le64(262144 + 16 + 16, 1 << 45); fix_crc(262144, 65536)"
vdisk_refused "a BAT region past the end" h.vhdx "VHDX: BAT region of [0-9]+ bytes at offset 35184372088832 is out of bounds"
cp base.vhdx h.vhdx; truncate -s $((5 * MIB)) h.vhdx
vdisk_refused "a truncated VHDX" h.vhdx "VHDX: BAT entry [0-9]+: block at offset [0-9]+ goes past the end of the file \(5242880 bytes\)"
python3 "$mk" diff child.vhdx child.raw loop.vhdx x.raw --seed 4 --parent-name loop.vhdx
vdisk_refused "a VHDX that is its own parent" loop.vhdx "parent chain loops"
python3 "$mk" diff base.vhdx "$raw" other.vhdx x.raw --seed 5 --parent-name d.vhdx
vdisk_refused "a parent with another data write GUID" other.vhdx "VHDX: parent .*d.vhdx has data write GUID .* the differencing disk expects"
