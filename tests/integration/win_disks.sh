#!/bin/bash
# A Windows PC's disk as `p2v disks` shows it: the partition holding Windows
# with its version, build and architecture (read from the hives the test put
# there with hivex), the System Reserved partition holding the BIOS boot
# store, the other partitions without either; in text and in JSON. The
# source stays unchanged.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sfdisk jq mkntfs ntfs-3g hivexregedit python3

mkwin_mbr_bios "$WORK/pc.img"
before=$(sha256sum <"$WORK/pc.img")

"$P2V" disks --json "$WORK/pc.img" >"$WORK/d.json"
win() { jq -c ".disks[0].partitions[] | select(.number == $1) | {windows, boot_stores}" "$WORK/d.json"; }
check_eq "partition 1 (System Reserved)" '{"windows":null,"boot_stores":["\\Boot\\BCD"]}' "$(win 1)"
check_eq "partition 2 (C:)" \
    '{"windows":{"product":"Windows 10 Pro","build":"19045","arch":"x64","installation_type":"Client"},"boot_stores":[]}' \
    "$(win 2)"
check_eq "partition 3 (D:)" '{"windows":null,"boot_stores":[]}' "$(win 3)"
check_eq "partition 4 (Recovery)" '{"windows":null,"boot_stores":[]}' "$(win 4)"

"$P2V" disks "$WORK/pc.img" >"$WORK/d.txt"
head -3 "$WORK/d.txt" | tail -1 | grep -q ' Windows$' || fail "no Windows column: $(cat "$WORK/d.txt")"
check_eq "text row 1" 'active  \Boot\BCD' "$(grep -E '^1 ' "$WORK/d.txt" | grep -o 'active.*')"
grep -E '^2 ' "$WORK/d.txt" | grep -q 'Windows 10 Pro (19045, x64)$' ||
    fail "row 2 lacks the Windows version: $(grep -E '^2 ' "$WORK/d.txt")"
if grep -E '^[34] ' "$WORK/d.txt" | grep -q 'BCD\|Windows 10\|x64'; then
    fail "rows 3-4 claim Windows: $(cat "$WORK/d.txt")"
fi
pass "text column"

# A disk without Windows has no Windows column.
truncate -s 20M "$WORK/plain.img"
printf '2048,,7\n' | sfdisk -q "$WORK/plain.img"
truncate -s 19M "$WORK/p.ntfs"
mkntfs -q -F -Q "$WORK/p.ntfs" >/dev/null 2>&1
dd if="$WORK/p.ntfs" of="$WORK/plain.img" bs=512 seek=2048 conv=notrunc status=none
if "$P2V" disks "$WORK/plain.img" | grep -q Windows; then fail "Windows column on a plain disk"; fi
check_eq "plain NTFS JSON" '{"windows":null,"boot_stores":[]}' \
    "$("$P2V" disks --json "$WORK/plain.img" | jq -c '.disks[0].partitions[0] | {windows, boot_stores}')"

check_eq "source unchanged" "$before" "$(sha256sum <"$WORK/pc.img")"
