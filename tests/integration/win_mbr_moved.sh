#!/bin/bash
# A BIOS Windows PC on MBR moved on MBR: System Reserved first, then the
# recovery partition, D:, and C: last (so it can grow), with a new disk
# signature. Read back with hivex's own tools, every BCD device element and
# every MountedDevices value names exactly the image's signature and new
# offsets (the whole hives equal hives generated with the new identities,
# byte for byte); values of partitions left behind stay; every volume passes
# ntfsfix -n; WinRE's ReAgent.xml names the recovery partition's new
# offset and the new signature; files outside the edited ones are unchanged (sha256); the
# source is unchanged. --no-windows-fixups leaves the BCD as it was, and a
# Windows with no boot store in the selection is refused before anything is
# written.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sfdisk jq mkntfs ntfs-3g ntfscat ntfsfix hivexregedit hivexget python3

MKWIN_REAGENT=1 mkwin_mbr_bios "$WORK/pc.img"
before=$(sha256sum <"$WORK/pc.img")
pc=$WORK/pc.img

"$P2V" convert -O raw --json -o "$WORK/out.img" "$pc:1" "$pc:4" "$pc:3" "$pc:2" >"$WORK/res.json"
sig=$(sfdisk --json "$WORK/out.img" | jq -r .partitiontable.id)
check_eq "new signature differs" yes "$([ "$sig" != "$MKWIN_SIG" ] && echo yes)"
off1=$(mkwin_part_off "$WORK/out.img" 1)
offrec=$(mkwin_part_off "$WORK/out.img" 2)
offd=$(mkwin_part_off "$WORK/out.img" 3)
offc=$(mkwin_part_off "$WORK/out.img" 4)
for n in 1 2 3 4; do
    mkwin_part_img "$WORK/out.img" "$n" "$WORK/new$n"
    mkwin_part_img "$pc" "$n" "$WORK/old$n"
    ntfsfix -n "$WORK/new$n" >"$WORK/fix$n" 2>&1 || fail "ntfsfix -n partition $n: $(cat "$WORK/fix$n")"
done
pass "ntfsfix -n clean on every partition"

# The BCD, read by hivex from the image, equals one generated with the new places.
ntfscat "$WORK/new1" /Boot/BCD >"$WORK/bcd.got"
mkwin_hive "$WORK/bcd.want" bcd --disk "$sig" --boot "$off1" --os "$offc" --recovery "$offrec"
mkwin_export "$WORK/bcd.got" >"$WORK/bcd.got.txt"
mkwin_export "$WORK/bcd.want" >"$WORK/bcd.want.txt"
diff -u "$WORK/bcd.want.txt" "$WORK/bcd.got.txt" || fail "BCD differs from the expectation"
pass "BCD: every device element names the new signature and offsets"
# One element by hand, through hivexget: the OS loader's osdevice.
hex=$(hivexget "$WORK/bcd.got" '\Objects\{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0001}\Elements\21000001' Element |
    od -An -tx1 -v | tr -d ' \n')
want=$(python3 -c "import struct,sys; s=int(sys.argv[1],0); o=int(sys.argv[2])
print((bytes(16)+struct.pack('<IIIIQ8xII',6,0,0x48,0,o,0,1)+struct.pack('<I',s)+bytes(28)).hex())" "$sig" "$offc")
check_eq "osdevice bytes (hivexget)" "$want" "$hex"

# MountedDevices: C: and D: keep their letters at the new places; E: (another
# disk) and the CD-ROM stay.
ntfscat "$WORK/new4" /Windows/System32/config/SYSTEM >"$WORK/sys.got"
mounted="\\DosDevices\\C:=$offc,\\DosDevices\\D:=$offd,\\DosDevices\\E:=0xdeadbeef@1048576"
mounted+=",\\??\\Volume{${MKWIN_VOL}1}=$off1,\\??\\Volume{${MKWIN_VOL}2}=$offc"
mounted+=",\\??\\Volume{${MKWIN_VOL}3}=$offd,\\??\\Volume{${MKWIN_VOL}4}=$offrec"
mkwin_hive "$WORK/sys.want" system --disk "$sig" --mounted "$mounted"
diff -u <(mkwin_export "$WORK/sys.want") <(mkwin_export "$WORK/sys.got") ||
    fail "MountedDevices differs from the expectation"
pass "MountedDevices: C: and D: kept, the rest as it was"

# WinRE's ReAgent.xml: the recovery partition at its new offset, the new
# signature in decimal; the rest of the file as it was, byte for byte.
python3 "$MKWIN_LIB/mkwin_reg.py" reagent --disk "$sig" --recovery "$offrec" >"$WORK/reagent.want"
cmp "$WORK/reagent.want" <(ntfscat "$WORK/new4" /Windows/System32/Recovery/ReAgent.xml) ||
    fail "ReAgent.xml differs: $(ntfscat "$WORK/new4" /Windows/System32/Recovery/ReAgent.xml)"
pass "ReAgent.xml names the recovery partition's new place"

# What the JSON report says.
check_eq "BCD elements rewritten" 8 "$(jq .windows.bcd_elements "$WORK/res.json")"
check_eq "MountedDevices values rewritten" 6 "$(jq .windows.mounted_devices "$WORK/res.json")"
check_eq "ReAgent.xml locations rewritten" 1 "$(jq .windows.reagent_locations "$WORK/res.json")"
jq -r '.windows.changes[]' "$WORK/res.json" | grep -q '\\DosDevices\\C: kept' || fail "no C: line"
check_eq "warnings" 0 "$(jq '.windows.warnings | length' "$WORK/res.json")"

# Files outside the edited hives are the source's.
same() { # PART_NEW PART_OLD PATH
    check_eq "$3" "$(ntfscat "$WORK/old$2" "$3" | sha256sum)" "$(ntfscat "$WORK/new$1" "$3" | sha256sum)"
}
same 1 1 /bootmgr
same 4 2 /Users/staff/Documents/report.docx
same 4 2 /Windows/System32/config/SOFTWARE
same 4 2 /Windows/Boot/PCAT/bootmgr
same 3 3 /data.bin
same 2 4 /Recovery/WindowsRE/Winre.wim
check_eq "source unchanged" "$before" "$(sha256sum <"$pc")"

# --no-windows-fixups: the BCD is copied as it was.
"$P2V" convert -O raw --no-windows-fixups -o "$WORK/plain.img" "$pc:1" "$pc:4" "$pc:3" "$pc:2" 2>/dev/null
mkwin_part_img "$WORK/plain.img" 1 "$WORK/plain1"
check_eq "--no-windows-fixups BCD" "$(ntfscat "$WORK/old1" /Boot/BCD | sha256sum)" \
    "$(ntfscat "$WORK/plain1" /Boot/BCD | sha256sum)"
# ... and it is kept in a plan file: the plan's run leaves the BCD as well.
"$P2V" convert --dry-run -O raw --no-windows-fixups --save-plan "$WORK/plain.json" \
    "$pc:1" "$pc:4" "$pc:3" "$pc:2" >/dev/null 2>&1
check_eq "plan file no_windows_fixups" true "$(jq .options.no_windows_fixups "$WORK/plain.json")"
"$P2V" convert --plan "$WORK/plain.json" --json -o "$WORK/plain2.img" >"$WORK/plain2.json" 2>/dev/null
check_eq "plan run: fixups" false "$(jq .windows.fixups "$WORK/plain2.json")"
mkwin_part_img "$WORK/plain2.img" 1 "$WORK/plain2_1"
check_eq "plan run: BCD as it was" "$(ntfscat "$WORK/old1" /Boot/BCD | sha256sum)" \
    "$(ntfscat "$WORK/plain2_1" /Boot/BCD | sha256sum)"
"$P2V" convert --dry-run --save-plan "$WORK/fix.json" "$pc:1" "$pc:4" >/dev/null 2>&1
check_eq "plan file without the option" false "$(jq .options.no_windows_fixups "$WORK/fix.json")"

# Windows without System Reserved and without BCD-Template: refused, nothing written.
MKWIN_NO_TEMPLATE=1 mkwin_mbr_bios "$WORK/pc2.img"
expect_exit 1 "$P2V" convert -O raw -o "$WORK/no.img" "$WORK/pc2.img:2" "$WORK/pc2.img:3"
grep -q "pc2.img:2 holds Windows, but no selected partition holds a boot store" "$WORK/last.err" ||
    fail "refusal message: $(cat "$WORK/last.err")"
[ ! -e "$WORK/no.img" ] || fail "no.img written"
expect_exit 0 "$P2V" convert -O raw --dry-run --no-windows-fixups -o "$WORK/no.img" "$WORK/pc2.img:2"
pass "Windows without a boot store refused; --no-windows-fixups lets it through"

# A damaged SYSTEM hive, then a damaged \Boot\BCD (issue 25 item 12): refused
# before anything is written, saying the hive is damaged (not "Operation not
# supported") and naming --no-windows-fixups, which then copies them as they are.
# damage IMG N PATH: break the first hbin block of the hive PATH in partition N.
damage() {
    local img=$1 n=$2 path=$3 part mnt
    part=$WORK/damage.part
    mkwin_part_img "$img" "$n" "$part"
    mnt=$(mktemp -d "$WORK/mnt.XXXXXX")
    timeout 60 ntfs-3g "$part" "$mnt" || fail "ntfs-3g cannot mount partition $n"
    track_mount "$mnt"
    python3 - "$mnt$path" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096)
    assert f.read(4) == b"hbin", "no hbin at 4096"
    f.seek(4096)
    f.write(b"\xde\xad\xbe\xef" * 8)
PY
    umount "$mnt"
    rmdir "$mnt"
    mkwin_put "$img" "$part" $(( $(mkwin_part_off "$img" "$n") / 512 ))
}
for what in SYSTEM BCD; do
    cp --sparse=always "$pc" "$WORK/dmg.img"
    if [ $what = SYSTEM ]; then
        damage "$WORK/dmg.img" 2 /Windows/System32/config/SYSTEM
        where='dmg.img:2 \\Windows\\System32\\config\\SYSTEM'
    else
        damage "$WORK/dmg.img" 1 /Boot/BCD
        where='dmg.img:1 \\Boot\\BCD'
    fi
    expect_exit 1 "$P2V" convert -O raw -o "$WORK/dmg.raw" "$WORK/dmg.img:1" "$WORK/dmg.img:2"
    grep -q "$where: not a registry hive hivex can read: damaged (" "$WORK/last.err" ||
        fail "damaged $what: $(cat "$WORK/last.err")"
    grep -q -- "; --no-windows-fixups copies Windows unchanged" "$WORK/last.err" || fail "damaged $what: no way out named"
    grep -q "Operation not supported" "$WORK/last.err" && fail "damaged $what: strerror(ENOTSUP) shown"
    [ ! -e "$WORK/dmg.raw" ] || fail "dmg.raw written"
    pass "damaged $what refused: $(cat "$WORK/last.err")"
    expect_exit 0 "$P2V" convert -O raw --no-windows-fixups -o "$WORK/dmg.raw" "$WORK/dmg.img:1" "$WORK/dmg.img:2"
    rm -f "$WORK/dmg.raw"
done

# A ReAgent.xml p2v does not understand (issue 25 item 9): over 1 MiB, or
# UTF-16 without a byte order mark: the conversion goes on, with a warning
# that WinRE is not kept right, never silently.
# reagent_as IMG HOW: rewrite C:'s ReAgent.xml (partition 2) as HOW says.
reagent_as() {
    local img=$1 how=$2 part=$WORK/reagent.part mnt
    mkwin_part_img "$img" 2 "$part"
    mnt=$(mktemp -d "$WORK/mnt.XXXXXX")
    timeout 60 ntfs-3g "$part" "$mnt" || fail "ntfs-3g cannot mount partition 2"
    track_mount "$mnt"
    python3 - "$mnt/Windows/System32/Recovery/ReAgent.xml" "$how" <<'PY'
import sys
path, how = sys.argv[1], sys.argv[2]
text = open(path, "rb").read()
assert b"WinreLocation" in text
if text.startswith(b"\xef\xbb\xbf"):
    text = text[3:]
if how == "big":
    text = text + b" " * (1 << 20)
else:
    text = text.decode("utf-8").encode("utf-16-le")
open(path, "wb").write(text)
PY
    umount "$mnt"
    rmdir "$mnt"
    mkwin_put "$img" "$part" $(( $(mkwin_part_off "$img" 2) / 512 ))
}
for how in big utf16; do
    cp --sparse=always "$pc" "$WORK/re.img"
    reagent_as "$WORK/re.img" $how
    expect_exit 0 "$P2V" convert -O raw -o "$WORK/re.raw" "$WORK/re.img:1" "$WORK/re.img:4" "$WORK/re.img:2"
    case $how in
    big) want='re.img:2 \\Windows\\System32\\Recovery\\ReAgent.xml: not rewritten (.*more than the 1048576 expected); WinRE shows as disabled until reagentc /enable' ;;
    utf16) want='re.img:2 \\Windows\\System32\\Recovery\\ReAgent.xml: NUL bytes in it (UTF-16 without a byte order mark, or not text), which p2v does not rewrite' ;;
    esac
    grep -q "warning: .*$want" "$WORK/last.err" || fail "ReAgent.xml $how: no warning: $(cat "$WORK/last.err")"
    pass "ReAgent.xml $how: $(grep -o "$want" "$WORK/last.err" | head -1)"
    rm -f "$WORK/re.raw"
done
