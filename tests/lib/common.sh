# Shared helpers for integration tests. Source it after `set -euo pipefail`.
# Provides: $P2V (the binary), $WORK (a scratch dir removed on exit), need,
# fail, pass, check_eq, expect_exit, err_has, wait_temp, interrupt_run,
# track_pid, wait_until, start_nbdkit.

: "${P2V:?P2V must point at the p2v binary (ctest sets it)}"
: "${P2V_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PATH="$PATH:/usr/sbin:/sbin"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/p2v-test.XXXXXX")
_p2v_loops=()
_p2v_mounts=()
_p2v_pids=()
_p2v_cleanup() {
    local m l p
    # Servers first (track_pid); SIGCONT wakes one a test left stopped.
    for p in "${_p2v_pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for m in "${_p2v_mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
    for l in "${_p2v_loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    # losetup_attach usually runs in $(...), a subshell that cannot record the
    # device above: detach every loop device whose backing file is under $WORK.
    losetup -l -n -O NAME,BACK-FILE 2>/dev/null |
        awk -v w="$WORK/" 'index($2, w) == 1 { print $1 }' |
        while read -r l; do losetup -d "$l" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap _p2v_cleanup EXIT

# need TOOL...: skip the test (exit 77) when a tool is missing.
need() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "SKIP: $t not found" >&2
            exit 77
        fi
    done
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: expected '$2', got '$3'"
    fi
    pass "$1 = $3"
}

# expect_exit CODE CMD...: run CMD, require exit status CODE; stderr kept in $WORK/last.err
expect_exit() {
    local want=$1 got=0
    shift
    "$@" >"$WORK/last.out" 2>"$WORK/last.err" || got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout" >&2; cat "$WORK/last.out" >&2
        echo "--- stderr" >&2; cat "$WORK/last.err" >&2
        fail "'$*' exited $got, expected $want"
    fi
}

# err_has [-x] PATTERN WHAT: $WORK/last.err (the last expect_exit's stderr)
# has a line matching PATTERN (grep; -x: the whole line); else it is printed
# and the test fails with WHAT.
err_has() {
    local x=
    if [ "$1" = -x ]; then x=-x; shift; fi
    grep -q $x -- "$1" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "$2"; }
}

# wait_temp OUT TRIES: wait (TRIES times 0.05 s at most) until p2v's
# temporary file for OUT (.OUT.p2v-*) is in this directory, the sign that the
# copy has begun; 1 if it never appeared.
wait_temp() {
    local i
    for i in $(seq 1 "$2"); do
        ls -A | grep -q "^\.${1//./\\.}\.p2v-" && return 0
        sleep 0.05
    done
    return 1
}

# interrupt_run SIG PID OUT ERR MESSAGE: send SIG to the p2v run PID (started
# in the background, writing OUT, its stderr in ERR): it must exit 1 with
# MESSAGE in ERR and leave neither OUT nor a temporary file (p2v-*) here.
interrupt_run() {
    local sig=$1 pid=$2 out=$3 err=$4 msg=$5 rc=0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    check_eq "exit status after SIG$sig" 1 "$rc"
    grep -q -- "$msg" "$err" || fail "no message after SIG$sig: $(cat "$err")"
    [ ! -e "$out" ] || fail "$out left after SIG$sig"
    [ -z "$(ls -A | grep p2v- || true)" ] || fail "temporary file left after SIG$sig: $(ls -A)"
}

# track_pid PID: a server the test started in the background, killed when
# the test ends.
track_pid() { _p2v_pids+=("$1"); }

# wait_until TENTHS CMD...: run CMD every 0.1 s until it succeeds, TENTHS
# times at most; 1 if it never did.
wait_until() {
    local n=$1
    shift
    for _ in $(seq 1 "$n"); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# start_nbdkit NAME ARGS...: nbdkit ARGS serving on $WORK/NAME.sock, tracked;
# $srv is its pid.
start_nbdkit() {
    local name=$1
    shift
    rm -f "$WORK/$name.sock" "$WORK/$name.pid"
    nbdkit -U "$WORK/$name.sock" -P "$WORK/$name.pid" "$@"
    wait_until 100 test -s "$WORK/$name.pid" -a -S "$WORK/$name.sock" || fail "nbdkit $name did not start"
    srv=$(cat "$WORK/$name.pid")
    track_pid "$srv"
}

# losetup_attach [losetup args] FILE: attach, echo the device; detached on exit
# (the file must live under $WORK).
losetup_attach() {
    local dev
    dev=$(losetup --find --show "$@" 2>/dev/null) || return 1
    _p2v_loops+=("$dev")
    echo "$dev"
}

track_mount() { _p2v_mounts+=("$1"); }
