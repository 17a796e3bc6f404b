#!/bin/bash
# Boot under OVMF: a UEFI/GPT source PC (data partition at 1 MiB, ESP with
# systemd-boot at 10 MiB) converted with the ESP moved to 1 MiB; an MBR disk
# whose 0xEF partition becomes a GPT ESP; a Linux-only disk converted with
# --add-esp whose new ESP, filled with systemd-boot, is booted.
# Each boot must print the random marker of its initramfs on the serial
# console; the serial lines and boot times are printed for the log.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_uefi
need jq

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_uefi_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
sgdisk -v "$WORK/pc.img" | grep -q "No problems found" || fail "source GPT is not clean"

# The source PC as built (OVMF finds \EFI\BOOT\BOOTX64.EFI, systemd-boot, on
# the ESP, partition 2 at 10 MiB) is the control: booted when a boot fails,
# or always with BOOTIMG_CONTROL=1.

# ---- converted images ----------------------------------------------------
gpt_field() { # IMAGE INDEX FIELD: a field of a partition, from sfdisk --json
    sfdisk --json "$1" | jq -r ".partitiontable.partitions[$2].$3"
}
esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

# The ESP (source partition 2 at 10 MiB) goes first, to 1 MiB. No --boot: the
# source's firmware (GPT with an ESP = uefi) is kept.
bootimg_convert_pc "^Firmware: uefi (from the source)"
sgdisk -v "$WORK/conv.raw" | grep -q "No problems found" || fail "sgdisk -v: $(sgdisk -v "$WORK/conv.raw")"
check_eq "ESP moved to 1 MiB" "2048 $esp_type" \
    "$(gpt_field "$WORK/conv.raw" 0 start) $(gpt_field "$WORK/conv.raw" 0 type)"
mv "$WORK/conv.raw" "$WORK/conv.qcow2.raw"
bootimg_expect_boot "converted UEFI PC, ESP 10 MiB -> 1 MiB" \
    "$WORK/conv.qcow2" qcow2 uefi "$marker" "$WORK/conv.log" "$WORK/pc.img"

# An ESP on an MBR disk (type 0xEF) becomes a GPT ESP with --boot uefi.
truncate -s 64M "$WORK/mbr.img"
sfdisk -q "$WORK/mbr.img" <<EOT
label: dos
start=2048, size=16384, type=83
start=20480, size=81920, type=ef
EOT
dd if="$WORK/pc.img" of="$WORK/mbr.img" bs=1M skip=10 seek=10 count=40 conv=notrunc,sparse status=none
expect_exit 0 "$P2V" convert --boot uefi -o "$WORK/mbr2gpt.qcow2" "$WORK/mbr.img:2" "$WORK/mbr.img:1"
qemu-img convert -O raw "$WORK/mbr2gpt.qcow2" "$WORK/mbr2gpt.raw"
check_eq "table of --boot uefi" gpt "$(sfdisk --json "$WORK/mbr2gpt.raw" | jq -r .partitiontable.label)"
check_eq "MBR 0xEF mapped to the ESP type" "$esp_type" "$(gpt_field "$WORK/mbr2gpt.raw" 0 type)"
sgdisk -v "$WORK/mbr2gpt.raw" | grep -q "No problems found" || fail "sgdisk -v (MBR->GPT)"
# Same ESP bytes as the image booted above; only the table differs, so no
# boot of its own (it keeps the test within a minute under TCG).
cmp <(dd if="$WORK/mbr2gpt.raw" bs=1M skip=1 count=40 status=none) \
    <(dd if="$WORK/conv.qcow2.raw" bs=1M skip=1 count=40 status=none) || fail "ESP content differs"
pass "ESP content identical to the booted image's"
rm -f "$WORK/mbr2gpt.raw" "$WORK/conv.qcow2.raw"

# No ESP selected: p2v warns; --add-esp makes an empty FAT32 ESP in front.
# Filled with systemd-boot afterwards (as bootctl would), OVMF boots from it:
# the firmware's own FAT driver reads what p2v formatted.
expect_exit 0 "$P2V" convert --dry-run --boot uefi -o "$WORK/x.qcow2" "$WORK/pc.img:1"
grep -q "will not boot under UEFI until one is made" "$WORK/last.err" || fail "no warning without an ESP"
expect_exit 0 "$P2V" convert --boot uefi --add-esp 40M -o "$WORK/added.qcow2" "$WORK/pc.img:1"
grep -q "will not boot under UEFI" "$WORK/last.err" && fail "warned although --add-esp made an ESP"
qemu-img convert -O raw "$WORK/added.qcow2" "$WORK/added.raw"
check_eq "new ESP in front" "2048 $esp_type" \
    "$(gpt_field "$WORK/added.raw" 0 start) $(gpt_field "$WORK/added.raw" 0 type)"
bootimg_fill_esp "$WORK/added.raw@@1M" "$(bootimg_kernel)" "$WORK/initrd.img"
bootimg_expect_boot "Linux partition + --add-esp 40M, ESP filled with systemd-boot" \
    "$WORK/added.raw" raw uefi "$marker" "$WORK/added.log" "$WORK/pc.img"
pass "UEFI boots: ESP moved, p2v-formatted ESP; MBR 0xEF -> GPT ESP"
