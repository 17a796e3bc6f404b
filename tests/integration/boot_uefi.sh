#!/bin/bash
# Boot under OVMF: the UEFI/GPT source PC as built (systemd-boot on the ESP)
# and (once `p2v convert` is there) converted images with the ESP moved.
# Each boot must print the random marker of its initramfs on the serial
# console; the serial lines and boot times are printed for the log.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_uefi

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_uefi_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
sgdisk -v "$WORK/pc.img" | grep -q "No problems found" || fail "source GPT is not clean"

# The source PC boots as built: OVMF finds \EFI\BOOT\BOOTX64.EFI (systemd-boot)
# on the ESP (partition 2, at 10 MiB after a data partition), which starts
# the kernel of its loader entry.
bootimg_boot "$WORK/pc.img" raw uefi "$marker" "$WORK/src.log" || fail "the source UEFI PC does not boot"
bootimg_report "source UEFI PC (systemd-boot)" "$WORK/src.log"
