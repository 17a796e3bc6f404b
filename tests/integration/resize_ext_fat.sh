#!/bin/bash
# Partitions of their own size holding ext4 and FAT: made larger, ext4 grows
# to fill its partition and FAT keeps its size with a notice; both check
# clean (resize_ext*_grow.sh test the ext grow in depth); made smaller than the filesystem, refused with the
# reason and nothing written; =min keeps the filesystem's size; a partition
# longer than its ext4 filesystem is cut down to it.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk jq mkfs.ext4 e2fsck resize2fs dumpe2fs debugfs mkfs.vfat fsck.vfat mcopy mtype sha256sum
cd "$WORK"

truncate -s 100M pc.img
sfdisk -q pc.img <<'EOF'
label: gpt
start=2048, size=65536, type=L
start=67584, size=40960, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
start=108544, size=65536, type=L
EOF
head -c 2000000 /dev/urandom >data.bin
mkdir -p files && cp data.bin files/
truncate -s 32M ext.part && mkfs.ext4 -q -F -E nodiscard -L E -d files ext.part
truncate -s 20M fat.part && mkfs.vfat -F 16 -n F fat.part >/dev/null && mcopy -i fat.part data.bin ::/
# A 24 MiB ext4 in a 32 MiB partition.
truncate -s 24M small.part && mkfs.ext4 -q -F -E nodiscard -L S -d files small.part
dd if=ext.part of=pc.img bs=512 seek=2048 conv=notrunc status=none
dd if=fat.part of=pc.img bs=512 seek=67584 conv=notrunc status=none
dd if=small.part of=pc.img bs=512 seek=108544 conv=notrunc status=none
src_sum=$(sha256sum <pc.img)

part() { # part RAW N OUT: partition N of RAW into OUT
    local s n
    s=$(sfdisk --json "$1" | jq ".partitiontable.partitions[$(($2 - 1))].start")
    n=$(sfdisk --json "$1" | jq ".partitiontable.partitions[$(($2 - 1))].size")
    dd if="$1" of="$3" bs=512 skip="$s" count="$n" status=none
}

# Larger: ext4 grown, FAT unchanged in size; both clean.
expect_exit 0 "$P2V" convert -O raw --no-msr -o big.raw pc.img:1=64M pc.img:2=40M
grep -q "pc.img:1: ext4 grown to 64.0 MiB" "$WORK/last.err" ||
    fail "no ext4 grow notice: $(cat "$WORK/last.err")"
grep -q "pc.img:2: FAT keeps its size" "$WORK/last.err" || fail "no FAT notice: $(cat "$WORK/last.err")"
check_eq "ext4 partition" $((64 << 20)) $(( $(sfdisk --json big.raw | jq '.partitiontable.partitions[0].size') * 512 ))
part big.raw 1 e.out
e2fsck -fn e.out >/dev/null 2>&1 || fail "e2fsck -fn"
check_eq "ext4 size (grown)" $((64 << 20)) \
    $(( $(dumpe2fs -h e.out 2>/dev/null | sed -n 's/^Block count: *//p') * \
        $(dumpe2fs -h e.out 2>/dev/null | sed -n 's/^Block size: *//p') ))
check_eq "ext4 file" "$(sha256sum <data.bin)" "$(debugfs -R 'cat /data.bin' e.out 2>/dev/null | sha256sum)"
part big.raw 2 f.out
fsck.vfat -n f.out >/dev/null || fail "fsck.vfat -n"
check_eq "FAT file" "$(sha256sum <data.bin)" "$(mtype -i f.out ::/data.bin | sha256sum)"
pass "ext4 grown and FAT kept in larger partitions, check clean"

# Smaller than the filesystem: refused, nothing written.
expect_exit 1 "$P2V" convert -O raw -o no.raw pc.img:1=16M
grep -q "pc.img:1: 16.0 MiB (16777216 bytes) is smaller than its ext4 filesystem (32.0 MiB, 33554432 bytes); shrinking ext2/3/4 is not supported" \
    "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e no.raw ] || fail "refused ext4 shrink wrote OUTPUT"
expect_exit 1 "$P2V" convert -O raw -o no.raw pc.img:2=10M
grep -q "smaller than its FAT filesystem" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e no.raw ] || fail "refused FAT shrink wrote OUTPUT"
pass "ext4 and FAT shrinks refused"

# =min: ext4 keeps its size; the 24 MiB ext4 in 32 MiB is cut to 24 MiB.
expect_exit 0 "$P2V" convert -O raw -o min.raw pc.img:3=min pc.img:1=min
grep -q "pc.img:1=min: .*keeps its size" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
check_eq "small ext4 partition cut to its filesystem" $((24 << 20)) \
    $(( $(sfdisk --json min.raw | jq '.partitiontable.partitions[0].size') * 512 ))
part min.raw 1 s.out
e2fsck -fn s.out >/dev/null 2>&1 || fail "e2fsck -fn (cut)"
check_eq "cut ext4 file" "$(sha256sum <data.bin)" "$(debugfs -R 'cat /data.bin' s.out 2>/dev/null | sha256sum)"
check_eq "source unchanged" "$src_sum" "$(sha256sum <pc.img)"
pass "=min on ext4"

# Bad sizes are usage errors.
expect_exit 2 "$P2V" convert -O raw -o no.raw pc.img:1=lots
grep -q "not a partition selection" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
# (--min-free 0 is a margin of its own now: resize_min_free_zero.sh)
expect_exit 2 "$P2V" convert -O raw -o no.raw --min-free lots pc.img:1=min
grep -q "invalid size for --min-free" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e no.raw ] || fail "a usage error wrote OUTPUT"
pass "bad sizes refused as usage errors"

# Grown by less than another block group needs (255 blocks of 1 KiB after 8
# full groups): nothing for p2v to grow, and nothing for resize2fs either
# ("Nothing to do!"), so the notice does not send the user to resize2fs.
truncate -s 65537K small.part
mkfs.ext4 -q -F -b 1024 small.part 65537
truncate -s 66M small.img
echo "start=2048, size=131074, type=83" | sfdisk -q small.img
dd if=small.part of=small.img bs=1M seek=1 conv=notrunc,sparse status=none
cp small.part r2fs.part
truncate -s 65792K r2fs.part
resize2fs r2fs.part >r2fs.out 2>&1 || true
grep -q "Nothing to do" r2fs.out || fail "resize2fs would grow it: $(cat r2fs.out)"
# (--align 256K: the last partition would otherwise end at the next MiB)
expect_exit 0 "$P2V" convert -O raw --align 256K -o small.raw small.img:1=65792K
grep -q "small.img:1: ext4 keeps its size (the new space is too small for another block group; resize2fs would not grow it either)" \
    "$WORK/last.err" || fail "less than a group: $(cat "$WORK/last.err")"
! grep -q "resize2fs in the guest" "$WORK/last.err" || fail "sends the user to resize2fs: $(cat "$WORK/last.err")"
dd if=small.raw of=small.out bs=256K skip=1 count=257 status=none
e2fsck -fn small.out >/dev/null 2>&1 || fail "less than a group: e2fsck -fn of the output"
check_eq "less than a group: block count" 65537 \
    "$(dumpe2fs -h small.out 2>/dev/null | sed -n 's/^Block count: *//p')"
pass "grown by less than a group: kept, and the notice says resize2fs would not grow it either"
