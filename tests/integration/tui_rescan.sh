#!/bin/bash
# The picking screen's entry points and rescans: without a terminal `p2v`
# prints usage (exit 2) and `p2v tui` refuses (exit 1); on a terminal `p2v`
# alone starts the screen. `r` finds a disk that appeared after the start,
# keeps the picks of disks still there and drops those of a disk that is gone.
# `?` shows the keys.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need tmux sfdisk
source "$P2V_SRC/tests/lib/tui.sh"
cd "$WORK"

# no terminal
expect_exit 2 "$P2V" </dev/null
grep -q "Usage: p2v COMMAND" "$WORK/last.err" || fail "p2v without a terminal: no usage"
grep -q "tui \[DISK...\]" "$WORK/last.err" || fail "usage does not list tui"
expect_exit 1 "$P2V" tui a.img </dev/null
grep -q "p2v: tui: the picking screen needs a terminal" "$WORK/last.err" || fail "no-terminal message"
expect_exit 2 "$P2V" tui --bogus
expect_exit 2 "$P2V" tui -o - a.img
expect_exit 2 "$P2V" tui --sector-size 1000 a.img
expect_exit 0 "$P2V" tui --help
grep -q "NO_COLOR" "$WORK/last.out" || fail "tui --help does not mention NO_COLOR"
pass "entry points without a terminal"

mkdisk() {
    truncate -s 64M "$1"
    printf 'label: %s\nstart=2048, size=20480, type=%s\nstart=22528, size=20480, type=%s\n' \
        "$2" "$3" "$3" | sfdisk -q "$1"
}
mkdisk a.img dos 83

# b.img does not exist yet: listed with its error
tui_start 200 30 NO_COLOR=1 -- tui -o out.qcow2 a.img b.img
tui_wait "a.img  64.0 MiB  MBR"
tui_wait "b.img: "
tui_keys Space
tui_wait "Order: a.img:1"
mkdisk b.img gpt 0FC63DAF-8483-4772-8E79-3D69D8477DE4
tui_keys r
tui_wait "Rescanned: 2 disks"
tui_wait "b.img  64.0 MiB  GPT"
tui_screen | grep -qF "Order: a.img:1" || fail "the pick of a.img was lost in the rescan"
pass "a disk that appeared is found by r, picks kept"

mv a.img gone.img
tui_keys r
tui_wait "picks of disks that are gone were dropped"
tui_screen | grep -qF "Order: (none" || fail "the pick of the vanished disk is still there"
tui_screen | grep -q "^a.img: " || fail "the vanished disk is not listed with its error"
pass "a disk that is gone: its picks are dropped"

# plan files: s saves what p2v convert --plan replays, l loads it back
mv gone.img a.img
tui_keys r
tui_wait "Rescanned: 2 disks"
tui_keys Home Space j j j Space t t
tui_wait "Plan ok: 2 partitions, GPT table"
tui_keys s C-u; tui_type plan.json; tui_keys Enter
tui_wait "Plan saved to plan.json"
expect_exit 0 "$P2V" convert --plan plan.json --dry-run --json
check_eq "the saved plan, replayed by p2v convert" "gpt a.img:1 b.img:2" \
    "$(jq -r '[.table, (.partitions[] | select(.kind == "copy") | "\(.source_disk):\(.source_number)")] | join(" ")' "$WORK/last.out")"
tui_keys x t
tui_wait "Plan: no partition selected"
tui_keys l Enter
tui_wait "Plan loaded from plan.json"
tui_screen | grep -qF "Order: a.img:1 > b.img:2" || fail "the loaded plan's order"
tui_screen | grep -qF "[t]able GPT" || fail "the loaded plan's table"
tui_keys Up
tui_wait "Plan ok: 2 partitions, GPT table"
sfdisk -q --disk-id b.img 01234567-89AB-CDEF-0123-456789ABCDEF
tui_keys x l Enter
tui_wait "plan.json: plan disk 2"
tui_screen | grep -qF "no disk with this identity" || fail "a changed disk is not refused by identity"
tui_screen | grep -qF "Order: (none" || fail "a refused plan changed the picks"
pass "plan saved, replayed by p2v convert, loaded back; a changed disk refused"

tui_keys '?'
tui_wait "p2v tui - keys"
tui_keys x
tui_wait "Up/Dn move"
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi
_tui_tmux kill-server 2>/dev/null || true # the session may have ended with p2v, and its server with it

# p2v alone on a terminal: the picking screen over the machine's disks
tui_start 80 24 NO_COLOR=1 --
tui_wait "p2v - pick the partitions to copy" 120
tui_keys q
check_eq "p2v (no arguments) exit status" 0 "$(tui_wait_exit 60)"
pass "p2v alone on a terminal starts the picking screen"
