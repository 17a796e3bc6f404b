#!/bin/bash
# What convert refuses about drivers, before writing anything: a virtio bus
# without its driver, an unreadable ISO, a tree with no driver for this
# Windows; and the usage errors. Each: one clear line, no OUTPUT left.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g hivexregedit xorriso python3
mk=$P2V_SRC/tests/lib/mkvirtio.sh
cd "$WORK"

bash "$mk" tree tree
bash "$mk" windisk pc10.img win10
bash "$mk" windisk pc7.img win7

# refused CODE PATTERN ARGS...: exit CODE, stderr matches PATTERN, no image left
refused() {
    local code=$1 pattern=$2
    shift 2
    expect_exit "$code" "$P2V" convert "$@"
    grep -q -- "$pattern" "$WORK/last.err" || fail "expected '$pattern' in: $(cat "$WORK/last.err")"
    if ls "$WORK" | grep -q '^out'; then fail "an output was left: $(ls "$WORK" | grep '^out')"; fi
    pass "refused ($code): $(grep -m1 -- "$pattern" "$WORK/last.err")"
}

refused 1 "virtio-blk needs the viostor driver for Windows 10 (10.0.19045) client amd64" \
    -o out.qcow2 --target-bus virtio-blk pc10.img:2
refused 1 "virtio-scsi needs the vioscsi driver for Windows 10 (10.0.19045) client amd64" \
    --dry-run --target-bus virtio-scsi pc10.img:2

head -c 1048576 /dev/urandom >bad.iso
refused 1 "bad.iso: not a readable ISO 9660 image" -o out.qcow2 --drivers bad.iso pc10.img:2
refused 1 "nothere.iso: No such file or directory" -o out.qcow2 --drivers nothere.iso pc10.img:2

# A tree without Windows 7 drivers (w7 removed): nothing older to fall back to.
cp -r tree no7
find no7 -type d -name w7 -prune -exec rm -rf {} +
refused 1 "no driver for Windows 7 (6.1.7601) client amd64" -o out.qcow2 --drivers no7 pc7.img:2
# A tree without vioscsi: fine for virtio-blk, refused for virtio-scsi.
cp -r tree noscsi
rm -rf noscsi/vioscsi
refused 1 "virtio-scsi needs the vioscsi driver for Windows 10 (10.0.19045) client amd64, and the driver tree has none" \
    -o out.qcow2 --drivers noscsi --target-bus virtio-scsi pc10.img:2
expect_exit 0 "$P2V" convert --dry-run --drivers noscsi --target-bus virtio-blk pc10.img:2
pass "virtio-blk with a tree that has viostor only"

refused 2 "unknown --target-bus 'scsi'" -o out.qcow2 --target-bus scsi pc10.img:2
refused 2 "drivers cannot go with --no-windows-fixups" -o out.qcow2 --drivers tree --no-windows-fixups pc10.img:2
