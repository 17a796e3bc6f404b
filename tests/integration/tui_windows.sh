#!/bin/bash
# The picking screen's flags say what `p2v disks` knows about Windows: on
# the Windows PC of mkwin.sh, "Windows 10 (19045)" on C:, "boot store" on
# System Reserved (\Boot\BCD), nothing on the data volume D: nor on the
# recovery partition, although all four have Windows partition types.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need tmux sfdisk mkntfs ntfs-3g hivexregedit python3 jq
source "$P2V_SRC/tests/lib/tui.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }
cd "$WORK"

mkwin_mbr_bios pc.img
# p2v disks says the same
expect_exit 0 "$P2V" disks --json pc.img
check_eq "p2v disks: Windows on 2" '"19045"' "$(jq '.disks[0].partitions[1].windows.build' "$WORK/last.out")"
check_eq "p2v disks: boot store on 1" '["\\Boot\\BCD"]' \
    "$(jq -c '.disks[0].partitions[0].boot_stores' "$WORK/last.out")"

tui_start 150 30 NO_COLOR=1 -- tui pc.img
tui_wait "pc.img  112.0 MiB  MBR"
tui_screen | tee screen.txt
row() { grep -E "^.\[ \] +$1 " screen.txt || fail "no row for partition $1"; }
# the Flags column: what follows the Used size
flags() { row "$1" | sed -E 's/.*MiB//; s/^ +//; s/ +$//'; }
check_eq "flags of 1" "active,boot store" "$(flags 1)"
check_eq "flags of 2" "Windows 10 (19045)" "$(flags 2)"
check_eq "flags of 3 (data)" "" "$(flags 3)"
check_eq "flags of 4 (recovery)" "" "$(flags 4)"
pass "flags: boot store on 1, Windows 10 (19045) on 2, nothing on 3 and 4"
tui_keys q
check_eq "exit status" 0 "$(tui_wait_exit)"
