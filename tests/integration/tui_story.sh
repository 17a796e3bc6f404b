#!/bin/bash
# The user's story on the picking screen, at 80x24 and with keys only: pick
# boot, recovery, F:, D:, C: in that order, preview, write. The image must be
# the one `p2v convert` writes for the same selection: the same layout
# (p2v disks --json) and every partition's bytes equal; only the random disk
# signature differs. Resizing to 200x60 and back redraws the screen.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/tui.sh"
tui_story_setup

tui_start 80 24 NO_COLOR=1 -- tui -o tui.qcow2 disk1.img disk2.img
tui_wait "disk2.img  128.0 MiB  GPT"
check_eq "screen size" 80x24 "$(tui_size)"
tui_pick_story
tui_wait "Plan ok: 5 partitions, MBR table"
tui_screen | tee disks.txt
grep -qF "Order: disk1.img:1 > disk1.img:5 > disk2.img:1 > disk1.img:2 > disk1.img:3" disks.txt ||
    fail "the order line does not show the story"
# each row carries its place in the order
for want in "[1]  1" "[4]  2" "[5]  3" "[2]  5" "[3]  1"; do
    grep -qF -- "$want" disks.txt || fail "no row '$want' on the disk view"
done
grep -qE '^ +- +4 .*extended partition' disks.txt || fail "the extended partition is not shown refused"
# the footer holds the keys, on the last line
sed -n 24p disks.txt | grep -q "Space pick.*? help  q quit$" || fail "no whole key footer on line 24"
# no colour codes under NO_COLOR
if tui_screen_escapes | grep -qE $'\e\\[(3[0-7]|38;)'; then fail "colours used under NO_COLOR"; fi
pass "disk view with the story picked"

# resize: 200x60 shows the long names, 80x24 again keeps everything on screen
tui_resize 200 60
tui_wait "07 NTFS/exFAT/HPFS"
check_eq "screen size" 200x60 "$(tui_size)"
[ "$(tui_screen | sed -n 60p | grep -c 'Space pick')" = 1 ] || fail "no footer on line 60 at 200x60"
tui_resize 80 24
sleep 0.5
tui_wait "Plan ok: 5 partitions"
[ "$(tui_screen | sed -n 24p | grep -c 'Space pick')" = 1 ] || fail "no footer on line 24 after resizing back"
pass "resized to 200x60 and back to 80x24"

# preview: the dry run's table with a new identity
tui_keys p
tui_wait "Preview: the new disk tui.qcow2"
tui_screen | tee preview.txt
grep -q "^New identity: disk signature 0x" preview.txt || fail "no new identity in the preview"
grep -q "^1    disk1.img:1 " preview.txt && grep -q "^6    disk1.img:3 " preview.txt ||
    fail "the preview's table is not the story's order"
[ ! -e tui.qcow2 ] || fail "the preview wrote the image"

# write it
tui_keys g
tui_wait "Written: tui.qcow2" 120
tui_screen | tee result.txt
grep -q "Check: No errors were found on the image" result.txt || fail "no clean check on the result screen"
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi
qemu-img check tui.qcow2 >/dev/null || fail "qemu-img check of the TUI's image"

# the result screen's command line, and the CLI doing the same
cmdline=$(sed -n '/The same from a shell:/,$p' result.txt | sed -n '2,4p' | awk 'NF { $1 = $1; print }' | paste -sd' ')
check_eq "command line shown" "p2v convert -o tui.qcow2 ${story[*]}" "$cmdline"
expect_exit 0 "$P2V" convert -o cli.qcow2 "${story[@]}"

# same layout; only the identity differs
"$P2V" disks --json tui.qcow2 | jq '.disks[0] | del(.path, .id)' >tui.json
"$P2V" disks --json cli.qcow2 | jq '.disks[0] | del(.path, .id)' >cli.json
diff -u cli.json tui.json || fail "the layouts differ"
check_eq "partitions" 6 "$(jq '.partitions | length' tui.json)"
id_tui=$("$P2V" disks --json tui.qcow2 | jq -r '.disks[0].id')
id_cli=$("$P2V" disks --json cli.qcow2 | jq -r '.disks[0].id')
[ "$id_tui" != "$id_cli" ] && [ "$id_tui" != 0x1ee7c0de ] || fail "identities: tui $id_tui, cli $id_cli"
pass "same layout, identities $id_tui and $id_cli"

# every partition's bytes equal
tui_same_as_cli "partitions compared byte for byte" 5
# outside the partitions only the disk signature (bytes 440-443) may differ
bad=$({ cmp -l tui.raw cli.raw || true; } | awk '$1 < 441 || $1 > 444' | wc -l)
check_eq "bytes differing outside the disk signature" 0 "$bad"
mkpc_check_output tui.raw 1:1 1:5 2:1 1:2 1:3
sha256sum -c sources.sum >/dev/null || fail "a source image changed"
pass "the TUI's image is the CLI's image"
