#!/bin/bash
# ext feature sets beyond mkfs's defaults, grown in the copy: meta_bg (new
# descriptor blocks in the new meta groups), sparse_super2 (the second
# backup moves to the new last group), uninit_bg without metadata_csum, no
# resize inode but room left in the descriptor block. Where p2v cannot grow
# safely — no resize inode, no meta_bg and the descriptors would need a new
# block; a filesystem not cleanly unmounted — it keeps its size with the
# notice that resize2fs in the guest will do it, and the dry run says so.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/extgrow.sh"
ext_setup

mk() { # mk FILE SIZE MKFS-OPTIONS...
    local f=$1 s=$2
    shift 2
    truncate -s "$s" "$f" && mkfs.ext4 -q -F -b 1024 -E nodiscard -d files "$@" "$f"
}
mk meta.part 64M -O meta_bg,^resize_inode
mk ss2.part 64M -O sparse_super2
mk uninit.part 64M -O ^metadata_csum,uninit_bg
mk nores.part 64M -O ^resize_inode
ext_disk pc.img meta.part ss2.part uninit.part nores.part
src_sum=$(sha256sum <pc.img)

# meta_bg: 8 -> 32 groups, 16 descriptors (64 bytes) per block: a second meta group.
ext_convert_check "meta_bg" 1 files pc.img:1=256M pc.img:2
check_eq "meta_bg partition" $((256 << 20)) "$(cat grown.bytes)"
dumpe2fs grown.part 2>/dev/null | grep -A1 "^Group 16:" | grep -q "Group descriptor at" ||
    fail "meta_bg: no descriptor block in group 16"
ext_kernel_fill "meta_bg" grown.part

ext_convert_check "sparse_super2" 1 files pc.img:2=256M pc.img:1
check_eq "sparse_super2 backups" "1 31" \
    "$(dumpe2fs -h grown.part 2>/dev/null | sed -n 's/^Backup block groups: *//p' | xargs)"
ext_kernel_fill "sparse_super2" grown.part

ext_convert_check "uninit_bg" 1 files pc.img:3=200M pc.img:1
dumpe2fs grown.part 2>/dev/null | grep -q "^Group 20: .*INODE_UNINIT" || fail "uninit_bg: new groups not uninit"
ext_kernel_fill "uninit_bg" grown.part

# No resize inode: 8 -> 16 groups still fit in the one descriptor block.
ext_convert_check "no resize inode, room left" 1 files pc.img:4=128M pc.img:1
pass "meta_bg, sparse_super2, uninit_bg, no resize inode grown"

# ... but 32 groups would need a second descriptor block: the notice.
expect_exit 0 "$P2V" convert --dry-run -o no.qcow2 pc.img:4=256M pc.img:1
grep -q "pc.img:4: 64.0 MiB -> 256.0 MiB; ext4 keeps its size; resize2fs in the guest grows it to fill the partition (it needs 1 more group descriptor blocks and has 0 reserved for growth (no meta_bg))" \
    "$WORK/last.out" || fail "dry run: $(cat "$WORK/last.out")"
expect_exit 0 "$P2V" convert -O raw -o kept.raw pc.img:4=256M pc.img:1
grep -q "pc.img:4: ext4 keeps its size; resize2fs in the guest grows it" "$WORK/last.err" ||
    fail "no notice: $(cat "$WORK/last.err")"
ext_part kept.raw 1 kept.part >/dev/null
e2fsck -fn kept.part >/dev/null 2>&1 || fail "kept: e2fsck -fn"
check_eq "kept: block count" "$(ext_field nores.part "Block count")" "$(ext_field kept.part "Block count")"
pass "not enough descriptor room: size kept with the notice"

# A 24 MiB filesystem in a 32 MiB partition whose tail holds old random
# bytes: the new groups' inode tables read as zeros wherever they fall (in
# the old tail without flex_bg; packed into the old part with flex_bg).
itables_zero() { # itables_zero WHAT PART FIRST-NEW-GROUP
    local g t a z
    dumpe2fs "$2" 2>/dev/null | awk '/^Group /{g=$2+0} /Inode table at/{print g, $4}' |
    while read -r g t; do
        [ "$g" -ge "$3" ] || continue
        a=${t%-*} z=${t#*-}
        [ "$(dd if="$2" bs=1024 skip="$a" count=$((z - a + 1)) status=none | tr -d '\0' | wc -c)" = 0 ] ||
            fail "$1: inode table of new group $g ($t) is not zeros"
    done
    pass "$1: the new groups' inode tables are zeros"
}
for feat in ^flex_bg flex_bg; do
    head -c $((32 << 20)) /dev/urandom >tail.part
    mk short.part 24M -O "$feat"
    dd if=short.part of=tail.part conv=notrunc status=none
    rm -f tail.img
    ext_disk tail.img tail.part
    ext_convert_check "24 MiB in 32 MiB, $feat" 1 files tail.img:1=96M
    itables_zero "24 MiB in 32 MiB, $feat" grown.part 3
    ext_kernel_fill "24 MiB in 32 MiB, $feat" grown.part
done

# Not cleanly unmounted (state "not clean"): kept at its size, with the reason.
cp uninit.part dirty.part
debugfs -w -R "ssv state 0" dirty.part 2>/dev/null
ext_disk dirty.img dirty.part
expect_exit 0 "$P2V" convert -O raw -o dirty.raw dirty.img:1=128M
grep -q "dirty.img:1: ext4 keeps its size; resize2fs in the guest grows it to fill the partition (the filesystem is not clean (it was not cleanly unmounted))" \
    "$WORK/last.err" || fail "dirty: $(cat "$WORK/last.err")"
pass "not clean: size kept with the reason"
check_eq "source unchanged" "$src_sum" "$(sha256sum <pc.img)"
