#!/bin/bash
# A stalled NBD server (nbdkit SIGSTOPped in the middle of a copy) must not
# hang p2v: with --io-timeout 3 the run fails within a few seconds naming the
# server and what p2v waited for; a SIGTERM or SIGINT during the stall ends
# the run at once (exit 1, "interrupted by a signal"); no OUTPUT and no
# temporary file is left. The same for a stalled NBD target and for a server
# that stalls before the handshake.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk nbdkit

cd "$WORK"
# --io-timeout is documented and takes a number of seconds.
"$P2V" convert --help >help.txt
grep -q -- '--io-timeout SECONDS' help.txt || fail "--io-timeout not in convert --help"
expect_exit 2 "$P2V" convert --io-timeout 0 -o out.qcow2 x.img:1
grep -q -- "--io-timeout must be a number from 1 to 86400, not '0'" "$WORK/last.err" ||
    fail "bad --io-timeout: $(cat "$WORK/last.err")"
expect_exit 2 "$P2V" img compare --io-timeout x a b

# (start_nbdkit, common.sh: the nbdkit on $WORK/NAME.sock; $srv is its pid)
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# within LOW HIGH SECONDS: is LOW <= SECONDS <= HIGH?
within() { awk -v l="$1" -v h="$2" -v s="$3" 'BEGIN { exit !(s >= l && s <= h) }'; }
nothing_left() {
    [ ! -e out.qcow2 ] || fail "$1: OUTPUT left"
    [ -z "$(ls -A | grep p2v- || true)" ] || fail "$1: temporary file left: $(ls -A)"
}
# copying_run ARGS...: p2v convert ARGS in the background (stdout run.out,
# stderr run.err, pid $pid), until its temporary file for out.qcow2 appears
# (the copy has begun) and 0.3 s more.
copying_run() {
    "$P2V" convert "$@" >run.out 2>run.err &
    pid=$!
    wait_temp out.qcow2 300 || fail "no temporary file appeared: $(cat run.err)"
    sleep 0.3
}
# stalled WHAT LOW HIGH [SIG]: stop the server ($srv) under the run $pid (with
# SIG: send it to the run a second later); the run must end with exit status
# 1 between LOW and HIGH seconds after the stall (or the signal): $t.
stalled() {
    local what=$1 low=$2 high=$3 sig=${4:-} rc=0 t0
    kill -STOP "$srv"
    if [ -n "$sig" ]; then sleep 1; fi
    t0=$(now)
    if [ -n "$sig" ]; then kill -"$sig" "$pid"; fi
    wait "$pid" || rc=$?
    t=$(elapsed "$t0" "$(now)")
    check_eq "exit status after $what" 1 "$rc"
    within "$low" "$high" "$t" || fail "$what: the run ended after $t s, not within $low-$high s"
}

# A source disk of 128 MiB of data (no filesystem: every sector is copied),
# served with a delay on every read so that the copy lasts a few seconds.
truncate -s 160M src.img
sfdisk -q src.img <<<'label: dos
start=2048, size=262144, type=83'
head -c 128M /dev/zero | tr '\0' 'p' | dd of=src.img bs=1M seek=1 conv=notrunc status=none
src_uri() { echo "nbd+unix:///?socket=$WORK/src.sock"; }

# --- a source that stalls mid-copy, --io-timeout 3: fails naming the server
start_nbdkit src --filter=delay file src.img rdelay=100ms
copying_run --io-timeout 3 -o out.qcow2 "$(src_uri):1"
stalled "the timeout" 2.5 10
grep -qF "$(src_uri): no answer from the NBD server for 3 s while waiting for a read of" run.err ||
    fail "server and wait not named: $(cat run.err)"
nothing_left "timeout"
echo "source stall, --io-timeout 3: failed after $t s: $(grep -m1 "no answer" run.err)"
pass "a stalled source fails after --io-timeout, naming the server"
kill -9 "$srv"

# --- the same stall, SIGTERM and SIGINT (default timeout): the run ends at once
for sig in TERM INT; do
    start_nbdkit src --filter=delay file src.img rdelay=100ms
    copying_run -o out.qcow2 "$(src_uri):1"
    stalled "SIG$sig" 0 2 "$sig"
    grep -q "interrupted by a signal" run.err || fail "no interrupt message: $(cat run.err)"
    nothing_left "SIG$sig"
    echo "source stall, SIG$sig: ended after $t s: $(grep -m1 interrupted run.err)"
    pass "SIG$sig during a stalled source read: exit 1 at once, nothing left"
    kill -9 "$srv"
done

# --- a server that stalls before the handshake: the connection times out
start_nbdkit src file src.img
kill -STOP "$srv"
t0=$(now)
expect_exit 1 "$P2V" convert --io-timeout 2 -o out.qcow2 "$(src_uri):1"
t=$(elapsed "$t0" "$(now)")
within 1.5 8 "$t" || fail "connect timed out after $t s"
grep -qF "$(src_uri): no answer from the NBD server for 2 s while waiting for the connection" \
    "$WORK/last.err" || fail "connect timeout not named: $(cat "$WORK/last.err")"
nothing_left "connect"
echo "stalled before the handshake, --io-timeout 2: failed after $t s: $(grep -m1 "no answer" "$WORK/last.err")"
pass "a server silent at connect fails after --io-timeout"
# the img commands that read NBD exports take it too
t0=$(now)
expect_exit 2 "$P2V" img compare --io-timeout 2 "$(src_uri)" src.img
t=$(elapsed "$t0" "$(now)")
within 1.5 8 "$t" || fail "img compare timed out after $t s"
grep -qF "$(src_uri): no answer from the NBD server for 2 s" "$WORK/last.err" ||
    fail "img compare: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" img convert --io-timeout 2 "$(src_uri)" out.qcow2
grep -qF "$(src_uri): no answer from the NBD server for 2 s" "$WORK/last.err" ||
    fail "img convert: $(cat "$WORK/last.err")"
nothing_left "img convert"
pass "img compare and img convert: --io-timeout on a silent server"
kill -9 "$srv"

# --- a target that stalls mid-copy: the write wait times out, then a signal
cp src.img local.img
start_nbdkit dst -t 1 --filter=delay memory 1G wdelay=200ms
dst_uri="nbd+unix:///?socket=$WORK/dst.sock"
"$P2V" convert --io-timeout 3 -o "$dst_uri" local.img:1 >run.out 2>run.err &
pid=$!
sleep 1.5
stalled "the target's timeout" 2.5 10
grep -qF "$dst_uri: no answer from the NBD server for 3 s while waiting for a" run.err ||
    fail "target not named: $(cat run.err)"
grep -q "the export is partly written and is not a valid disk" run.err ||
    fail "partly written export not said: $(cat run.err)"
echo "target stall, --io-timeout 3: failed after $t s: $(grep -m1 "no answer" run.err)"
pass "a stalled target fails after --io-timeout, naming the export"
kill -9 "$srv"

start_nbdkit dst -t 1 --filter=delay memory 1G wdelay=200ms
"$P2V" convert -o "$dst_uri" local.img:1 >run.out 2>run.err &
pid=$!
sleep 1.5
stalled "SIGTERM (target)" 0 2 TERM
grep -q "interrupted by a signal" run.err || fail "no interrupt message: $(cat run.err)"
echo "target stall, SIGTERM: ended after $t s: $(grep -m1 interrupted run.err)"
pass "SIGTERM during a stalled target write: exit 1 at once"
