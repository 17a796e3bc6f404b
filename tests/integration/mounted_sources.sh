#!/bin/bash
# A source still mounted: partitions of an image file mounted through loop
# devices with offsets: ext4 by the kernel, NTFS by ntfs-3g and FAT by fusefat
# (both FUSE). Read-write mounted: refused naming the mount point, before any
# output exists, whether the disk is given as the image file or as a loop
# device over it; read-only: copied with a notice; --allow-mounted: copied
# with a warning. A partition of the same disk that is not mounted is copied
# without a word about mounts.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk losetup mkfs.ext4 mkntfs ntfs-3g mkfs.vfat fusefat fusermount3
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting needs root" >&2; exit 77; }

cd "$WORK"
truncate -s 100M disk.img
printf 'start=2048,size=40960,type=83\nstart=43008,size=40960,type=7\nstart=83968,size=40960,type=c\nstart=124928,size=20480,type=83\n' |
    sfdisk -q disk.img
p1=$(losetup_attach -o $((2048 * 512)) --sizelimit 20MiB disk.img)
p2=$(losetup_attach -o $((43008 * 512)) --sizelimit 20MiB disk.img)
p3=$(losetup_attach -o $((83968 * 512)) --sizelimit 20MiB disk.img)
whole=$(losetup_attach disk.img)
mkfs.ext4 -q -F "$p1"
mkntfs -q -F -Q "$p2" >/dev/null 2>&1
mkfs.vfat "$p3" >/dev/null
mkfs.ext4 -q -F -E offset=$((124928 * 512)) disk.img 10M
mkdir m1 m2 m3
mount_all() { # MODE (rw|ro)
    local fat=rw+
    [ "$1" = ro ] && fat=ro
    mount -o "$1" "$p1" m1 && track_mount "$WORK/m1"
    ntfs-3g -o "$1" "$p2" m2 && track_mount "$WORK/m2"
    fusefat -o "$fat,fsname=$p3" "$p3" m3 2>/dev/null && track_mount "$WORK/m3"
}
umount_all() { umount m1; umount m2; umount m3; }

mount_all rw
for src in disk.img "$whole"; do
    n=0
    for mp in m1 m2 m3; do
        n=$((n + 1))
        expect_exit 1 "$P2V" convert -O raw -o out.raw "$src:$n"
        grep -q "^p2v: $src:$n: mounted read-write on $WORK/$mp (.*); unmount it or remount it read-only, or pass --allow-mounted to copy it anyway$" "$WORK/last.err" ||
            { cat "$WORK/last.err"; fail "$src:$n rw: message"; }
        [ -z "$(ls -A | grep out.raw || true)" ] || fail "$src:$n: output left"
    done
    pass "$src: rw-mounted ext4, ntfs-3g and fusefat partitions refused, naming the mount point"
done
# The unmounted partition 4 of the same disk copies, and says nothing of mounts.
expect_exit 0 "$P2V" convert -O raw -o p4.raw disk.img:4
grep -q mounted "$WORK/last.err" && fail "partition 4 is not mounted"
pass "an unmounted partition of a disk with mounted ones copies"
# --allow-mounted: FAT and NTFS (ext4 mounted rw needs journal recovery, so --allow-dirty too)
expect_exit 0 "$P2V" convert -O raw --allow-mounted -o am.raw disk.img:3 disk.img:2
grep -q "warning: disk.img:3: mounted read-write on $WORK/m3 (fuse[a-z.]*); copying it anyway (--allow-mounted)" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "--allow-mounted warning"; }
expect_exit 0 "$P2V" convert -O raw --allow-mounted --allow-dirty -o am1.raw disk.img:1
grep -q "warning: disk.img:1: mounted read-write on $WORK/m1 (ext4)" "$WORK/last.err" || fail "ext4 --allow-mounted"
pass "--allow-mounted copies with a warning"
umount_all

mount_all ro
for n in 1 2 3; do
    expect_exit 0 "$P2V" convert -O raw -f -o ro.raw "disk.img:$n"
    grep -q "notice: disk.img:$n: mounted read-only on $WORK/m$n (.*); copying it as it is" "$WORK/last.err" ||
        { cat "$WORK/last.err"; fail "disk.img:$n ro: notice"; }
done
pass "read-only mounts are copied with a notice"
umount_all
