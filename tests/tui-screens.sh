#!/bin/bash
# Print three screens of the picking screen as text (tmux capture-pane): the
# disk view with the story's selection, the preview, and the result. Builds
# the sample two-disk PC of the tests in a scratch directory.
#   tests/tui-screens.sh [COLSxROWS]      default 80x24; P2V=path/to/p2v (default build/p2v)
set -euo pipefail
P2V_SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${P2V:=$P2V_SRC/build/p2v}"
export P2V P2V_SRC
size=${1:-80x24}
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need tmux
mkpc_setup >/dev/null
source "$P2V_SRC/tests/lib/tui.sh"

show() {
    echo "===== $1 ($size) ====="
    tui_screen | sed -e 's/[[:space:]]*$//'
    echo
}

tui_start "${size%x*}" "${size#*x}" NO_COLOR=1 -- tui -o pc.qcow2 disk1.img disk2.img
tui_wait "disk2.img  128.0 MiB  GPT" >/dev/null
tui_pick_story
tui_wait "Plan ok: 5 partitions" >/dev/null
show "disk view with a selection"
tui_keys p
tui_wait "New identity:" >/dev/null
show "preview"
tui_keys g
tui_wait "Written: pc.qcow2" 120 >/dev/null
show "result"
tui_keys q
tui_wait_exit >/dev/null
