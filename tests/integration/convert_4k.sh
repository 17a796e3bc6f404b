#!/bin/bash
# A source disk with 4096-byte sectors (a loop device with 4 KiB logical
# sectors): the image keeps 4096-byte sectors, the table and the filesystems'
# hidden sectors count in them.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need losetup sfdisk sgdisk qemu-img jq mkntfs ntfscp ntfscat ntfsfix mkfs.vfat mcopy mtype fsck.vfat

cd "$WORK"
truncate -s 128M d4k.img
dev=$(losetup_attach -b 4096 d4k.img) || { echo "SKIP: no loop device" >&2; exit 77; }
check_eq "loop device sector size" 4096 "$(blockdev --getss "$dev")"
mkpc_disk4k "$dev"
sum=$(sha256sum <d4k.img)

expect_exit 0 "$P2V" convert --dry-run -o x "$dev:2" "$dev:1"
grep -q "4096-byte sectors" "$WORK/last.out" || fail "dry-run does not show 4096-byte sectors"
expect_exit 0 "$P2V" convert -O raw --verify -o pc4k.img "$dev:2" "$dev:1"
expect_exit 0 "$P2V" convert -o pc4k.qcow2 "$dev:2" "$dev:1"
qemu-img check pc4k.qcow2 || fail "qemu-img check"

out=$(losetup_attach -r -b 4096 pc4k.img) || fail "cannot attach the output"
sgdisk -v "$out" | grep -q "No problems found" || fail "sgdisk -v on the 4 KiB output"
check_eq "first partition at 1 MiB (sector 256)" 256 "$(sfdisk --json "$out" | jq '.partitiontable.partitions[0].start')"
check_eq "sector size of the table" 4096 "$(sfdisk --json "$out" | jq '.partitiontable.sectorsize')"
MKPC_SS=4096 mkpc_check_output "$out" 4:2 4:1
check_eq "source unchanged" "$sum" "$(sha256sum <d4k.img)"
