#!/bin/bash
# p2v boot-check under SeaBIOS: the bootable BIOS test PC (SYSLINUX, a
# kernel whose initramfs prints a marker on the serial console) boots, with
# the accelerator chosen automatically (KVM, or TCG when KVM does not work
# here: the report says which and why); the same PC with its MBR wiped fails
# with SeaBIOS's own words. Neither image changes (qemu runs with -snapshot).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/bootcheck.sh"
bootimg_need_bios
need jq sha256sum
export TMPDIR=$WORK # boot-check's temporary directories go away with the test

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_bios_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
sum=$(bc_sha "$WORK/pc.img")

# ---- the good PC: booted, the marker seen on the serial console ----------
bootcheck 0 --expect "$marker" --memory 256 --timeout 400 --screenshots "$WORK/good" "$WORK/pc.img"
check_eq "verdict" "true expect-serial" "$(bc_field booted) $(bc_field how)"
check_eq "firmware from the MBR's active partition" "bios SeaBIOS" \
    "$(bc_field firmware) $(bc_field firmware_name)"
grep -q "active partition 2" <<<"$(bc_field firmware_reason)" || fail "firmware reason: $(bc_field firmware_reason)"
check_eq "bus (default)" sata "$(bc_field bus)"
accel=$(bc_field accel)
case $accel in
kvm) pass "accelerator kvm" ;;
tcg)
    # auto: TCG only with a reason (no /dev/kvm, or KVM failing here)
    [ "$(bc_field accel_note)" != null ] || fail "TCG without a reason"
    grep -q "KVM unusable on this host" "$WORK/last.err" ||
        [ ! -w /dev/kvm ] || fail "no notice of the KVM fallback"
    pass "accelerator tcg: $(bc_field accel_note)"
    ;;
*) fail "accelerator '$accel'" ;;
esac
grep -q -- "$marker" "$WORK/good/serial.log" || fail "marker not in serial.log"
pass "serial.log holds the marker"
bc_is_png "$(bc_field last_screenshot)"
check_eq "screenshots kept in --screenshots DIR" "$WORK/good" "$(dirname "$(bc_field last_screenshot)")"
[ "$(bc_field screenshots)" -ge 1 ] || fail "no screenshot counted"
pass "last screenshot $(bc_field last_screenshot) is a PNG ($(bc_field screenshots) taken)"
check_eq "image unchanged by the boot (-snapshot)" "$sum" "$(bc_sha "$WORK/pc.img")"

# ---- the same PC with its MBR wiped: SeaBIOS finds nothing to boot ----------
# (TCG straight away: the automatic choice was shown above.) No
# --screenshots: the evidence stays in a temporary directory, named.
cp --sparse=always "$WORK/pc.img" "$WORK/wiped.img"
dd if=/dev/zero of="$WORK/wiped.img" bs=512 count=1 conv=notrunc status=none
wsum=$(bc_sha "$WORK/wiped.img")
bootcheck 1 --accel tcg --memory 256 --timeout 60 "$WORK/wiped.img"
check_eq "verdict" "false firmware" "$(bc_field booted) $(bc_field how)"
reason=$(bc_field reason)
grep -q -e "No bootable device" -e "Boot failed" <<<"$reason" || fail "reason without SeaBIOS's words: $reason"
pass "reason: $reason"
last=$(bc_field last_screenshot)
bc_is_png "$last"
grep -q "did not boot: .*; last screenshot $last" "$WORK/last.err" || fail "the error line does not name the screenshot"
pass "error line: $(grep 'did not boot' "$WORK/last.err")"
[ -s "$(bc_field dir)/serial.log" ] || [ -f "$(bc_field dir)/serial.log" ] || fail "serial.log not kept"
check_eq "wiped image unchanged" "$wsum" "$(bc_sha "$WORK/wiped.img")"

# The text report (no --json): verdict, reason, screenshot.
expect_exit 1 "$P2V" boot-check -q --accel tcg --memory 256 --timeout 60 \
    --screenshots "$WORK/text" "$WORK/wiped.img"
grep -q "^Boot check of $WORK/wiped.img: did not boot (firmware)" "$WORK/last.out" ||
    fail "text report: $(cat "$WORK/last.out")"
grep -q "last screenshot: $WORK/text/shot-" "$WORK/last.out" || fail "text report names no screenshot"
[ ! -s "$WORK/last.err" ] || grep -q "did not boot" "$WORK/last.err" || fail "-q printed notices"
pass "text report: $(head -n 2 "$WORK/last.out" | tr '\n' ' ')"

# ---- interrupted (issue 25 item 11): INT, TERM and a dropped session's HUP
# each stop qemu and end the check with exit 1, removing both temporary
# directories (the run directory and the evidence directory) ----
for sig in HUP TERM INT; do
    mkdir -p "$WORK/tmp-$sig"
    TMPDIR=$WORK/tmp-$sig "$P2V" boot-check --memory 256 --timeout 400 "$WORK/pc.img" \
        >"$WORK/sig.out" 2>"$WORK/sig.err" &
    pid=$!
    # wait until qemu runs (its run directory exists), then signal p2v
    for _ in $(seq 100); do
        [ -n "$(ls -A "$WORK/tmp-$sig")" ] && break
        sleep 0.1
    done
    sleep 1
    kill -s "$sig" "$pid"
    code=0
    wait "$pid" || code=$?
    check_eq "boot-check on SIG$sig: exit status" 1 "$code"
    grep -q "interrupted" "$WORK/sig.err" || fail "SIG$sig: no message: $(cat "$WORK/sig.err")"
    check_eq "boot-check on SIG$sig: temporary directories left" "" "$(ls -A "$WORK/tmp-$sig")"
done
check_eq "image unchanged after the interrupted checks" "$sum" "$(bc_sha "$WORK/pc.img")"
