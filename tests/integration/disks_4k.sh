#!/bin/bash
# 4096-byte sectors end to end: a GPT made by sgdisk on a loop device with
# 4096-byte logical sectors, read through the device (BLKSSZGET) and from the
# image file (detected from the GPT position, or given by --sector-size).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
need sfdisk sgdisk jq losetup

img=$WORK/4k.img
truncate -s 64M "$img"
dev=$(losetup_attach --sector-size 4096 "$img") || { echo "SKIP: no loop device" >&2; exit 77; }
_p2v_loops+=("$dev") # losetup_attach ran in a subshell: register for the cleanup here
check_eq "loop sector size" 4096 "$(blockdev --getss "$dev")"
sgdisk -o -n 1:0:+8M -t 1:ef00 -n 2:0:+16M -t 2:0700 -n 3:0:+4M -t 3:8300 "$dev" >/dev/null
sgdisk -v "$dev" | grep -q "No problems found" || fail "sgdisk made a bad table"

same_parts "4Kn GPT on the loop device" "$dev" -- "$dev"
check_eq "sector size (device)" 4096 "$("$P2V" disks --json "$dev" | jq -r '.disks[0].sector_size')"

same_parts "4Kn GPT image, detected" "$img" -- "$dev"
"$P2V" disks "$img" >/dev/null 2>"$WORK/err"
grep -q "p2v: notice: $img: GPT header found at byte 4096, not 512: reading with 4096-byte sectors" "$WORK/err" \
    || fail "no notice about the detected sector size"
pass "detected sector size is reported"
same_parts "4Kn GPT image, --sector-size 4096" "$img" --sector-size 4096 -- "$dev"

# Told the wrong sector size: one line, exit 1.
expect_msg 1 "sector-size mismatch: a GPT header sits at byte 4096, so the table was written for 4096-byte sectors but the disk is read with 512-byte sectors" \
    "$P2V" disks --sector-size 512 "$img"

# An MBR made through a 512-byte loop device and one through a 4096-byte one.
img2=$WORK/mbr4k.img
truncate -s 32M "$img2"
dev2=$(losetup_attach --sector-size 4096 "$img2") || { echo "SKIP: no second loop device" >&2; exit 77; }
_p2v_loops+=("$dev2")
sfdisk -q "$dev2" <<'SF'
label: dos
start=256, size=1024, type=7
start=2048, type=5
start=2304, size=512, type=83
start=3072, size=512, type=83
SF
same_parts "4Kn MBR with logicals on the loop device" "$dev2" -- "$dev2"
same_parts "4Kn MBR image with --sector-size 4096" "$img2" --sector-size 4096 -- "$dev2"

# With no DISK, loop devices with a backing file are listed with the others.
"$P2V" disks --json >"$WORK/all.json" 2>"$WORK/all.err" || true
check_eq "loop devices in the full listing" 2 \
    "$(jq -r --arg a "$dev" --arg b "$dev2" '[.disks[] | select(.path == $a or .path == $b)] | length' "$WORK/all.json")"
check_eq "4Kn loop listed with its sector size" 4096 \
    "$(jq -r --arg a "$dev" '.disks[] | select(.path == $a) | .sector_size' "$WORK/all.json")"

# An image file of a 4Kn disk with an MBR: no GPT to tell, the partitions'
# filesystems do (FAT and NTFS with 4096-byte sectors, made through
# 4096-byte loop devices). Detected, with a notice; sfdisk through a
# 4096-byte loop device is the oracle.
need mkfs.vfat mkntfs blkid
img3=$WORK/m4k.img
truncate -s 64M "$img3"
dev3=$(losetup_attach --sector-size 4096 "$img3") || { echo "SKIP: no third loop device" >&2; exit 77; }
_p2v_loops+=("$dev3")
printf 'label: dos\nstart=256,size=4096,type=c\nstart=5000,size=4096,type=7\n' |
    sfdisk -q --no-reread --no-tell-kernel "$dev3"
p1=$(losetup_attach --sector-size 4096 -o $((256 * 4096)) --sizelimit $((4096 * 4096)) "$img3")
_p2v_loops+=("$p1")
mkfs.vfat -n M4KFAT "$p1" >/dev/null
p2=$(losetup_attach --sector-size 4096 -o $((5000 * 4096)) --sizelimit $((4096 * 4096)) "$img3")
_p2v_loops+=("$p2")
mkntfs -q -Q -F -s 4096 -p 5000 -H 255 -S 63 -L M4KNTFS "$p2" >/dev/null 2>&1
bps() { od -An -tu2 -j $(($1 + 11)) -N2 "$img3" | tr -d ' '; }
check_eq "FAT made with 4096-byte sectors (BPB)" 4096 "$(bps $((256 * 4096)))"
check_eq "NTFS made with 4096-byte sectors (BPB)" 4096 "$(bps $((5000 * 4096)))"
same_parts "4Kn MBR image, detected from its filesystems" "$img3" -- "$dev3"
"$P2V" disks --json "$img3" >"$WORK/m4k.json" 2>"$WORK/m4k.err"
grep -qF "p2v: notice: $img3: the MBR's partitions hold filesystems laid out for 4096-byte sectors (none read with 512-byte sectors): reading with 4096-byte sectors" "$WORK/m4k.err" ||
    { cat "$WORK/m4k.err" >&2; fail "no notice about the detected sector size (MBR)"; }
! grep -q "warning" "$WORK/m4k.err" || { cat "$WORK/m4k.err" >&2; fail "unexpected warning"; }
check_eq "4Kn MBR image sector size" 4096 "$(jq -r '.disks[0].sector_size' "$WORK/m4k.json")"
check_eq "4Kn MBR image filesystems" "vfat M4KFAT ntfs M4KNTFS" \
    "$(jq -r '[.disks[0].partitions[] | "\(.fstype) \(.label)"] | join(" ")' "$WORK/m4k.json")"
# Told 512: kept (no guessing over an explicit size).
check_eq "--sector-size 512 kept" 512 "$("$P2V" disks --json --sector-size 512 "$img3" 2>/dev/null | jq -r '.disks[0].sector_size')"
# --sector-size is for image files: a block device keeps its own.
check_eq "--sector-size 512 on a 4096-byte device" 4096 "$("$P2V" disks --json --sector-size 512 "$dev3" 2>/dev/null | jq -r '.disks[0].sector_size')"
