#!/bin/bash
# -o nbd://…: the disk written straight into an NBD export. nbdkit's memory
# plugin (holding old data first: what p2v does not write must read as zeros)
# and qemu-nbd in front of a qcow2 as targets; the result equals the file
# output; --verify reads back over NBD; a too-small export is refused before
# anything is written; a server killed mid-copy ends in exit 1 with a message.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 qemu-img qemu-nbd nbdkit nbdcopy cmp

cd "$WORK"
MKPC_FILES=2 MKPC_FILE_KB=400
mkpc_disk1 disk1.img
mkpc_disk2 disk2.img
sels=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)
expect_exit 0 "$P2V" convert -O raw -o file.raw "${sels[@]}"
size=$(stat -c %s file.raw)

same_but_signature() {
    local diff
    diff=$(cmp -l "$1" "$2" | awk '$1 < 441 || $1 > 444' | head -3 || true)
    [ -z "$diff" ] || fail "$1 and $2 differ beyond the disk signature: $diff"
}

# --- nbdkit memory plugin, pre-filled with junk
head -c "$size" /dev/urandom >junk.raw
start_nbdkit mem memory "$size"
nbdcopy junk.raw "nbd+unix:///?socket=$WORK/mem.sock"
expect_exit 0 "$P2V" convert --verify -o "nbd+unix:///?socket=$WORK/mem.sock" "${sels[@]}"
grep -q "verified" "$WORK/last.err" || fail "not verified: $(cat "$WORK/last.err")"
nbdcopy "nbd+unix:///?socket=$WORK/mem.sock" mem.raw
same_but_signature mem.raw file.raw
sgdisk -v mem.raw >/dev/null 2>&1 || true
pass "nbdkit memory export holds the image (old data zeroed)"

# --- qemu-nbd in front of a qcow2 (TCP on loopback, a free port)
port=$(( 20000 + RANDOM % 20000 ))
qemu-img create -q -f qcow2 target.qcow2 "$size"
qemu-nbd -f qcow2 -t -p "$port" -b 127.0.0.1 -x pc --pid-file "$WORK/qnbd.pid" target.qcow2 &
for _ in $(seq 50); do [ -s qnbd.pid ] && break; sleep 0.1; done
track_pid "$(cat qnbd.pid)"
sleep 0.3
expect_exit 0 "$P2V" convert -o "nbd://127.0.0.1:$port/pc" "${sels[@]}"
kill "$(cat qnbd.pid)"; wait || true
qemu-img check -q target.qcow2 || fail "qemu-img check of the qcow2 behind qemu-nbd"
qemu-img convert -O raw target.qcow2 q.raw
same_but_signature q.raw file.raw
pass "qemu-nbd over a qcow2 holds the image"

# --- too small: refused before writing
start_nbdkit small memory 64M
nbdcopy <(head -c 64M /dev/zero | tr '\0' 'x') "nbd+unix:///?socket=$WORK/small.sock"
expect_exit 1 "$P2V" convert -o "nbd+unix:///?socket=$WORK/small.sock" "${sels[@]}"
grep -q "NBD export nbd+unix:///?socket=$WORK/small.sock (67108864 bytes)" "$WORK/last.err" ||
    fail "too small not named: $(cat "$WORK/last.err")"
nbdcopy "nbd+unix:///?socket=$WORK/small.sock" small.raw
check_eq "small export untouched" "$(head -c 64M /dev/zero | tr '\0' 'x' | sha256sum)" "$(sha256sum <small.raw)"
expect_exit 2 "$P2V" convert --size 1G -o "nbd+unix:///?socket=$WORK/mem.sock" "${sels[@]}"
grep -q "the disk takes the export's size" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"

# --- the server dies mid-copy: a large export and a source that takes time
truncate -s 2G big.img
sfdisk -q big.img <<<'label: dos
start=2048, type=83'
head -c 1500M /dev/zero | tr '\0' 'p' | dd of=big.img bs=1M seek=1 conv=notrunc status=none
start_nbdkit die memory 2G
( sleep 1; kill -9 "$(cat die.pid)" ) &
expect_exit 1 "$P2V" convert -o "nbd+unix:///?socket=$WORK/die.sock" big.img:1
grep -q "the export is partly written and is not a valid disk" "$WORK/last.err" ||
    fail "no clear message: $(cat "$WORK/last.err")"
pass "server killed mid-copy: exit 1, partly written export named"
