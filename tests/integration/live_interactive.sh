#!/bin/bash
# p2v Live, interactive, over the serial console (SeaBIOS, the ISO as a CD):
# with the story PC's two disks and a P2V-OUT disk without a plan, the live
# system does not run anything by itself, the launcher shows the picking
# screen (p2v tui) listing the disks, a shell is one key away, and in it every
# disk is read-only and none is mounted. The sources are unchanged afterwards.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/live.sh"
# P2V-OUT without p2v-plan.json: the interactive mode.
live_story_disks none
sha256sum out.img >>sources.sum

log=$WORK/serial.log sock=$WORK/serial.sock
live_qemu bios-cd "$log" 1500 "$sock" "if=virtio,format=raw,file=$WORK/out.img"
trap 'kill "$LIVE_PID" 2>/dev/null || true; _p2v_cleanup' EXIT
show_log() { _live_plain "$log" | grep -av '^ *$' | tail -n "${1:-40}" >&2; }

# The launcher: the picking screen, or (a p2v without it) the fallback list.
live_wait_text "$log" "holds no p2v-plan.json: interactive mode" 1200 ||
    { show_log; fail "the unattended runner did not see P2V-OUT without a plan"; }
pass "P2V-OUT without a plan: interactive mode"
# The picking screen (or, in a p2v without it, the launcher's fallback list)
# shows the disks: the story disks' labels appear on the serial console.
live_wait_text "$log" "DATA-D" 600 || { show_log; fail "the disks (label DATA-D) are not listed"; }
tui=0
if _live_plain "$log" | grep -q "has no picking screen"; then
    echo "the launcher fell back to p2v disks: this p2v has no 'p2v tui'" >&2
else
    tui=1
    pass "the picking screen lists the disks on the serial console"
    _live_plain "$log" | grep -av '^ *$' | tail -n 30
    live_keys "$sock" 'q'   # leave the picking screen for the launcher's menu
fi
live_wait_text "$log" '\[s\] shell' 300 || { show_log; fail "no launcher menu on the serial console"; }
_live_plain "$log" | grep -q "DATA-G" || { show_log; fail "disk 2 (label DATA-G) is not listed"; }
pass "the disks are listed on the serial console ($(( $(date +%s) - LIVE_START ))s after power-on)"

# One key to a shell; there every disk and partition is read-only.
live_keys "$sock" 's'
sleep 2
live_keys "$sock" 'for d in /sys/class/block/*; do echo "RO-CHECK ${d##*/} $(cat $d/ro)"; done; echo "MOUNTED-SD $(grep -c "^/dev/sd" /proc/mounts)"; echo CHECK-DONE\r'
live_wait_text "$log" "^CHECK-DONE" 120 || { show_log; fail "the shell did not answer"; }
_live_plain "$log" | grep -a '^RO-CHECK' | sort -u >"$WORK/ro.txt"
cat "$WORK/ro.txt"
grep -q '^RO-CHECK sda 1' "$WORK/ro.txt" || fail "no read-only sda listed"
# the MBR disk's logical partition 5, whichever name the kernel gave the disk
# (the two disks are probed in parallel: sda or sdb)
grep -qE '^RO-CHECK sd[ab]5 1' "$WORK/ro.txt" || fail "no read-only logical partition (sda5 or sdb5) listed"
if grep -E '^RO-CHECK (sd|vd|sr)[a-z0-9]* 0' "$WORK/ro.txt"; then fail "a disk is writable"; fi
pass "every disk and partition read-only"
check_eq "source partitions mounted" "MOUNTED-SD 0" "$(_live_plain "$log" | grep -a '^MOUNTED-SD' | tail -n 1)"

live_keys "$sock" 'systemctl poweroff\r'
live_wait_exit 120 || { show_log; fail "no power-off"; }
sha256sum -c sources.sum || fail "a disk changed"
pass "sources and the P2V-OUT disk unchanged"
[ "$tui" = 1 ] || fail "the picking screen (p2v tui, issue 11) is not in this p2v: the launcher fell back to 'p2v disks'"
pass "p2v Live interactive: picking screen on the serial console"
