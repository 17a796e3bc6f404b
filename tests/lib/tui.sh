# Driving `p2v tui` through tmux: a private tmux server under $WORK, keys
# sent with send-keys, the screen read back with capture-pane. Source it after
# common.sh (needs $WORK and $P2V).
#
#   tui_start COLS ROWS [ENV=VALUE...] -- ARGS...   start p2v ARGS (e.g. tui DISK...) here
#   tui_keys KEY...                                 tmux send-keys
#   tui_type TEXT                                   literal text (send-keys -l)
#   tui_screen                                      the screen as text
#   tui_wait TEXT [SECONDS]                         wait until TEXT is on the screen
#   tui_wait_exit [SECONDS]                         wait for p2v to end; echo its status
#   tui_resize COLS ROWS

TUI_SOCK=$WORK/tmux.sock
_tui_tmux() { tmux -S "$TUI_SOCK" "$@"; }

_tui_cleanup() {
    _tui_tmux kill-server 2>/dev/null || true
    _p2v_cleanup
}
trap _tui_cleanup EXIT

tui_start() {
    local cols=$1 rows=$2 envs=() cmd
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    rm -f "$WORK/tui.status"
    # The program's stderr (sanitizer reports) goes to a file; its exit status too.
    local args=""
    if [ $# -gt 0 ]; then args=$(printf '%q ' "$@"); fi
    printf -v cmd 'cd %q && env %s %q %s 2>%q; echo $? >%q.tmp; mv %q.tmp %q; sleep 600' \
        "$PWD" "${envs[*]:-}" "$P2V" "$args" "$WORK/tui.stderr" \
        "$WORK/tui.status" "$WORK/tui.status" "$WORK/tui.status"
    _tui_tmux -f /dev/null new-session -d -s p2v -x "$cols" -y "$rows" "$cmd"
    _tui_tmux set-option -t p2v status off >/dev/null
    _tui_tmux set-option -g window-size manual 2>/dev/null || true
}

tui_keys() { _tui_tmux send-keys -t p2v "$@"; }
tui_type() { _tui_tmux send-keys -t p2v -l "$1"; }
tui_screen() { _tui_tmux capture-pane -p -t p2v; }
tui_screen_escapes() { _tui_tmux capture-pane -e -p -t p2v; }

tui_resize() {
    _tui_tmux resize-window -t p2v -x "$1" -y "$2"
}

tui_wait() {
    local text=$1 secs=${2:-60} i
    for i in $(seq 1 $((secs * 10))); do
        if tui_screen | grep -qF -- "$text"; then return 0; fi
        sleep 0.1
    done
    echo "--- screen (waited ${secs}s for '$text')" >&2
    tui_screen >&2
    echo "--- stderr" >&2
    cat "$WORK/tui.stderr" >&2 2>/dev/null || true
    return 1
}

tui_wait_exit() {
    local secs=${1:-60} i
    for i in $(seq 1 $((secs * 10))); do
        if [ -e "$WORK/tui.status" ]; then cat "$WORK/tui.status"; return 0; fi
        sleep 0.1
    done
    echo "--- p2v tui did not exit; screen:" >&2
    tui_screen >&2
    return 1
}

# The screen size tmux reports for the pane, as COLSxROWS.
tui_size() { _tui_tmux display-message -p -t p2v '#{pane_width}x#{pane_height}'; }

# tui_story_setup: skip unless tmux and the story PC's tools are here; the
# story PC's two disks in $WORK, the current directory (mkpc_setup, after
# mkpc.sh); story holds the story's selection in target order.
tui_story_setup() {
    need tmux
    mkpc_setup
    story=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)
}

# tui_pick_story: from the disk view of disk1.img disk2.img (cursor on
# disk1.img partition 1), pick boot, recovery, F:, D:, C: in that order with
# keys only. Rows: disk1 1 2 3 4(extended) 5 6, disk2 1 2.
tui_pick_story() {
    tui_keys Space                  # disk1:1 boot
    tui_keys j j j j Space          # disk1:5 recovery
    tui_keys j j Space              # disk2:1 F:
    tui_keys k k k k k Space        # disk1:2 D:
    tui_keys j Space                # disk1:3 C:
}

# tui_same_as_cli WHAT N: tui.qcow2 (the screen's image) and cli.qcow2 (p2v
# convert's), here, as the raw disks tui.raw and cli.raw; each data partition
# of tui.raw (mkpc_data_parts) holds the same bytes in cli.raw, and there
# are N of them (check WHAT).
tui_same_as_cli() {
    local n=0 start size
    qemu-img convert -O raw tui.qcow2 tui.raw
    qemu-img convert -O raw cli.qcow2 cli.raw
    while read -r start size; do
        cmp <(dd if=tui.raw bs=512 skip="$start" count="$size" status=none) \
            <(dd if=cli.raw bs=512 skip="$start" count="$size" status=none) ||
            fail "partition at $start differs"
        n=$((n + 1))
    done < <(mkpc_data_parts tui.raw)
    check_eq "$1" "$2" "$n"
}
