#!/bin/bash
# An ext4 filesystem (mkfs.ext4's default features: 64bit, flex_bg,
# metadata_csum, resize_inode; 4 KiB blocks) in a partition made twice and
# four times as large, and grown by --size as the last partition: p2v grows
# the filesystem in the copy so that it fills the partition; e2fsck is clean
# (from the backups too), the block count matches the partition, every file
# reads back, qemu-img check is clean and the source is unchanged. The dry
# run says what will happen.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/extgrow.sh"
ext_setup

truncate -s 128M e4.part && mkfs.ext4 -q -F -b 4096 -E nodiscard -L E4 -d files e4.part
dumpe2fs -h e4.part 2>/dev/null | grep -q "features:.*64bit.*flex_bg.*metadata_csum" ||
    dumpe2fs -h e4.part 2>/dev/null | grep -q "metadata_csum" || fail "mkfs.ext4 defaults changed"
truncate -s 8M other.part && mkfs.ext4 -q -F -E nodiscard other.part
ext_disk pc.img e4.part other.part
src_sum=$(sha256sum <pc.img)

# Dry run: old and new size, the filesystem will be grown, nothing written.
expect_exit 0 "$P2V" convert --dry-run -o dry.qcow2 pc.img:1=256M pc.img:2
grep -q "pc.img:1: 128.0 MiB -> 256.0 MiB; ext4 grown to 256.0 MiB (65536 blocks of 4096 bytes, 1 -> 2 block groups)" \
    "$WORK/last.out" || fail "dry run: $(cat "$WORK/last.out")"
[ ! -e dry.qcow2 ] || fail "dry run wrote OUTPUT"
expect_exit 0 "$P2V" convert --dry-run --json -o dry.qcow2 pc.img:1=256M pc.img:2
check_eq "dry run JSON fs_new_bytes" $((256 << 20)) \
    "$(jq '.partitions[] | select(.resize != null) | .resize.fs_new_bytes' "$WORK/last.out")"
pass "dry run shows the grow"

ext_convert_check "x2 (--verify)" 1 files --verify pc.img:1=256M pc.img:2
check_eq "x2 partition" $((256 << 20)) "$(cat grown.bytes)"
ext_convert_check "x4" 1 files pc.img:1=512M pc.img:2
check_eq "x4 partition" $((512 << 20)) "$(cat grown.bytes)"
ext_kernel_fill "x4" grown.part
# --size: the last partition fills the disk (not a whole number of MiB).
ext_convert_check "--size" 2 files --size 700M pc.img:2 pc.img:1
bytes=$(cat grown.bytes)
[ "$bytes" -gt $((600 << 20)) ] || fail "--size: partition only $bytes bytes"
check_eq "source unchanged" "$src_sum" "$(sha256sum <pc.img)"
