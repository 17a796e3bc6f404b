# Helpers for the p2v fleet serve tests (tests/integration/fleet_*.sh).
# Source after common.sh (and mkpc.sh for fleet_setup).
#
#   fleet_setup [TOOL...]    skip unless the tools are here; in $WORK:
#                            disk2.img (the story's disk 2, small files) for
#                            the runs, and token, the server's token file
#   fleet_start SCHEME ARGS...
#                            p2v fleet serve --dir state --token-file token
#                            ARGS in the background (stderr in srv.log),
#                            tracked; once it listens on SCHEME://127.0.0.1:
#                            PORT/, sets srv_pid, port and base

fleet_setup() {
    need sfdisk sgdisk mkfs.vfat mkfs.ext4 qemu-img jq curl "$@"
    cd "$WORK"
    MKPC_FILES=2 MKPC_FILE_KB=300
    mkpc_disk2 disk2.img
    echo "fleet-token-$RANDOM$RANDOM" >token
}

fleet_start() {
    local scheme=$1
    shift
    : >srv.log
    "$P2V" fleet serve --dir state --token-file token "$@" 2>>srv.log &
    srv_pid=$!
    track_pid "$srv_pid"
    wait_until 100 grep -q "listening on" srv.log || true
    port=$(sed -n "s|.*listening on $scheme://127.0.0.1:\([0-9]*\)/.*|\1|p" srv.log)
    [ -n "$port" ] || fail "the server did not start ($scheme): $(cat srv.log)"
    base=$scheme://127.0.0.1:$port
}
