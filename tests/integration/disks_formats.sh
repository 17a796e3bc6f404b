#!/bin/bash
# Image formats: a fixed VHD is read as the disk it holds (its footer is not
# disk data); VDI and QED images are refused with one line naming the path
# and the format, by disks and by convert. Dynamic and differencing VHDs, VHDX
# and VMDK are read: tests/integration/vdisk_*.sh.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
need qemu-img jq sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 mkswap

raw=$WORK/gpt.img
make_sample_gpt "$raw"
want=$("$P2V" disks --json "$raw" | jq -S '.disks[0] | del(.path)')

# Fixed VHD with the exact size: the same listing, no warning at all.
vhd=$WORK/fixed.vhd
qemu-img convert -O vpc -o subformat=fixed,force_size=on "$raw" "$vhd"
check_eq "fixed VHD file is data + 512-byte footer" $(($(stat -c %s "$raw") + 512)) "$(stat -c %s "$vhd")"
"$P2V" disks --json "$vhd" >"$WORK/vhd.json" 2>"$WORK/vhd.err"
got=$(jq -S '.disks[0] | del(.path)' "$WORK/vhd.json")
if [ "$want" != "$got" ]; then
    diff <(echo "$want") <(echo "$got") || true
    fail "fixed VHD listing differs from the raw disk's"
fi
[ ! -s "$WORK/vhd.err" ] || { cat "$WORK/vhd.err" >&2; fail "fixed VHD: unexpected messages"; }
pass "fixed VHD lists exactly as the raw disk, no warning"

# Converting partition 2 from the fixed VHD gives the same bytes as from the raw disk.
"$P2V" convert -O raw -o "$WORK/from-raw.img" "$raw:2" >/dev/null 2>&1
"$P2V" convert -O raw -o "$WORK/from-vhd.img" "$vhd:2" >/dev/null 2>&1
a=$(sfdisk --json "$WORK/from-raw.img" | jq -r '.partitiontable.partitions[0] | "\(.start) \(.size)"')
b=$(sfdisk --json "$WORK/from-vhd.img" | jq -r '.partitiontable.partitions[0] | "\(.start) \(.size)"')
check_eq "converted partition from the VHD" "$a" "$b"
read -r start size <<<"$a"
cmp <(dd if="$WORK/from-raw.img" bs=512 skip="$start" count="$size" status=none) \
    <(dd if="$WORK/from-vhd.img" bs=512 skip="$start" count="$size" status=none) ||
    fail "partition data converted from the fixed VHD differs from the raw disk's"
pass "convert from a fixed VHD copies the same partition bytes"

# Formats p2v cannot read: one line, exit 1.
for spec in "vdi:VDI" "qed:QED"; do
    fmt=${spec%%:*} name=${spec#*:}
    img=$WORK/disk.$fmt
    qemu-img convert -O "$fmt" "$raw" "$img"
    expect_exit 1 "$P2V" disks "$img"
    check_eq "disks on $fmt" "p2v: $img: $name image: not supported as a source; convert it to raw or qcow2 with qemu-img first" "$(cat "$WORK/last.err")"
    expect_exit 1 "$P2V" convert -o "$WORK/out.qcow2" "$img:2"
    grep -qF "$img: $name image: not supported as a source" "$WORK/last.err" ||
        { cat "$WORK/last.err" >&2; fail "convert on $fmt: no refusal"; }
    [ ! -e "$WORK/out.qcow2" ] || fail "convert on $fmt left an output"
    rm -f "$img"
done
pass "VDI and QED refused by disks and convert"
