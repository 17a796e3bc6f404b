#!/bin/bash
# A UEFI Windows (GPT) moved to a BIOS image (--boot bios: MBR), WinRE then
# C:, C: active: the offline bcdboot puts \bootmgr and \Windows\Boot\PCAT's
# files in \Boot of C: and makes \Boot\BCD from BCD-Template, with {bootmgr}
# and the OS loader (winload.exe) naming C: in MBR form (the image's new
# signature and C:'s offset), read back with hivexget; MountedDevices names
# C: in MBR form; ntfsfix -n is clean; the source is unchanged. Without
# --active (the ESP selected as well), p2v makes C: active itself; an
# --active on the FAT ESP is refused.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sgdisk sfdisk jq mkntfs mkfs.vfat mcopy ntfs-3g ntfscat ntfsfix hivexget hivexregedit python3

pc=$WORK/pc.img
mkwin_gpt_uefi "$pc"
before=$(sha256sum <"$pc")
mkwin_part_img "$pc" 3 "$WORK/oldc"

"$P2V" convert --dry-run --boot bios --active "$pc:3" -O raw -o "$WORK/out.img" "$pc:4" "$pc:3" >"$WORK/dry.txt"
grep -q 'firmware switch to BIOS: \\bootmgr and 3 files in \\Boot' "$WORK/dry.txt" ||
    fail "dry run does not list the firmware switch: $(cat "$WORK/dry.txt")"
"$P2V" convert --boot bios --active "$pc:3" -O raw -o "$WORK/out.img" "$pc:4" "$pc:3" 2>/dev/null
check_eq "table" dos "$(sfdisk --json "$WORK/out.img" | jq -r .partitiontable.label)"
check_eq "C: active" true "$(sfdisk --json "$WORK/out.img" | jq '.partitiontable.partitions[1].bootable')"
sig=$(sfdisk --json "$WORK/out.img" | jq -r .partitiontable.id)
oc=$(mkwin_part_off "$WORK/out.img" 2)
mkwin_part_img "$WORK/out.img" 2 "$WORK/c"
ntfsfix -n "$WORK/c" >"$WORK/fix" 2>&1 || fail "ntfsfix -n: $(cat "$WORK/fix")"

check_eq "\\bootmgr" "$(ntfscat "$WORK/oldc" /Windows/Boot/PCAT/bootmgr | sha256sum)" \
    "$(ntfscat "$WORK/c" /bootmgr | sha256sum)"
check_eq "\\Boot\\bootmgr" "$(ntfscat "$WORK/oldc" /Windows/Boot/PCAT/bootmgr | sha256sum)" \
    "$(ntfscat "$WORK/c" /Boot/bootmgr | sha256sum)"

ntfscat "$WORK/c" /Boot/BCD >"$WORK/bcd"
el() { hivexget "$WORK/bcd" "\\Objects\\$1\\Elements\\$2" Element; }
hexel() { el "$1" "$2" | od -An -tx1 -v | tr -d ' \n'; }
dev=$(python3 -c "import struct,sys; s=int(sys.argv[1],0); o=int(sys.argv[2])
print((bytes(16)+struct.pack('<IIIIQ8xII',6,0,0x48,0,o,0,1)+struct.pack('<I',s)+bytes(28)).hex())" "$sig" "$oc")
BM='{9dea862c-5cdd-4e70-acc1-f32b344d4795}'
LD='{5a9a1e42-7a1c-4e0b-9a4e-70327640b001}'
check_eq "{bootmgr} device" "$dev" "$(hexel "$BM" 11000001)"
check_eq "loader device" "$dev" "$(hexel "$LD" 11000001)"
check_eq "loader osdevice" "$dev" "$(hexel "$LD" 21000001)"
check_eq "loader path" '\Windows\system32\winload.exe' "$(el "$LD" 12000002)"
check_eq "systemroot" '\Windows' "$(el "$LD" 22000002)"
check_eq "default" "$LD" "$(el "$BM" 23000003)"
check_eq "loader description" "Windows 10 Pro" "$(el "$LD" 12000004)"
check_eq "loader type" 270532611 "$(hivexget "$WORK/bcd" "\\Objects\\$LD\\Description" Type)"

ntfscat "$WORK/c" /Windows/System32/config/SYSTEM >"$WORK/sys"
check_eq "MountedDevices C:" "$(python3 -c "import struct,sys; print(struct.pack('<IQ', int(sys.argv[1],0), int(sys.argv[2])).hex())" "$sig" "$oc")" \
    "$(hivexget "$WORK/sys" '\MountedDevices' '\DosDevices\C:' | od -An -tx1 -v | tr -d ' \n')"
check_eq "source unchanged" "$before" "$(sha256sum <"$pc")"

# Without --active, and with the ESP selected too (which the planner could
# make active): p2v makes Windows' partition active itself (no System
# Reserved selected) and says so; its \bootmgr is there.
"$P2V" convert --boot bios -O raw -o "$WORK/auto.img" "$pc:1" "$pc:4" "$pc:3" 2>"$WORK/auto.err" ||
    fail "--boot bios without --active: $(cat "$WORK/auto.err")"
grep -q "pc.img:3 (Windows) is made active to hold Windows' BIOS boot files" "$WORK/auto.err" ||
    fail "no notice of the active choice: $(cat "$WORK/auto.err")"
check_eq "active partitions (ESP, WinRE, C:)" "false false true" \
    "$(sfdisk --json "$WORK/auto.img" | jq -r '.partitiontable.partitions | map(.bootable // false | tostring) | join(" ")')"
mkwin_part_img "$WORK/auto.img" 3 "$WORK/autoc"
ntfsfix -n "$WORK/autoc" >"$WORK/fix" 2>&1 || fail "ntfsfix -n: $(cat "$WORK/fix")"
check_eq "\\bootmgr on the C: made active" "$(ntfscat "$WORK/oldc" /Windows/Boot/PCAT/bootmgr | sha256sum)" \
    "$(ntfscat "$WORK/autoc" /bootmgr | sha256sum)"
ntfscat "$WORK/autoc" /Boot/BCD >"$WORK/autobcd"
sig=$(sfdisk --json "$WORK/auto.img" | jq -r .partitiontable.id)
oc=$(mkwin_part_off "$WORK/auto.img" 3)
dev=$(python3 -c "import struct,sys; s=int(sys.argv[1],0); o=int(sys.argv[2])
print((bytes(16)+struct.pack('<IIIIQ8xII',6,0,0x48,0,o,0,1)+struct.pack('<I',s)+bytes(28)).hex())" "$sig" "$oc")
check_eq "{bootmgr} device = the C: made active" "$dev" \
    "$(hivexget "$WORK/autobcd" "\\Objects\\$BM\\Elements\\11000001" Element | od -An -tx1 -v | tr -d ' \n')"

# --active on a partition that is not NTFS: refused before anything is written.
expect_exit 1 "$P2V" convert --boot bios --active "$pc:1" -O raw -o "$WORK/bad.img" "$pc:1" "$pc:3"
grep -q "the active partition must be NTFS" "$WORK/last.err" || fail "refusal: $(cat "$WORK/last.err")"
[ ! -e "$WORK/bad.img" ] || fail "bad.img written"
check_eq "source unchanged (after all runs)" "$before" "$(sha256sum <"$pc")"

# A UEFI Windows without \Windows\System32\config\BCD-Template (issue 25 item
# 5): no \Boot\BCD can be made, so --boot bios is refused before anything is
# written, naming the template; --no-windows-fixups copies it unchanged.
MKWIN_NO_TEMPLATE=1 mkwin_gpt_uefi "$WORK/nt.img"
for dry in --dry-run ""; do
    # shellcheck disable=SC2086
    expect_exit 1 "$P2V" convert $dry --boot bios -O raw -o "$WORK/nt.raw" "$WORK/nt.img:1" "$WORK/nt.img:4" "$WORK/nt.img:3"
    grep -q 'nt.img:3: firmware switch to BIOS: Windows has no \\Windows\\System32\\config\\BCD-Template to make \\Boot\\BCD from' "$WORK/last.err" ||
        fail "no BCD-Template: $(cat "$WORK/last.err")"
    grep -q -- "--no-windows-fixups to copy Windows unchanged" "$WORK/last.err" || fail "no way out named"
    [ ! -e "$WORK/nt.raw" ] || fail "nt.raw written"
done
pass "UEFI Windows without BCD-Template: --boot bios refused: $(cat "$WORK/last.err")"
expect_exit 0 "$P2V" convert --no-windows-fixups --boot bios -O raw -o "$WORK/nt.raw" "$WORK/nt.img:1" "$WORK/nt.img:4" "$WORK/nt.img:3"
pass "--no-windows-fixups copies it unchanged"
