# Helpers of the boot-check tests. Source after common.sh and bootimg.sh.
#
#   bootcheck WANT ARGS...     p2v boot-check --json ARGS, exit status WANT;
#                              the report in $WORK/last.out, shown in the log
#   bc_field NAME              a field of that report (jq -r)
#   bc_is_png FILE             FILE exists and is a PNG
#   bc_sha FILE                sha256 of FILE

bootcheck() {
    local want=$1
    shift
    expect_exit "$want" "$P2V" boot-check --json "$@"
    echo "--- boot-check $*: exit $want"
    jq -c '{booted, how, reason, code, firmware_name, bus, accel, accel_note, seconds,
            screenshots, last_screenshot}' "$WORK/last.out"
    grep -v '^$' "$WORK/last.err" | tail -n 5 || true
}

bc_field() {
    jq -r ".$1" "$WORK/last.out"
}

bc_is_png() {
    [ -s "$1" ] || fail "no screenshot $1"
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1 is not a PNG"
}

bc_sha() {
    sha256sum "$1" | cut -d' ' -f1
}
