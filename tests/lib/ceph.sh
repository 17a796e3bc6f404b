# A throw-away one-node Ceph for the RBD tests: one monitor and one memstore
# OSD bound to 127.0.0.1, pool size 1, no authentication, everything (config,
# data, logs, pid files, sockets) in one directory. Source it after common.sh.
#
#   ceph_start [DIR]   start it (default $WORK/ceph); sets CEPH_DIR, CEPH_CONF
#                      (exported) and creates the pool "rbd"; skips the test
#                      (exit 77) when the Ceph daemons are not installed
#   ceph_stop          kill both daemons and remove DIR (also run on exit)
#   ceph_osd_kill / ceph_osd_start    stop and start the OSD alone
#   ceph_mgr_start     start a manager too: without one Ceph keeps no pool
#                      statistics, so pool quotas are not enforced
#   ceph_cli ARGS...   `ceph` with a time limit (a call that needs a mgr hangs)

CEPH_DIR=
_ceph_port=

_ceph_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ceph_cli() { timeout 60 ceph -c "$CEPH_CONF" "$@"; }

_ceph_daemon() {   # _ceph_daemon NAME ARGS...: start a daemon with no inherited fds
    local name=$1
    shift
    # The daemons inherit open file descriptors: a caller inside $( ) would
    # wait for them to exit. Everything goes to the log; stdin from /dev/null.
    "$@" -c "$CEPH_CONF" </dev/null >>"$CEPH_DIR/log/$name.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
}

# _ceph_wait DAEMON WHAT CHECK...: wait up to 20 s for CHECK to succeed; else
# say "ceph_DAEMON_start: the WHAT", show the end of DAEMON's logs, return 1.
_ceph_wait() {
    local daemon=$1 what=$2 i
    shift 2
    for i in $(seq 1 100); do
        "$@" && return 0
        sleep 0.2
    done
    echo "ceph_${daemon}_start: the $what (log: $CEPH_DIR/log)" >&2
    tail -20 "$CEPH_DIR/log/"*"$daemon"* >&2 || true
    return 1
}

_ceph_osd_up() { [ -s "$CEPH_DIR/run/osd.0.pid" ] && ceph_cli osd stat 2>/dev/null | grep -q '1 up'; }

ceph_osd_start() {
    _ceph_daemon osd ceph-osd -i 0
    _ceph_wait osd "OSD did not come up" _ceph_osd_up
}

ceph_osd_kill() {
    local pid
    pid=$(cat "$CEPH_DIR/run/osd.0.pid" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$CEPH_DIR/run/osd.0.pid"
    ceph_cli osd down 0 >/dev/null 2>&1 || true
}

# The manager with no Python modules (an empty module path): only its C++
# core runs, which gathers the OSDs' statistics and hands the monitor the
# per-pool usage it compares with the quotas.
ceph_mgr_start() {
    need ceph-mgr
    _ceph_daemon mgr ceph-mgr -i x
    _ceph_wait mgr "manager did not become available" _ceph_mgr_available
}

_ceph_mgr_available() { ceph_cli mgr stat 2>/dev/null | jq -e '.available' >/dev/null; }

ceph_start() {
    need ceph-mon ceph-osd ceph rbd monmaptool python3
    CEPH_DIR=${1:-$WORK/ceph}
    mkdir -p "$CEPH_DIR"/{mon,osd,run,log,crash,mgr/x,mgr-modules}
    CEPH_CONF=$CEPH_DIR/ceph.conf
    export CEPH_CONF
    local t0=$SECONDS fsid uuid i
    fsid=$(cat /proc/sys/kernel/random/uuid)
    for i in 1 2 3; do
        _ceph_port=$(_ceph_free_port)
        cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$_ceph_port
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
run dir = $CEPH_DIR/run
pid file = $CEPH_DIR/run/\$name.pid
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
crash dir = $CEPH_DIR/crash
osd objectstore = memstore
memstore device bytes = 4294967296
osd data = $CEPH_DIR/osd/\$id
mon data = $CEPH_DIR/mon/\$id
osd crush chooseleaf type = 0
osd max object name len = 256
osd max object namespace len = 64
mgr data = $CEPH_DIR/mgr/\$id
mgr module path = $CEPH_DIR/mgr-modules
mgr stats period = 1
mon mgr digest period = 1
CONF
        monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$_ceph_port]" \
            "$CEPH_DIR/monmap" >/dev/null
        ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" >>"$CEPH_DIR/log/mkfs.out" 2>&1
        _ceph_daemon mon ceph-mon -i a
        # a port taken between the probe and the bind: try another
        if timeout 20 ceph -c "$CEPH_CONF" mon stat >/dev/null 2>&1; then
            break
        fi
        pkill -9 -F "$CEPH_DIR/run/mon.a.pid" 2>/dev/null || true
        rm -rf "$CEPH_DIR/mon/a"
        [ "$i" = 3 ] && { echo "ceph_start: the monitor did not start (log: $CEPH_DIR/log)" >&2; return 1; }
    done
    trap 'ceph_stop; _p2v_cleanup' EXIT
    uuid=$(cat /proc/sys/kernel/random/uuid)
    ceph_cli osd new "$uuid" >/dev/null
    ceph_cli osd pool create rbd 8 8 >/dev/null 2>&1
    mkdir -p "$CEPH_DIR/osd/0"
    ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$CEPH_DIR/log/mkfs.out" 2>&1
    ceph_osd_start
    timeout 120 rbd -c "$CEPH_CONF" pool init rbd
    echo "ceph: one mon (127.0.0.1:$_ceph_port) and one memstore OSD up in $((SECONDS - t0)) s ($CEPH_DIR)"
}

ceph_stop() {
    [ -n "$CEPH_DIR" ] && [ -d "$CEPH_DIR" ] || return 0
    local f
    for f in "$CEPH_DIR"/run/*.pid; do
        [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    rm -rf "$CEPH_DIR"
    CEPH_DIR=
}
