#!/bin/bash
# A BIOS Windows PC (MBR, System Reserved + C: + D: + Recovery) moved to a
# UEFI image (--boot uefi -t gpt) with no ESP of its own and no --add-esp:
# p2v makes an ESP (the dry run says so) and fills it as bcdboot would. The
# ESP passes fsck.fat -n; mtools lists and extracts \EFI\Microsoft\Boot\*,
# every file of the source's \Windows\Boot\EFI (language folder and Fonts
# included) byte for byte, and \EFI\Boot\bootx64.efi = bootmgfw.efi; the new
# \EFI\Microsoft\Boot\BCD, read with hivexget, names the ESP (its partition
# GUID + the image's disk GUID, byte for byte) for {bootmgr} and {memdiag}
# and C:'s GPT identity for the OS loader and its resume loader, with the
# .efi paths, and keeps BCD-Template's objects; an MSR sits before the
# Windows partitions. The synthetic Windows' bootmgfw.efi is a generic EFI
# loader (systemd-boot): OVMF boots the image from \EFI\Boot\bootx64.efi
# of the ESP p2v built (with a loader entry and kernel added by mtools).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_uefi
need sfdisk sgdisk jq mkntfs ntfs-3g ntfscat ntfsfix hivexget hivexregedit python3 mcopy mdir \
    fsck.fat

pc=$WORK/pc.img
MKWIN_BOOTMGFW=$BOOTIMG_SDBOOT mkwin_mbr_bios "$pc"
before=$(sha256sum <"$pc")
mkwin_part_img "$pc" 2 "$WORK/oldc"
sels=("$pc:1" "$pc:4" "$pc:3" "$pc:2")

# The dry run says an ESP is made and lists what goes into it.
expect_exit 0 "$P2V" convert --dry-run --boot uefi -t gpt -O raw -o "$WORK/out.img" "${sels[@]}"
grep -q "an EFI System Partition of 100 MiB is made for Windows' UEFI boot files" "$WORK/last.err" ||
    fail "dry run does not say an ESP is made: $(cat "$WORK/last.err")"
grep -q '(new ESP): firmware switch to UEFI: 7 files in \\EFI\\Microsoft\\Boot' "$WORK/last.out" ||
    fail "dry run does not list the ESP fill: $(cat "$WORK/last.out")"
grep -q '(new ESP) \\EFI\\Microsoft\\Boot\\BCD: new "Windows 10 Pro"' "$WORK/last.out" ||
    fail "dry run does not list the new BCD's loader"

expect_exit 0 "$P2V" convert --boot uefi -t gpt -O raw --json -o "$WORK/out.img" "${sels[@]}"
cp "$WORK/last.out" "$WORK/res.json"
sgdisk -v "$WORK/out.img" | grep -q "No problems found" || fail "sgdisk -v: $(sgdisk -v "$WORK/out.img")"
types=$(sfdisk --json "$WORK/out.img" | jq -r '.partitiontable.partitions[].type' | tr '\n' ' ')
check_eq "partition types: ESP, MSR, then the Windows partitions" \
    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B E3C9E316-0B5C-4DB8-817D-F92DF00215AE EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 DE94BBA4-06D1-4D40-A16A-BFD50179D6AC EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 " \
    "$types"
disk=$(sfdisk --json "$WORK/out.img" | jq -r .partitiontable.id)
uuid() { sfdisk --json "$WORK/out.img" | jq -r ".partitiontable.partitions[$(($1 - 1))].uuid"; }
espuuid=$(uuid 1)
cuuid=$(uuid 6)

# The ESP: clean, and holding exactly the files of \Windows\Boot\EFI.
mkwin_part_img "$WORK/out.img" 1 "$WORK/esp"
fsck.fat -n "$WORK/esp" >"$WORK/fsck" 2>&1 || fail "fsck.fat -n: $(cat "$WORK/fsck")"
pass "fsck.fat -n clean on the new ESP"
export MTOOLS_SKIP_CHECK=1
mdir -/ -b -i "$WORK/esp" ::/EFI | sort >"$WORK/esp.list"
cat >"$WORK/want.list" <<'EOF'
::/EFI/Boot/
::/EFI/Boot/bootx64.efi
::/EFI/Microsoft/
::/EFI/Microsoft/Boot/
::/EFI/Microsoft/Boot/BCD
::/EFI/Microsoft/Boot/Fonts/
::/EFI/Microsoft/Boot/Fonts/segoe_slboot.ttf
::/EFI/Microsoft/Boot/Fonts/wgl4_boot.ttf
::/EFI/Microsoft/Boot/bootmgfw.efi
::/EFI/Microsoft/Boot/bootmgr.efi
::/EFI/Microsoft/Boot/en-US/
::/EFI/Microsoft/Boot/en-US/bootmgfw.efi.mui
::/EFI/Microsoft/Boot/en-US/memtest.efi.mui
::/EFI/Microsoft/Boot/memtest.efi
EOF
diff -u <(sort "$WORK/want.list") "$WORK/esp.list" || fail "ESP tree differs"
for f in bootmgfw.efi memtest.efi bootmgr.efi en-US/bootmgfw.efi.mui en-US/memtest.efi.mui \
    Fonts/wgl4_boot.ttf Fonts/segoe_slboot.ttf; do
    check_eq "\\EFI\\Microsoft\\Boot\\$f" "$(ntfscat "$WORK/oldc" "/Windows/Boot/EFI/$f" | sha256sum)" \
        "$(mcopy -n -i "$WORK/esp" "::/EFI/Microsoft/Boot/$f" - | sha256sum)"
done
check_eq "\\EFI\\Boot\\bootx64.efi = bootmgfw.efi" "$(sha256sum <"$BOOTIMG_SDBOOT")" \
    "$(mcopy -n -i "$WORK/esp" ::/EFI/Boot/bootx64.efi - | sha256sum)"

# The new BCD, through hivexget.
mcopy -n -i "$WORK/esp" ::/EFI/Microsoft/Boot/BCD "$WORK/bcd"
el() { hivexget "$WORK/bcd" "\\Objects\\$1\\Elements\\$2" Element; }
hexel() { el "$1" "$2" | od -An -tx1 -v | tr -d ' \n'; }
gptdev() { # PARTGUID: the device element bytes, GPT form on the image's disk
    python3 -c "import struct,sys,uuid
g=lambda s: uuid.UUID(s).bytes_le
print((bytes(16)+struct.pack('<IIII',6,0,0x48,0)+g(sys.argv[1])+struct.pack('<II',0,0)+g(sys.argv[2])+bytes(16)).hex())" "$1" "$disk"
}
BM='{9dea862c-5cdd-4e70-acc1-f32b344d4795}'
LD='{5a9a1e42-7a1c-4e0b-9a4e-70327640b001}'
RS='{5a9a1e42-7a1c-4e0b-9a4e-70327640b002}'
MD='{b2721d73-1db4-4c62-bf78-c548a880142d}'
check_eq "{bootmgr} device = the ESP" "$(gptdev "$espuuid")" "$(hexel "$BM" 11000001)"
check_eq "{bootmgr} path" '\EFI\Microsoft\Boot\bootmgfw.efi' "$(el "$BM" 12000002)"
check_eq "{bootmgr} default" "$LD" "$(el "$BM" 23000003)"
check_eq "loader device = C:" "$(gptdev "$cuuid")" "$(hexel "$LD" 11000001)"
check_eq "loader osdevice = C:" "$(gptdev "$cuuid")" "$(hexel "$LD" 21000001)"
check_eq "loader path" '\Windows\system32\winload.efi' "$(el "$LD" 12000002)"
check_eq "systemroot" '\Windows' "$(el "$LD" 22000002)"
check_eq "loader description" "Windows 10 Pro" "$(el "$LD" 12000004)"
check_eq "resume path" '\Windows\system32\winresume.efi' "$(el "$RS" 12000002)"
check_eq "resume device = C:" "$(gptdev "$cuuid")" "$(hexel "$RS" 11000001)"
check_eq "memdiag path" '\EFI\Microsoft\Boot\memtest.efi' "$(el "$MD" 12000002)"
check_eq "memdiag device = the ESP" "$(gptdev "$espuuid")" "$(hexel "$MD" 11000001)"
check_eq "locale" "en-US" "$(el "$BM" 12000005)"
check_eq "timeout" "1e00000000000000" "$(hexel "$BM" 25000004)"
check_eq "BCD-Template's {globalsettings} kept" "Global Settings" \
    "$(el '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}' 12000004)"

# C:'s MountedDevices entry names it in GPT form; C: is clean; the source is unchanged.
mkwin_part_img "$WORK/out.img" 6 "$WORK/c"
ntfsfix -n "$WORK/c" >"$WORK/fix" 2>&1 || fail "ntfsfix -n C:: $(cat "$WORK/fix")"
check_eq "MountedDevices C:" \
    "$(python3 -c "import uuid,sys; print((b'DMIO:ID:'+uuid.UUID(sys.argv[1]).bytes_le).hex())" "$cuuid")" \
    "$(ntfscat "$WORK/c" /Windows/System32/config/SYSTEM >"$WORK/sys" &&
       hivexget "$WORK/sys" '\MountedDevices' '\DosDevices\C:' | od -An -tx1 -v | tr -d ' \n')"
jq -r '.windows.changes[]' "$WORK/res.json" | grep -q 'firmware switch to UEFI' ||
    fail "JSON report lacks the ESP fill"
check_eq "source unchanged" "$before" "$(sha256sum <"$pc")"

# OVMF boots \EFI\Boot\bootx64.efi from the ESP p2v built: the copied
# systemd-boot finds a loader entry (added with mtools, as bootctl would).
marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
printf 'timeout 0\ndefault p2v.conf\n' >"$WORK/loader.conf"
printf 'title p2v boot test\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' \
    "$BOOTIMG_CMDLINE" >"$WORK/p2v.conf"
esp="$WORK/out.img@@1M"
mmd -i "$esp" ::/loader ::/loader/entries
mcopy -i "$esp" "$WORK/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$WORK/p2v.conf" ::/loader/entries/p2v.conf
mcopy -i "$esp" "$(bootimg_kernel)" ::/vmlinuz
mcopy -i "$esp" "$WORK/initrd.img" ::/initrd.img
bootimg_boot "$WORK/out.img" raw uefi "$marker" "$WORK/boot.log" ||
    fail "OVMF does not boot \\EFI\\Boot\\bootx64.efi from the ESP p2v built"
bootimg_report "BIOS Windows -> UEFI, \\EFI\\Boot\\bootx64.efi on p2v's ESP" "$WORK/boot.log"
pass "OVMF boots the generic loader p2v placed at \\EFI\\Boot\\bootx64.efi"

# A BIOS Windows without \Windows\System32\config\BCD-Template (issue 25 item
# 5): no ESP can be filled, so --boot uefi is refused before anything is
# written, naming the template, instead of a GPT with no ESP.
MKWIN_NO_TEMPLATE=1 mkwin_mbr_bios "$WORK/nt.img"
expect_exit 1 "$P2V" convert --boot uefi -t gpt -O raw -o "$WORK/nt.raw" "$WORK/nt.img:1" "$WORK/nt.img:2"
grep -q 'nt.img:2: firmware switch to UEFI: Windows has no \\Windows\\System32\\config\\BCD-Template to make \\EFI\\Microsoft\\Boot\\BCD from' "$WORK/last.err" ||
    fail "no BCD-Template: $(cat "$WORK/last.err")"
[ ! -e "$WORK/nt.raw" ] || fail "nt.raw written"
pass "BIOS Windows without BCD-Template: --boot uefi refused: $(cat "$WORK/last.err")"
