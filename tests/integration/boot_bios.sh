#!/bin/bash
# Boot under SeaBIOS: a BIOS/MBR source PC (data partition at 1 MiB, active
# FAT boot partition with SYSLINUX at 10 MiB) with p2v's own MBR boot program
# in place of SYSLINUX's; what that program says when it cannot boot; and the
# PC converted with the boot partition moved to 1 MiB, once with the source's
# boot code and once from a source without boot code (p2v's program).
# Each boot must print the random marker of its initramfs on the serial
# console; the serial lines and boot times are printed for the log.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_bios
need jq
mbr=$P2V_BUILD/generated/mbr.bin
if [ ! -s "$mbr" ]; then
    echo "SKIP: p2v was built without its MBR boot program (no nasm)" >&2
    exit 77
fi

# poke FILE OFFSET BYTES...: write bytes (hex, e.g. 80 00) at a byte offset.
poke() {
    local f=$1 off=$2 b s=""
    shift 2
    for b in "$@"; do s+="\\x$b"; done
    printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_bios_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"

# p2v's own MBR program in place of SYSLINUX's finds partition 2 (active, at
# 10 MiB, after a data partition) and chains to its boot sector. (The source
# as built is the control: booted when a boot fails, or always with
# BOOTIMG_CONTROL=1.)
cp --sparse=always "$WORK/pc.img" "$WORK/own.img"
dd if="$mbr" of="$WORK/own.img" bs=440 count=1 conv=notrunc status=none
cmp -n 440 "$mbr" "$WORK/own.img" || fail "boot code not in place"
bootimg_expect_boot "source BIOS PC with p2v's MBR program (boot partition = entry 2 at 10 MiB)" \
    "$WORK/own.img" raw bios "$marker" "$WORK/own.log" "$WORK/pc.img"

# What p2v's MBR program prints when it cannot boot (SeaBIOS mirrors the
# screen to the serial port). A 2 MiB disk: one partition at 1 MiB.
tiny=$WORK/tiny.img
truncate -s 2M "$tiny"
printf 'label: dos\nstart=2048, size=2048, type=83\n' | sfdisk -q "$tiny"
dd if="$mbr" of="$tiny" bs=440 count=1 conv=notrunc status=none
screen_case() { # NAME EXPECTED-TEXT: boot $tiny, require the text
    bootimg_bios_screen "$tiny" "$2" "$WORK/screen.log" || fail "$1: expected '$2'"
    pass "$1: $(tr -d '\r' <"$WORK/screen.log" | grep -o "p2v MBR: .*") (${BOOT_SECONDS}s)"
}
screen_case "no active partition" "p2v MBR: no active partition"
poke "$tiny" 446 80       # entry 1 active, but its first sector is all zeros
screen_case "active partition without a boot sector" "p2v MBR: no boot sector (55AA) on active partition"
poke "$tiny" 462 80       # a second active entry
screen_case "two active entries" "p2v MBR: invalid partition table"
poke "$tiny" 462 12       # a status byte that is neither 0x00 nor 0x80
screen_case "corrupt status byte" "p2v MBR: invalid partition table"
poke "$tiny" 462 00
poke "$tiny" 454 00 00 00 7f # entry 1 starts far past the end of the 2 MiB disk
screen_case "unreadable boot sector" "p2v MBR: disk read error"

# ---- converted images ----------------------------------------------------
# The boot partition (source partition 2 at 10 MiB) goes first, to 1 MiB, and
# the data partition after it. No --boot: the source's firmware (MBR with an
# active partition = bios) is kept, with the source's boot code.
bootimg_convert_pc "^Firmware: bios (from the source), boot code: $WORK/pc.img"
sfdisk -V "$WORK/conv.raw" >/dev/null || fail "sfdisk -V"
check_eq "boot partition moved to 1 MiB, active" "2048 true" \
    "$(sfdisk --json "$WORK/conv.raw" | jq -r '.partitiontable.partitions[0] | "\(.start) \(.bootable // false)"')"
check_eq "FAT hidden sectors follow the move" 2048 \
    "$(od -An -tu4 -j $((2048 * 512 + 28)) -N4 "$WORK/conv.raw" | tr -d ' ')"
cmp -n 440 "$WORK/pc.img" "$WORK/conv.raw" || fail "the source's boot code was not carried"
pass "boot code is the source's (SYSLINUX MBR)"
rm -f "$WORK/conv.raw"
bootimg_expect_boot "converted BIOS PC, boot partition 10 MiB -> 1 MiB, source boot code" \
    "$WORK/conv.qcow2" qcow2 bios "$marker" "$WORK/conv.log" "$WORK/pc.img"

# The same PC whose MBR boot code area is empty (as after a GPT->MBR move or
# a wiped MBR): --boot bios makes p2v write its own MBR program.
cp --sparse=always "$WORK/pc.img" "$WORK/nocode.img"
dd if=/dev/zero of="$WORK/nocode.img" bs=440 count=1 conv=notrunc status=none
expect_exit 0 "$P2V" convert --boot bios -o "$WORK/own.qcow2" "$WORK/nocode.img:2" "$WORK/nocode.img:1"
grep -q "^Firmware: bios, boot code: p2v" "$WORK/last.err" || fail "the layout does not name p2v's boot code"
qemu-img check "$WORK/own.qcow2" >/dev/null || fail "qemu-img check"
qemu-img convert -O raw "$WORK/own.qcow2" "$WORK/own.raw"
cmp -n 440 "$mbr" "$WORK/own.raw" || fail "p2v's MBR program is not in the image"
pass "boot code is p2v's MBR program"
check_eq "boot partition active at 1 MiB" "2048 true" \
    "$(sfdisk --json "$WORK/own.raw" | jq -r '.partitiontable.partitions[0] | "\(.start) \(.bootable // false)"')"
rm -f "$WORK/own.raw"
bootimg_expect_boot "converted BIOS PC, boot partition 10 MiB -> 1 MiB, p2v's MBR program" \
    "$WORK/own.qcow2" qcow2 bios "$marker" "$WORK/own-conv.log" "$WORK/pc.img"
pass "BIOS boots: p2v MBR program, converted with the source's and with p2v's boot code"
