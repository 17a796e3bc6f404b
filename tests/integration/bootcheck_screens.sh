#!/bin/bash
# What boot-check reads from the screen alone (OCR of screenshots): disks
# whose boot program (tests/lib/bootscreen.asm, assembled here with nasm)
# paints text on VGA and halts, with nothing on the serial console.
#   - a fake Windows stop screen -> failed, INACCESSIBLE_BOOT_DEVICE
#   - a fake Windows Boot Manager error -> failed, 0xc000000e
#   - "P2V TEST DESKTOP READY" -> booted through --expect on the screen, on
#     each disk bus, and without --expect once the screen has settled
#   - p2v's own MBR program with no active partition -> its message
# and the usage errors. Every disk is unchanged afterwards.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/bootcheck.sh"
need qemu-system-x86_64 nasm sfdisk jq sha256sum
export TMPDIR=$WORK
# TCG throughout: these boots take seconds, the KVM probe would double them.
opts=(--accel tcg --memory 128 --timeout 60)

for kind in stop bootmgr ready; do
    bootimg_screen_disk "$WORK/$kind.img" "$kind"
done
sums=$(sha256sum "$WORK"/*.img)

bootcheck 1 "${opts[@]}" --screenshots "$WORK/stop" "$WORK/stop.img"
check_eq "stop screen" "false windows-stop INACCESSIBLE_BOOT_DEVICE" \
    "$(bc_field booted) $(bc_field how) $(bc_field code)"
grep -qi "ran into a problem" <<<"$(bc_field screen_text)" || fail "OCR text: $(bc_field screen_text)"
pass "OCR read: $(bc_field screen_text)"
bc_is_png "$(bc_field last_screenshot)"
[ ! -s "$WORK/stop/serial.log" ] || fail "the stop screen program wrote to serial: it must come from OCR"
pass "nothing on the serial console: the verdict came from the screenshot"

bootcheck 1 "${opts[@]}" "$WORK/bootmgr.img"
check_eq "boot manager error" "false windows-boot-manager 0xc000000e" \
    "$(bc_field booted) $(bc_field how) $(bc_field code)"
grep -q "Windows failed to start" <<<"$(bc_field reason)" || fail "reason: $(bc_field reason)"

kept_before=$(ls -d "$WORK"/p2v-bootcheck.* 2>/dev/null || true) # the failures' evidence
for bus in sata virtio-blk ide; do
    bootcheck 0 "${opts[@]}" --bus "$bus" --expect "TEST DESKTOP READY" "$WORK/ready.img"
    check_eq "--expect on the screen, $bus" "true expect-screen $bus" \
        "$(bc_field booted) $(bc_field how) $(bc_field bus)"
done
# A temporary evidence directory goes after a good boot.
[ "$(bc_field dir)" = null ] && [ "$(ls -d "$WORK"/p2v-bootcheck.* 2>/dev/null || true)" = "$kept_before" ] ||
    fail "evidence of a good boot left in $(bc_field dir)"
pass "no evidence directory left after a good boot without --screenshots"

bootcheck 0 "${opts[@]}" --interval 1 --settle 4 "$WORK/ready.img"
check_eq "no --expect: the screen settles past the firmware" "true screen-settled" \
    "$(bc_field booted) $(bc_field how)"

bootcheck 1 "${opts[@]}" --expect "SOMETHING ELSE" --timeout 12 "$WORK/ready.img"
check_eq "--expect never seen" "false timeout" "$(bc_field booted) $(bc_field how)"
grep -q '"SOMETHING ELSE" not seen within 12s' <<<"$(bc_field reason)" || fail "reason: $(bc_field reason)"

mbr=$P2V_BUILD/generated/mbr.bin
if [ -s "$mbr" ]; then
    truncate -s 2M "$WORK/p2vmbr.img"
    printf 'label: dos\nstart=2048, size=2048, type=83\n' | sfdisk -q "$WORK/p2vmbr.img"
    dd if="$mbr" of="$WORK/p2vmbr.img" bs=440 count=1 conv=notrunc status=none
    bootcheck 1 "${opts[@]}" "$WORK/p2vmbr.img"
    check_eq "p2v's MBR program without an active partition" "false boot-loader" \
        "$(bc_field booted) $(bc_field how)"
    grep -q "p2v MBR" <<<"$(bc_field reason)" || fail "reason: $(bc_field reason)"
fi

check_eq "no disk changed" "$sums" "$(sha256sum "$WORK"/*.img | grep -v p2vmbr)"

# Usage errors (2) and errors (1), before any qemu.
expect_exit 2 "$P2V" boot-check
expect_exit 2 "$P2V" boot-check --bus scsi "$WORK/ready.img"
grep -q "unknown --bus 'scsi'" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" boot-check --timeout 0 "$WORK/ready.img"
expect_exit 2 "$P2V" boot-check --memory 1K "$WORK/ready.img"
expect_exit 2 "$P2V" boot-check --expect '!!' "$WORK/ready.img"
expect_exit 2 "$P2V" boot-check "$WORK/ready.img" "$WORK/stop.img"
expect_exit 1 "$P2V" boot-check "$WORK/missing.img"
grep -q "missing.img" "$WORK/last.err" || fail "error does not name the image: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" boot-check --firmware uefi --ovmf-code "$WORK/nofw.fd" "$WORK/ready.img"
grep -q "OVMF firmware $WORK/nofw.fd: No such file" "$WORK/last.err" || fail "missing OVMF: $(cat "$WORK/last.err")"
pass "usage errors exit 2; a missing image or firmware exits 1: $(tail -n 1 "$WORK/last.err")"
expect_exit 0 "$P2V" boot-check --help
grep -q -- "--screenshots DIR" "$WORK/last.out" || fail "help lacks --screenshots"
expect_exit 0 "$P2V" --help
grep -q "boot-check" "$WORK/last.out" || fail "p2v --help lacks boot-check"
pass "help texts"
