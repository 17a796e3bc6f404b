#!/bin/bash
# convert --boot-check: the BIOS test PC converted to qcow2 (boot partition
# moved to 1 MiB) is booted right after writing and its guest powers itself
# off -> exit 0, the report under "boot_check" in the JSON; a conversion of
# the data partition alone (the MBR code finds nothing to boot behind it)
# is written, kept, and fails its boot check -> exit 1 naming why.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_bios
need jq qemu-img
export TMPDIR=$WORK

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_bios_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"

expect_exit 0 "$P2V" convert --json --boot-check -o "$WORK/conv.qcow2" "$WORK/pc.img:2" "$WORK/pc.img:1"
jq -c '.boot_check' "$WORK/last.out"
check_eq "conversion written" "$WORK/conv.qcow2 false" \
    "$(jq -r '"\(.output) \(.dry_run)"' "$WORK/last.out")"
check_eq "boot check of the written image" "true powered-off qcow2 bios" \
    "$(jq -r '.boot_check | "\(.booted) \(.how) \(.format) \(.firmware)"' "$WORK/last.out")"
grep -q "boot-check $WORK/conv.qcow2: booted" "$WORK/last.err" || fail "no boot-check notice: $(cat "$WORK/last.err")"
qemu-img check "$WORK/conv.qcow2" >/dev/null || fail "qemu-img check after the boot check"
left=$(ls -d "$WORK"/p2v-bootcheck* 2>/dev/null || true)
[ -z "$left" ] || fail "temporary directories left after a good boot: $left $(ls $left)"
pass "no temporary directory left after a good boot (KVM attempt included)"
pass "image still clean after its boot check"

# Only the ext4 data partition, --boot bios: the source's MBR code (SYSLINUX's)
# and the partition made active, but its first sector is no boot sector.
expect_exit 1 "$P2V" convert --boot-check --boot bios -o "$WORK/data.qcow2" "$WORK/pc.img:1"
cat "$WORK/last.err"
[ -s "$WORK/data.qcow2" ] || fail "the image was not kept"
grep -q "boot-check $WORK/data.qcow2: did not boot: a boot loader stopped with an error: \"Missing operating system\"" \
    "$WORK/last.err" || fail "no failure line"
grep -q "^Boot check of $WORK/data.qcow2: did not boot (boot-loader)" "$WORK/last.err" ||
    fail "no report"
pass "failed boot check: exit 1, image kept, reason given"

expect_exit 2 "$P2V" convert --boot-check --dry-run -o "$WORK/x.qcow2" "$WORK/pc.img:1"
pass "--boot-check with --dry-run is a usage error"
