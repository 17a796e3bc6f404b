#!/bin/bash
# p2v disks on a qcow2 image lists exactly what it lists on the raw disk the
# image was made from (partitions through the qcow2 reader, filesystems
# through the probe's memfd path).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/sample_disks.sh"
need qemu-img jq sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 mkswap

for kind in mbr gpt; do
    raw=$WORK/$kind.img q=$WORK/$kind.qcow2
    "make_sample_$kind" "$raw"
    qemu-img convert -O qcow2 "$raw" "$q"
    a=$("$P2V" disks --json "$raw" | jq -S '.disks[0] | del(.path)')
    b=$("$P2V" disks --json "$q" | jq -S '.disks[0] | del(.path)')
    if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") || true
        fail "$kind: qcow2 listing differs from raw"
    fi
    [ "$(jq '[.partitions[] | select(.fstype != null)] | length' <<<"$b")" -ge 4 ] || fail "$kind: filesystems not identified through qcow2"
    pass "$kind: qcow2 and raw listings are identical ($(jq '.partitions | length' <<<"$b") partitions)"
done
