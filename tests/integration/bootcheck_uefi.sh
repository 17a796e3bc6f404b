#!/bin/bash
# p2v boot-check under OVMF: the bootable UEFI test PC (GPT, ESP with
# systemd-boot, a kernel whose initramfs prints a marker on the serial
# console) boots with a fresh copy of OVMF's variable store; the same PC
# without its boot loader (\EFI\BOOT\BOOTX64.EFI deleted) fails with OVMF's
# "BdsDxe: failed to load". Neither image changes (-snapshot).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/bootcheck.sh"
bootimg_need_uefi
need jq sha256sum mdel
export TMPDIR=$WORK

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_uefi_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
sum=$(bc_sha "$WORK/pc.img")
vars_sum=$(bc_sha "$BOOTIMG_OVMF_VARS")

# TCG straight away (bootcheck_bios shows the automatic choice): OVMF under
# TCG is the slow part of this test.
bootcheck 0 --accel tcg --expect "$marker" --memory 256 --timeout 400 \
    --screenshots "$WORK/good" "$WORK/pc.img"
check_eq "verdict" "true expect-serial" "$(bc_field booted) $(bc_field how)"
check_eq "firmware from the GPT's ESP" "uefi OVMF" "$(bc_field firmware) $(bc_field firmware_name)"
grep -q "EFI system partition 2" <<<"$(bc_field firmware_reason)" || fail "firmware reason: $(bc_field firmware_reason)"
check_eq "accelerator" tcg "$(bc_field accel)"
grep -q -- "$marker" "$WORK/good/serial.log" || fail "marker not in serial.log"
bc_is_png "$(bc_field last_screenshot)"
pass "last screenshot $(bc_field last_screenshot) is a PNG"
check_eq "image unchanged by the boot (-snapshot)" "$sum" "$(bc_sha "$WORK/pc.img")"
check_eq "OVMF's variable store template untouched" "$vars_sum" "$(bc_sha "$BOOTIMG_OVMF_VARS")"
[ -z "$(ls "$WORK" | grep '^p2v-bootcheck-run')" ] || fail "run directory (QMP socket, variable store) left behind"
pass "no run directory left behind"

# No boot loader on the ESP: OVMF tries the disk and says so.
cp --sparse=always "$WORK/pc.img" "$WORK/noloader.img"
mdel -i "$WORK/noloader.img@@10M" ::/EFI/BOOT/BOOTX64.EFI
nsum=$(bc_sha "$WORK/noloader.img")
bootcheck 1 --accel tcg --memory 256 --timeout 120 --screenshots "$WORK/bad" "$WORK/noloader.img"
check_eq "verdict" "false firmware" "$(bc_field booted) $(bc_field how)"
reason=$(bc_field reason)
grep -q "OVMF found nothing to boot: \"BdsDxe: failed to load\"" <<<"$reason" || fail "reason: $reason"
pass "reason: $reason"
grep -q "BdsDxe: failed to load" "$WORK/bad/serial.log" || fail "OVMF's words not in serial.log"
bc_is_png "$(bc_field last_screenshot)"
grep -q "last screenshot $WORK/bad/shot-" "$WORK/last.err" || fail "the error line names no screenshot"
check_eq "image unchanged" "$nsum" "$(bc_sha "$WORK/noloader.img")"
