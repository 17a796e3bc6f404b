#!/bin/bash
# convert --add-esp SIZE: a disk with only a Linux partition gets an empty
# FAT32 EFI System Partition in front, formatted by p2v: ESP type, FAT32 by
# blkid, fsck.fat clean, writable with mtools, sgdisk -v clean. Too small a
# size is refused before anything is written.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sgdisk sfdisk mkfs.ext4 qemu-img jq fsck.fat blkid mcopy mmd mdir e2fsck
export MTOOLS_SKIP_CHECK=1
cd "$WORK"

truncate -s 24M linux.img
sgdisk -n 1:2048:+16M -t 1:8300 -c 1:root linux.img >/dev/null
truncate -s 16M root.fs
mkfs.ext4 -q -F -L root root.fs
dd if=root.fs of=linux.img bs=1M seek=1 conv=notrunc,sparse status=none

# Too small for FAT32: a usage error, nothing written.
expect_exit 2 "$P2V" convert --boot uefi --add-esp 20M -o small.qcow2 linux.img:1
grep -q "too small for a FAT32 ESP" "$WORK/last.err" || fail "no clear message: $(cat "$WORK/last.err")"
[ ! -e small.qcow2 ] || fail "an image was written"
pass "--add-esp 20M refused: $(head -n 1 "$WORK/last.err")"

expect_exit 0 "$P2V" convert --dry-run --boot uefi --add-esp 100M -o esp.qcow2 linux.img:1
cat "$WORK/last.out"
grep -qE "\(new ESP\) +2048 +100.0 MiB +EFI System +vfat +EFI" "$WORK/last.out" || fail "dry-run does not show the new ESP"

expect_exit 0 "$P2V" convert --json --boot uefi --add-esp 100M -o esp.qcow2 linux.img:1
jq -e '.partitions[0].kind == "new" and .partitions[0].size_bytes == 104857600 and .partitions[0].start == 2048' \
    "$WORK/last.out" >/dev/null || fail "JSON: $(cat "$WORK/last.out")"
qemu-img check esp.qcow2 >/dev/null || fail "qemu-img check"
qemu-img convert -O raw esp.qcow2 esp.raw
sgdisk -v esp.raw >sgdisk.out
grep -q "No problems found" sgdisk.out || fail "sgdisk -v: $(cat sgdisk.out)"
pass "sgdisk -v: no problems"
check_eq "partition 1 type" C12A7328-F81F-11D2-BA4B-00A0C93EC93B \
    "$(sfdisk --json esp.raw | jq -r '.partitiontable.partitions[0].type')"
check_eq "partition 1 name" "EFI system partition" \
    "$(sfdisk --json esp.raw | jq -r '.partitiontable.partitions[0].name')"
check_eq "partition 2 type" 0FC63DAF-8483-4772-8E79-3D69D8477DE4 \
    "$(sfdisk --json esp.raw | jq -r '.partitiontable.partitions[1].type')"
off=$((2048 * 512))
check_eq "blkid of the ESP" "vfat FAT32 EFI" \
    "$(blkid -p -O $off -o export esp.raw | awk -F= '$1=="TYPE"{t=$2} $1=="VERSION"{v=$2} $1=="LABEL"{l=$2} END{print t, v, l}')"
check_eq "hidden sectors = partition start" 2048 "$(od -An -tu4 -j $((off + 28)) -N4 esp.raw | tr -d ' ')"
dd if=esp.raw of=esp.fat bs=1M skip=1 count=100 status=none
fsck.fat -n esp.fat >fsck.out 2>&1 || fail "fsck.fat -n: $(cat fsck.out)"
pass "fsck.fat -n clean: $(tail -n 1 fsck.out)"
head -c 2000000 /dev/urandom >loader.efi
mmd -i esp.fat ::/EFI ::/EFI/BOOT
mcopy -i esp.fat loader.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i esp.fat ::/EFI/BOOT/BOOTX64.EFI back.efi
cmp loader.efi back.efi || fail "a file written with mtools does not read back"
fsck.fat -n esp.fat >fsck.out 2>&1 || fail "fsck.fat -n after mcopy: $(cat fsck.out)"
pass "mtools writes into the ESP, still clean: $(tail -n 1 fsck.out)"
dd if=esp.raw of=root.out bs=1M skip=101 count=16 status=none
e2fsck -fn root.out >/dev/null 2>&1 || fail "the Linux partition does not check clean after the ESP"
pass "Linux partition intact after the new ESP"
