#!/bin/bash
# The picking screen at 200x60 with colours: invalid choices show the
# planner's own error (the one p2v convert prints) in the status line and
# nothing runs; a refused partition cannot be picked; a run cancelled with
# confirmation leaves no file; then a GPT target written through the screen
# equals p2v convert -t gpt's image partition for partition.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/tui.sh"
tui_story_setup

no_output() {
    [ ! -e tui.qcow2 ] || fail "$1: tui.qcow2 was written"
    if ls -a | grep -q '\.p2v-'; then fail "$1: a temporary file was left"; fi
}

# cli_error ARGS...: the message p2v convert --dry-run gives for ARGS, without "p2v: "
cli_error() {
    { "$P2V" convert --dry-run -o tui.qcow2 "$@" 2>&1 >/dev/null || true; } |
        awk '!/^p2v: (notice|warning):/ && !done { sub(/^p2v: /, ""); print; done = 1 }'
}

tui_start 200 60 -- tui -o tui.qcow2 disk1.img disk2.img
tui_wait "disk2.img  128.0 MiB  GPT"
check_eq "screen size" 200x60 "$(tui_size)"
tui_pick_story
tui_wait "Plan ok: 5 partitions, MBR table"
tui_screen_escapes | grep -qE $'\e\\[(3[0-7]|38;)' || fail "no colours without NO_COLOR"
pass "colours without NO_COLOR"

# a size too small for the layout
want=$(cli_error --size 100M "${story[@]}")
[ -n "$want" ] || fail "p2v convert gave no error for --size 100M"
tui_keys z; tui_type 100M; tui_keys Enter
tui_wait "Error: $want"
tui_keys p
sleep 0.5
tui_keys g Enter
sleep 0.5
tui_screen | grep -q "^p2v - pick the partitions" || fail "left the disk view with an invalid plan"
tui_screen | grep -qF "Error: $want" || fail "the error is no longer shown"
no_output "--size too small"
pass "--size too small: '$want' and nothing runs"
tui_keys z; tui_keys C-u Enter
tui_wait "Plan ok: 5 partitions"

# an ESP too small for FAT32
want=$(cli_error --add-esp 1M "${story[@]}")
tui_keys e; tui_type 1M; tui_keys Enter
tui_wait "Error: $want"
tui_keys p
sleep 0.5
no_output "--add-esp 1M"
pass "--add-esp 1M: '$want'"
tui_keys e; tui_keys C-u Enter
tui_wait "Plan ok: 5 partitions"

# an existing output is refused until overwrite is on
touch exists.qcow2
want=$({ "$P2V" convert --dry-run -o exists.qcow2 "${story[@]}" 2>&1 >/dev/null || true; } |
    awk '!/^p2v: (notice|warning):/ && !done { sub(/^p2v: /, ""); print; done = 1 }')
[ -n "$want" ] || fail "p2v convert gave no error for an existing output"
tui_keys o C-u; tui_type exists.qcow2; tui_keys Enter
tui_wait "Error: $want"
tui_keys w
tui_wait "Plan ok: 5 partitions"
tui_keys w o C-u; tui_type tui.qcow2; tui_keys Enter
tui_wait "Plan ok: 5 partitions"
pass "existing output: '$want', allowed with overwrite"

# the extended partition is refused with its reason
tui_keys Home j j j Space
tui_wait "disk1.img:4 cannot be copied: extended partition"
tui_screen | grep -qF "Order: ${story[0]} > ${story[1]} > ${story[2]} > ${story[3]} > ${story[4]}" ||
    fail "the order changed"
pass "the extended partition cannot be picked"

# cancel with confirmation: nothing is left
tui_keys p
tui_wait "Preview: the new disk tui.qcow2"
tui_keys g q y
tui_wait "Cancelled" 60
tui_screen | grep -q "tui.qcow2 was not written; nothing was left under that name" ||
    fail "the cancel screen does not say nothing was written"
no_output "cancelled run"
tui_keys Enter
tui_wait "Plan ok: 5 partitions"
pass "a cancelled run leaves nothing"

# a GPT target through the screen: t twice (auto -> MBR -> GPT)
tui_keys t t
tui_wait "Plan ok: 6 partitions, GPT table"
tui_keys p
tui_wait "New identity: disk GUID"
tui_keys g
tui_wait "Written: tui.qcow2" 120
tui_screen | grep -qF "p2v convert -t gpt -o tui.qcow2 ${story[*]}" || fail "command line for GPT"
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi

expect_exit 0 "$P2V" convert -t gpt -o cli.qcow2 "${story[@]}"
"$P2V" disks --json tui.qcow2 | jq '.disks[0] | del(.path, .id) | .partitions |= map(del(.uuid))' >tui.json
"$P2V" disks --json cli.qcow2 | jq '.disks[0] | del(.path, .id) | .partitions |= map(del(.uuid))' >cli.json
diff -u cli.json tui.json || fail "the GPT layouts differ"
# partitions that came from the GPT disk keep their GUID in both
check_eq "F: keeps its GUID" "$("$P2V" disks --json cli.qcow2 | jq -r '.disks[0].partitions[3].uuid')" \
    "$("$P2V" disks --json tui.qcow2 | jq -r '.disks[0].partitions[3].uuid')"
tui_same_as_cli "partitions compared byte for byte (MSR and the story)" 6
sgdisk -v tui.raw | grep -q "No problems found" || fail "sgdisk -v"
sha256sum -c sources.sum >/dev/null || fail "a source image changed"
pass "GPT target through the screen equals p2v convert -t gpt"
