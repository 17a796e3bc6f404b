#!/bin/bash
# ext3 and ext2 with 1 KiB blocks (mkfs's choice for small filesystems: 8 MiB
# groups, so growing adds many groups, backups in groups 25, 27, 49...; the
# descriptors outgrow their block and take reserved ones, and the resize
# inode is rebuilt), and ext4 with 1 KiB blocks: grown x2, x4 and by --size;
# e2fsck clean, backups agree, block count = partition, files equal,
# qemu-img check clean, the journal untouched, the source unchanged.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/extgrow.sh"
ext_setup mkfs.ext2 mkfs.ext3

truncate -s 100M e3.part && mkfs.ext3 -q -F -b 1024 -E nodiscard -L E3 -d files e3.part
truncate -s 64M e2.part && mkfs.ext2 -q -F -b 1024 -E nodiscard -L E2 -d files e2.part
truncate -s 80M e4.part && mkfs.ext4 -q -F -b 1024 -E nodiscard -L E4K -d files e4.part
ext_disk pc.img e3.part e2.part e4.part
src_sum=$(sha256sum <pc.img)
journal() { debugfs -R "cat <8>" "$1" 2>/dev/null | sha256sum; }
j3=$(journal e3.part)

ext_convert_check "ext3 x2" 1 files pc.img:1=200M pc.img:2
check_eq "ext3 x2 partition" $((200 << 20)) "$(cat grown.bytes)"
check_eq "ext3 journal untouched" "$j3" "$(journal grown.part)"
ext_convert_check "ext3 x4" 1 files pc.img:1=400M
check_eq "ext3 x4 journal untouched" "$j3" "$(journal grown.part)"
# 49 groups of 32-byte descriptors: a second descriptor block, taken from the reserved ones
check_eq "ext3 x4 reserved descriptor blocks" $(($(ext_field e3.part "Reserved GDT blocks") - 1)) \
    "$(ext_field grown.part "Reserved GDT blocks")"
ext_kernel_fill "ext3 x4" grown.part

ext_convert_check "ext2 x2" 1 files pc.img:2=128M pc.img:1
check_eq "ext2 x2 partition" $((128 << 20)) "$(cat grown.bytes)"
ext_convert_check "ext2 x4" 1 files pc.img:2=256M
ext_convert_check "ext2 --size" 2 files --size 300M pc.img:1 pc.img:2
ext_kernel_fill "ext2 --size" grown.part

ext_convert_check "ext4 1k x4" 1 files pc.img:3=320M
ext_convert_check "ext4 1k --size" 2 files --size 250M pc.img:1 pc.img:3
ext_kernel_fill "ext4 1k --size" grown.part
check_eq "source unchanged" "$src_sum" "$(sha256sum <pc.img)"
