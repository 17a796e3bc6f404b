#!/bin/bash
# p2v Live: scripts/live-image builds the hybrid ISO (the other live_* tests
# boot it; CTest runs this one first). The ISO is at most 400 MiB, boots BIOS
# (isolinux, El Torito + an MBR for sticks) and UEFI (an EFI El Torito image
# that is also the ESP of the stick's GPT), and its squashfs holds this tree's
# p2v, the read-only udev rule, the launcher and the unattended runner.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: scripts/live-image needs root" >&2; exit 77; }
need xorriso unsquashfs sfdisk
iso=${P2V_LIVE_ISO:-$P2V_BUILD/p2v-live.iso}
t0=$(date +%s)
"$P2V_SRC/scripts/live-image" -o "$iso" 2>&1 | tail -n 20
secs=$(( $(date +%s) - t0 ))
size=$(stat -c %s "$iso")
echo "p2v-live.iso: $size bytes ($((size / 1048576)) MiB), built in ${secs}s"
[ "$size" -le $((400 * 1048576)) ] || fail "the ISO is $((size / 1048576)) MiB, above 400 MiB"

# Boot records: El Torito for BIOS and UEFI, a hybrid MBR and GPT for a stick.
xorriso -indev "$iso" -report_el_torito plain 2>/dev/null >"$WORK/eltorito"
cat "$WORK/eltorito"
grep -q "El Torito boot img :   1  BIOS" "$WORK/eltorito" || fail "no BIOS El Torito image"
grep -q "El Torito boot img :   2  UEFI" "$WORK/eltorito" || fail "no UEFI El Torito image"
sfdisk -l "$iso" >"$WORK/table" 2>&1 || true
cat "$WORK/table"
grep -qE "EFI System|EFI \(FAT" "$WORK/table" || fail "no EFI System partition (type 0xef) for a stick"
check_eq "MBR boot signature" "55aa" "$(od -An -tx1 -j510 -N2 "$iso" | tr -d ' ')"
check_eq "isohybrid MBR boot code" "$(head -c 432 /usr/lib/ISOLINUX/isohdpfx.bin | sha256sum)" \
    "$(head -c 432 "$iso" | sha256sum)"

# The live system: the squashfs's files.
xorriso -osirrox on -indev "$iso" -extract /live/filesystem.squashfs "$WORK/fs.squashfs" 2>/dev/null
unsquashfs -d "$WORK/root" "$WORK/fs.squashfs" usr/bin/p2v etc/udev/rules.d usr/lib/p2v-live \
    etc/systemd >/dev/null
cmp "$WORK/root/usr/bin/p2v" "$P2V_SRC/build/p2v" || fail "the ISO's p2v is not this tree's release build"
grep -q 'blockdev --setro' "$WORK/root/etc/udev/rules.d/60-p2v-setro.rules" || fail "no read-only rule"
for f in launcher unattended netboot p2v-target setro-all; do
    [ -x "$WORK/root/usr/lib/p2v-live/$f" ] || fail "no $f in the live system"
done
[ -L "$WORK/root/etc/systemd/system/multi-user.target.wants/p2v-unattended.service" ] ||
    fail "the unattended runner is not enabled"
pass "p2v-live.iso: $((size / 1048576)) MiB in ${secs}s, BIOS+UEFI hybrid, p2v and the live tools inside"
