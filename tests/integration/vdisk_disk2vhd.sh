#!/bin/bash
# A disk2vhd-like VHDX of a UEFI Windows PC (tests/lib/disk2vhd.sh, the light
# build): `p2v disks` on it prints what docs/disks.md ("Coming from
# disk2vhd") shows, sizes aside (the document's file holds 1.3 GiB more of
# files); the document's convert command makes an image whose table sgdisk
# accepts, with a fresh disk GUID, C: last and every filesystem intact.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/disk2vhd.sh"
need qemu-img sgdisk mkntfs ntfs-3g mkfs.vfat mcopy hivexregedit jq python3 ntfsfix fsck.vfat
cd "$WORK"
D2V_LIGHT=1 d2v_vhdx "$WORK/PC-C.vhdx" 0
expect_exit 0 "$P2V" img info --output=json PC-C.vhdx
check_eq "format" vhdx "$(jq -r .format "$WORK/last.out")"

expect_exit 0 "$P2V" disks PC-C.vhdx
python3 - "$P2V_SRC/docs/disks.md" "$WORK/last.out" <<'PY' || fail "p2v disks PC-C.vhdx differs from docs/disks.md"
import re, sys
doc = open(sys.argv[1]).read().splitlines()
i = doc.index("$ p2v disks PC-C.vhdx") + 1
want = doc[i:doc.index("```", i)]
got = open(sys.argv[2]).read().splitlines()
size = re.compile(r"\b\d+(\.\d+)? [KMG]iB\b")
norm = lambda ls: [re.sub(r"\s+", " ", size.sub("SIZE", l)).strip() for l in ls if l.strip()]
if norm(want) != norm(got):
    print("document:", *want, "p2v:", *got, sep="\n", file=sys.stderr)
    sys.exit(1)
PY
pass "p2v disks on a disk2vhd-like VHDX prints what docs/disks.md shows"

expect_exit 0 "$P2V" convert --boot uefi -o pc.qcow2 PC-C.vhdx:1 PC-C.vhdx:2 PC-C.vhdx:4 PC-C.vhdx:3
qemu-img check -q pc.qcow2 || fail "qemu-img check pc.qcow2"
qemu-img convert -O raw pc.qcow2 pc.raw
sgdisk -v pc.raw | grep -q "No problems found" || fail "sgdisk -v: $(sgdisk -v pc.raw)"
expect_exit 0 "$P2V" disks --json pc.raw
j=$WORK/last.out
[ "$(jq -r '.disks[0].id' "$j")" != "$D2V_GDISK" ] || fail "the new image kept the source's disk GUID"
check_eq "order" "EFI System,Microsoft reserved,Windows recovery,Microsoft basic data" \
    "$(jq -r '[.disks[0].partitions[].type_name] | join(",")' "$j")"
check_eq "C: last" "Windows" "$(jq -r '.disks[0].partitions[3].label' "$j")"
for n in 1 3 4; do
    start=$(jq ".disks[0].partitions[$((n - 1))].start" "$j")
    size=$(jq ".disks[0].partitions[$((n - 1))].size" "$j")
    dd if=pc.raw of=p$n.img bs=512 skip="$start" count="$size" status=none
done
fsck.vfat -n p1.img >/dev/null || fail "fsck.vfat of the ESP"
for n in 3 4; do ntfsfix -n p$n.img >/dev/null || fail "ntfsfix -n of partition $n"; done
mtype -i p1.img ::/EFI/Microsoft/Boot/BCD >/dev/null || fail "no BCD on the new ESP"
pass "the documented convert of the disk2vhd-like VHDX: sgdisk -v clean, fresh GUID, C: last, filesystems clean"
