#!/bin/bash
# The qemu script of --vm-def qemu boots what p2v converted: the BIOS source
# PC of the boot tests (tests/lib/bootimg.sh) converted with --vm-def qemu,
# then the generated script itself started (ACCEL=tcg, its disk on SATA as
# written for a PC without virtio drivers) until the initramfs prints its
# marker on the serial console; then the same for the UEFI source PC (OVMF).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_bios
need timeout

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_bios_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
expect_exit 0 "$P2V" convert -o "$WORK/conv.qcow2" --vm-def qemu --memory 512M --cpus 1 \
    "$WORK/pc.img:2" "$WORK/pc.img:1"
grep -q "VM definition (qemu) written to $WORK/conv.sh" "$WORK/last.err" || fail "no notice"
bash -n "$WORK/conv.sh" || fail "conv.sh: bash -n"

# boot_script SCRIPT LOG: start SCRIPT (as a user would, from elsewhere)
# until the marker shows on the serial console.
boot_script() {
    local script=$1 log=$2 rc=0
    : >"$log"
    # -no-reboot: the initramfs powers off after the marker; these arguments
    # go after the script's own ("$@").
    (cd / && ACCEL=tcg timeout -k 5 240 bash "$script" -display none -no-reboot \
        -serial "file:$log") >"$log.qemu" 2>&1 || rc=$?
    if ! grep -q -- "$marker" "$log"; then
        tail -n 30 "$log" >&2
        cat "$log.qemu" >&2
        fail "$script did not boot the image (status $rc)"
    fi
    pass "$script booted the converted PC to its marker"
}
boot_script "$WORK/conv.sh" "$WORK/bios.log"

# UEFI: the GPT PC with systemd-boot; the script makes its NVRAM from the
# distribution's 4M template (its defaults) beside itself.
if [ ! -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ ! -e "$BOOTIMG_SDBOOT" ]; then
    echo "SKIP part: no OVMF 4M firmware or systemd-boot"
    exit 0
fi
bootimg_uefi_pc "$WORK/upc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
expect_exit 0 "$P2V" convert -o "$WORK/uconv.qcow2" --vm-def qemu --memory 512M --cpus 1 \
    "$WORK/upc.img:2" "$WORK/upc.img:1"
grep -q "^code=" "$WORK/uconv.sh" || fail "uconv.sh names no UEFI firmware"
boot_script "$WORK/uconv.sh" "$WORK/uefi.log"
[ -s "$WORK/uconv.OVMF_VARS.fd" ] || fail "no NVRAM made beside the script"
