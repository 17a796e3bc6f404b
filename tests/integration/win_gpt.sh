#!/bin/bash
# A UEFI Windows PC on GPT (ESP, MSR, C:, WinRE), converted twice:
#  - GPT -> GPT with a new disk GUID (WinRE before C:, so C: is last): the
#    ESP's \EFI\Microsoft\Boot\BCD names the new disk GUID and the kept
#    partition GUIDs, its FirmwareVariable is gone; MountedDevices needs no
#    change (GPT values name partition GUIDs), so SYSTEM is untouched;
#  - GPT -> MBR (-t mbr, still UEFI): the BCD and MountedDevices take the
#    MBR form with the new signature and offsets.
# Expectations are hives generated with the new identities and compared
# through hivex's own export, byte for byte; WinRE's ReAgent.xml names the
# recovery partition's new place (disk GUID / signature and offset). fsck.fat -n and ntfsfix -n are
# clean, files outside the edited ones unchanged, the source unchanged.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sgdisk sfdisk jq mkntfs mkfs.vfat mcopy mtype fsck.fat ntfs-3g ntfscat ntfsfix hivexregedit python3

pc=$WORK/pc.img
MKWIN_REAGENT=1 mkwin_gpt_uefi "$pc"
before=$(sha256sum <"$pc")
for n in 1 3 4; do mkwin_part_img "$pc" "$n" "$WORK/old$n"; done

# ---- GPT -> GPT ----
"$P2V" convert -O raw --json -o "$WORK/g.img" "$pc:1" "$pc:4" "$pc:3" >"$WORK/g.json"
sgdisk -v "$WORK/g.img" | grep -q "No problems found" || fail "sgdisk -v: $(sgdisk -v "$WORK/g.img")"
guid=$(sgdisk -p "$WORK/g.img" | sed -n 's/^Disk identifier (GUID): //p' | tr 'A-Z' 'a-z')
check_eq "new disk GUID differs" yes "$([ "$guid" != "$MKWIN_GDISK" ] && echo yes)"
for n in 1 2 3; do mkwin_part_img "$WORK/g.img" "$n" "$WORK/g$n"; done
fsck.fat -n "$WORK/g1" >"$WORK/fsck" 2>&1 || fail "fsck.fat -n: $(cat "$WORK/fsck")"
ntfsfix -n "$WORK/g2" >/dev/null && ntfsfix -n "$WORK/g3" >/dev/null || fail "ntfsfix -n"
pass "fsck.fat -n and ntfsfix -n clean"
mtype -i "$WORK/g1" ::/EFI/Microsoft/Boot/BCD >"$WORK/g.bcd"
mkwin_hive "$WORK/g.want" bcd --style gpt --firmware efi --no-fwvar --disk "$guid" \
    --boot "$MKWIN_GP1" --os "$MKWIN_GP3" --recovery "$MKWIN_GP4"
diff -u <(mkwin_export "$WORK/g.want") <(mkwin_export "$WORK/g.bcd") || fail "GPT BCD differs"
pass "ESP BCD: every device element names the new disk GUID, FirmwareVariable dropped"
check_eq "SYSTEM unchanged (GPT values name partition GUIDs)" \
    "$(ntfscat "$WORK/old3" /Windows/System32/config/SYSTEM | sha256sum)" \
    "$(ntfscat "$WORK/g3" /Windows/System32/config/SYSTEM | sha256sum)"
check_eq "MountedDevices values rewritten" 0 "$(jq .windows.mounted_devices "$WORK/g.json")"
jq -r '.windows.changes[]' "$WORK/g.json" | grep -q '\\DosDevices\\C: kept: GPT partition {'"$MKWIN_GP3"'} unchanged' ||
    fail "no C: kept line: $(jq -r '.windows.changes[]' "$WORK/g.json")"
# WinRE's ReAgent.xml names the recovery partition by the new disk GUID and
# its new offset, byte for byte as reagentc writes it.
python3 "$MKWIN_LIB/mkwin_reg.py" reagent --style gpt --disk "$guid" \
    --recovery "$(mkwin_part_off "$WORK/g.img" 2)" >"$WORK/g.reagent.want"
cmp "$WORK/g.reagent.want" <(ntfscat "$WORK/g3" /Windows/System32/Recovery/ReAgent.xml) ||
    fail "ReAgent.xml differs: $(ntfscat "$WORK/g3" /Windows/System32/Recovery/ReAgent.xml)"
check_eq "ReAgent.xml locations rewritten" 1 "$(jq .windows.reagent_locations "$WORK/g.json")"
check_eq "bootx64.efi" "$(mtype -i "$WORK/old1" ::/EFI/Boot/bootx64.efi | sha256sum)" \
    "$(mtype -i "$WORK/g1" ::/EFI/Boot/bootx64.efi | sha256sum)"
check_eq "report.docx" "$(ntfscat "$WORK/old3" /Users/staff/Documents/report.docx | sha256sum)" \
    "$(ntfscat "$WORK/g3" /Users/staff/Documents/report.docx | sha256sum)"

# ---- GPT -> MBR ----
"$P2V" convert -O raw -t mbr -o "$WORK/m.img" "$pc:1" "$pc:4" "$pc:3" 2>/dev/null
sig=$(sfdisk --json "$WORK/m.img" | jq -r .partitiontable.id)
o1=$(mkwin_part_off "$WORK/m.img" 1)
orec=$(mkwin_part_off "$WORK/m.img" 2)
oc=$(mkwin_part_off "$WORK/m.img" 3)
for n in 1 2 3; do mkwin_part_img "$WORK/m.img" "$n" "$WORK/m$n"; done
fsck.fat -n "$WORK/m1" >"$WORK/fsck" 2>&1 || fail "fsck.fat -n: $(cat "$WORK/fsck")"
ntfsfix -n "$WORK/m2" >/dev/null && ntfsfix -n "$WORK/m3" >/dev/null || fail "ntfsfix -n"
mtype -i "$WORK/m1" ::/EFI/Microsoft/Boot/BCD >"$WORK/m.bcd"
mkwin_hive "$WORK/m.want" bcd --style mbr --firmware efi --no-fwvar --disk "$sig" \
    --boot "$o1" --os "$oc" --recovery "$orec"
diff -u <(mkwin_export "$WORK/m.want") <(mkwin_export "$WORK/m.bcd") || fail "MBR BCD differs"
pass "BCD in MBR form: new signature and offsets"
ntfscat "$WORK/m3" /Windows/System32/config/SYSTEM >"$WORK/m.sys"
mounted="\\DosDevices\\C:=$oc,\\DosDevices\\E:=0xdeadbeef@1048576,\\??\\Volume{${MKWIN_VOL}1}=$o1"
mounted+=",\\??\\Volume{${MKWIN_VOL}3}=$oc,\\??\\Volume{${MKWIN_VOL}4}=$orec"
mkwin_hive "$WORK/m.syswant" system --disk "$sig" --mounted "$mounted"
diff -u <(mkwin_export "$WORK/m.syswant") <(mkwin_export "$WORK/m.sys") || fail "MountedDevices differs"
pass "MountedDevices in MBR form: C: kept"
python3 "$MKWIN_LIB/mkwin_reg.py" reagent --disk "$sig" --recovery "$orec" >"$WORK/m.reagent.want"
cmp "$WORK/m.reagent.want" <(ntfscat "$WORK/m3" /Windows/System32/Recovery/ReAgent.xml) ||
    fail "ReAgent.xml (MBR form) differs: $(ntfscat "$WORK/m3" /Windows/System32/Recovery/ReAgent.xml)"
pass "ReAgent.xml in MBR form: the new signature in decimal and the recovery partition's offset"
check_eq "Winre.wim" "$(ntfscat "$WORK/old4" /Recovery/WindowsRE/Winre.wim | sha256sum)" \
    "$(ntfscat "$WORK/m2" /Recovery/WindowsRE/Winre.wim | sha256sum)"
check_eq "source unchanged" "$before" "$(sha256sum <"$pc")"
