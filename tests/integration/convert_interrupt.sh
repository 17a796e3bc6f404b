#!/bin/bash
# All or nothing: Ctrl-C (SIGINT), SIGTERM, SIGHUP (a dropped ssh session),
# SIGPIPE, SIGQUIT or SIGUSR1 in the middle of a copy, and a
# full target filesystem, leave no OUTPUT and no temporary file; exit 1 with
# a message.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mount umount

cd "$WORK"
# A 32 GiB sparse source: reading it takes long enough to interrupt.
truncate -s 32G big.img
sfdisk -q big.img <<<'label: dos
start=2048, type=83'

for sig in INT TERM HUP PIPE QUIT USR1; do
    "$P2V" convert -o out.qcow2 big.img:1 >run.out 2>run.err &
    pid=$!
    wait_temp out.qcow2 200 || fail "no temporary file appeared while copying"
    sleep 0.2
    interrupt_run "$sig" "$pid" out.qcow2 run.err "interrupted"
    pass "SIG$sig mid-copy: exit 1, nothing left"
done

# A nearly full filesystem for OUTPUT: ENOSPC.
mkdir small
if ! mount -t tmpfs -o size=4m tmpfs small 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs for the ENOSPC check" >&2
    exit 77
fi
track_mount "$WORK/small"
truncate -s 64M data.img
sfdisk -q data.img <<<'label: dos
start=2048, type=83'
head -c 20M /dev/urandom | dd of=data.img bs=1M seek=1 conv=notrunc status=none
for fmt in qcow2 raw; do
    expect_exit 1 "$P2V" convert -O $fmt -o small/out.img data.img:1
    grep -q "No space left on device" "$WORK/last.err" || fail "ENOSPC ($fmt) message: $(cat "$WORK/last.err")"
    grep -q "was not written" "$WORK/last.err" || fail "ENOSPC ($fmt): no 'not written'"
    [ -z "$(ls -A small)" ] || fail "files left on the full filesystem ($fmt): $(ls -A small)"
    pass "full target filesystem ($fmt): exit 1, nothing left"
done
