#!/bin/bash
# -o -: the qcow2 (or raw) image streamed to standard output, never seeking.
# Piped through cat it passes qemu-img check and equals the seekable output
# of the same plan (only the random disk signature differs); a reader that
# goes away mid-stream ends the run with exit 1 and a message.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 qemu-img cmp

cd "$WORK"
MKPC_FILES=2 MKPC_FILE_KB=400
mkpc_disk1 disk1.img
mkpc_disk2 disk2.img
sels=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)

# same signature in both runs would need a seed; compare all but bytes 440-443
same_but_signature() {
    local diff
    diff=$(cmp -l "$1" "$2" | awk '$1 < 441 || $1 > 444' | head -3 || true)
    [ -z "$diff" ] || fail "$1 and $2 differ beyond the disk signature: $diff"
}

for fmt in qcow2 raw; do
    "$P2V" convert -O $fmt -o - "${sels[@]}" 2>stream.err | cat >stream.$fmt ||
        fail "stream ($fmt) failed: $(cat stream.err)"
    grep -q "standard output written" stream.err || fail "no summary: $(cat stream.err)"
    expect_exit 0 "$P2V" convert -O $fmt -o file.$fmt "${sels[@]}"
    qemu-img info -f $fmt --output=json stream.$fmt | grep -q '"virtual-size": 254803968' ||
        fail "stream.$fmt virtual size"
    if [ $fmt = qcow2 ]; then
        qemu-img check stream.qcow2 >check.out || fail "qemu-img check: $(cat check.out)"
        grep -q "No errors were found" check.out || fail "$(cat check.out)"
        "$P2V" img check stream.qcow2 >/dev/null || fail "p2v img check"
        qemu-img convert -O raw stream.qcow2 s.raw
        qemu-img convert -O raw file.qcow2 f.raw
        same_but_signature s.raw f.raw
    else
        same_but_signature stream.raw file.raw
    fi
    pass "-O $fmt -o - equals the file output"
done

# Through a real pipe that never seeks (a fifo read by cat).
mkfifo pipe
cat pipe >fifo.qcow2 &
"$P2V" convert -o - "${sels[@]}" 2>/dev/null >pipe
wait
qemu-img check -q fifo.qcow2 || fail "fifo stream check"
pass "stream through a fifo"

# Refusals: no --verify, no -c, no --json with -o -.
expect_exit 2 "$P2V" convert --verify -o - disk1.img:3
grep -q -- "--verify cannot read a stream back" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert -c zstd -o - disk1.img:3
grep -q "cannot be streamed" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert --json -o - disk1.img:3

# The reader goes away: exit 1, the message says so.
set +e
"$P2V" convert -o - "${sels[@]}" 2>broken.err | head -c 100000 >/dev/null
st=${PIPESTATUS[0]}
set -e
check_eq "exit status when the reader goes away" 1 "$st"
grep -q "Broken pipe (the reader went away)" broken.err || fail "$(cat broken.err)"
grep -q "the image on standard output is incomplete" broken.err || fail "$(cat broken.err)"

# -o - with standard output on a terminal (issue 25 item 13): refused before
# anything is read or written, as gzip refuses; the terminal (a pty made by
# script) gets the one line and no image bytes. Redirected, the same runs.
if command -v script >/dev/null; then
    code=0
    script -qec "$(printf '%q ' "$P2V" convert -O raw -o - "${sels[@]}")" tty.log </dev/null >/dev/null || code=$?
    check_eq "exit status on a terminal" 1 "$code"
    grep -q "p2v: -o -: standard output is a terminal; not writing a disk image to it" tty.log ||
        fail "no refusal on the terminal: $(head -c 500 tty.log | cat -v)"
    [ "$(stat -c %s tty.log)" -lt 2048 ] || fail "image bytes reached the terminal ($(stat -c %s tty.log) bytes)"
    code=0
    script -qec "$(printf '%q ' "$P2V" convert --dry-run -O raw -o - "${sels[@]}")" tty2.log </dev/null >/dev/null || code=$?
    check_eq "a dry run on a terminal" 0 "$code"
    pass "-o - onto a terminal refused"
else
    echo "note: no script(1): terminal check skipped" >&2
fi
