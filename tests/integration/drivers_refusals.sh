#!/bin/bash
# What convert refuses about drivers, before writing anything: a virtio bus
# without its driver, an unreadable ISO, a tree with no driver for this
# Windows; and the usage errors. Each: one clear line, no OUTPUT left.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat hivexregedit xorriso python3 jq
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

# A driver tree is confined to itself (issue 25 item 1): a file that is a symbolic
# link out of the tree (here viostor.sys -> a host file) is refused naming it, and
# never copied into the guest; so is anything that is not a regular file.
echo "a host file, not a driver" >host-secret
cp -r tree esc
ln -sf "$WORK/host-secret" esc/viostor/w10/amd64/viostor.sys
refused 1 "esc/viostor/w10/amd64/viostor.sys: a symbolic link to $WORK/host-secret, outside the driver tree" \
    -o out.qcow2 --drivers esc pc10.img:2
refused 1 "outside the driver tree" --dry-run --drivers esc pc10.img:2
# A link to a directory outside, and a relative link climbing out with '..'.
cp -r tree escdir
ln -s /etc escdir/viostor/w10/etc
refused 1 "escdir/viostor/w10/etc: a symbolic link to /etc, outside the driver tree" \
    -o out.qcow2 --drivers escdir pc10.img:2
cp -r tree escrel
ln -sf ../../../../host-secret escrel/viostor/w10/amd64/viostor.cat
refused 1 "escrel/viostor/w10/amd64/viostor.cat: a symbolic link to $WORK/host-secret" \
    -o out.qcow2 --drivers escrel pc10.img:2
# A named pipe (reading it would block, or feed the guest anything).
cp -r tree fifo
mkfifo fifo/viostor/w10/amd64/extra.sys
refused 1 "fifo/viostor/w10/amd64/extra.sys: a named pipe, not a file a driver tree holds" \
    -o out.qcow2 --drivers fifo pc10.img:2
# A link that stays inside the tree is read through its target, as before.
cp -r tree inside
mv inside/viostor/w10/amd64/viostor.sys inside/viostor/w10/amd64/real.sys
ln -s real.sys inside/viostor/w10/amd64/viostor.sys
expect_exit 0 "$P2V" convert -O raw -o in.raw --drivers inside --target-bus virtio-blk pc10.img:2
start=$(sfdisk -J in.raw | jq '.partitiontable.partitions[0].start')
size=$(sfdisk -J in.raw | jq '.partitiontable.partitions[0].size')
dd if=in.raw of=in-win.img bs=512 skip="$start" count="$size" status=none
cmp <(ntfscat in-win.img /Windows/System32/drivers/viostor.sys) inside/viostor/w10/amd64/real.sys ||
    fail "viostor.sys in the image is not the link's target"
pass "a link inside the tree is read through its target"
rm -f in.raw in-win.img
# The tree given as a symbolic link to a directory is the directory.
ln -s tree treelink
expect_exit 0 "$P2V" convert --dry-run --drivers treelink --target-bus virtio-blk pc10.img:2
pass "the tree named through a link"

# A plan keeps --drivers and --target-bus (issue 25 item 4): its replay gets
# the same drivers and the same bus check, and --drivers on top replaces the
# tree's path (where the tree is on this machine).
expect_exit 0 "$P2V" convert --dry-run --save-plan drv.json --drivers tree --target-bus virtio-blk pc10.img:2
check_eq "plan: drivers, target_bus" '["tree","virtio-blk"]' "$(jq -c '.options | [.drivers, .target_bus]' drv.json)"
expect_exit 0 "$P2V" convert --dry-run --json --plan drv.json
check_eq "replay: viostor from the plan's tree" "viostor/w10/amd64/viostor.inf" \
    "$(jq -r '.windows_drivers[0].changes.drivers[] | select(.service=="viostor") | .inf' "$WORK/last.out")"
jq '.options.drivers = null' drv.json >nodrv.json
refused 1 "virtio-blk needs the viostor driver for Windows 10 (10.0.19045) client amd64" --plan nodrv.json -o out.qcow2
mv tree moved-tree
refused 1 "--drivers: tree: No such file or directory" --plan drv.json -o out.qcow2
expect_exit 0 "$P2V" convert --dry-run --plan drv.json --drivers moved-tree
pass "--drivers on top of a plan replaces its tree"
refused 2 "--plan: --target-bus comes from the plan file" --plan drv.json --target-bus sata -o out.qcow2
mv moved-tree tree
