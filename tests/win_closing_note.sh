#!/bin/bash
# For the closing note of issue 9: an MBR/BIOS Windows PC (tests/lib/mkwin.sh)
# converted to GPT/UEFI (no ESP selected: p2v makes one and fills it as
# bcdboot would). Prints the dry run's notices and list of Windows changes,
# then a hivexsh dump of every BCD device element before (source \Boot\BCD)
# and after (the image's rewritten \Boot\BCD and the new ESP's
# \EFI\Microsoft\Boot\BCD), and the ESP's files.
# usage: P2V=build/p2v tests/win_closing_note.sh
set -euo pipefail
P2V_SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${P2V:=$P2V_SRC/build/p2v}"
export P2V P2V_SRC
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sfdisk jq mkntfs ntfs-3g ntfscat hivexsh hivexregedit python3 mcopy mdir

pc=$WORK/pc.img
MKWIN_REAGENT=1 mkwin_mbr_bios "$pc" 2>/dev/null
sels=("$pc:1" "$pc:4" "$pc:3" "$pc:2")

echo "=== p2v convert --dry-run --boot uefi -t gpt -O raw -o out.img pc.img:1 pc.img:4 pc.img:3 pc.img:2"
echo "    (identities are drawn afresh by each run: the real run below has its own)"
"$P2V" convert --dry-run --boot uefi -t gpt -O raw -o "$WORK/out.img" "${sels[@]}" \
    >"$WORK/dry.out" 2>"$WORK/dry.err"
sed "s|$WORK/||g" "$WORK/dry.err"
sed -n '/^Windows changes/,$p' "$WORK/dry.out" | sed "s|$WORK/||g"

"$P2V" convert --boot uefi -t gpt -O raw --json -o "$WORK/out.img" "${sels[@]}" >"$WORK/res.json" 2>/dev/null
n=$(jq '.partitions[] | select(.source_number == 1) | .number' "$WORK/res.json")
mkwin_part_img "$pc" 1 "$WORK/before.ntfs"
mkwin_part_img "$WORK/out.img" "$n" "$WORK/after.ntfs"
ntfscat "$WORK/before.ntfs" /Boot/BCD >"$WORK/before.bcd"
ntfscat "$WORK/after.ntfs" /Boot/BCD >"$WORK/after.bcd"

dump() { # BCD: every device element, through hivexsh
    local bcd=$1 obj el
    for obj in $(hivexsh -w "$bcd" <<<'cd \Objects
ls' 2>/dev/null); do
        for el in $(hivexsh "$bcd" <<<"cd \\Objects\\$obj\\Elements
ls" 2>/dev/null | grep -E '^[0-9a-fA-F]1[0-9a-fA-F]{6}$'); do
            echo "\\Objects\\$obj\\Elements\\$el"
            hivexsh "$bcd" <<<"cd \\Objects\\$obj\\Elements\\$el
lsval" | sed 's/^/    /'
        done
    done
}
echo
echo "=== image: $(jq -r '.table + " disk " + .id' "$WORK/res.json")"
echo "=== BCD device elements before (source pc.img:1 \\Boot\\BCD, MBR 0x1234abcd)"
dump "$WORK/before.bcd"
echo
echo "=== BCD device elements after (image partition $n \\Boot\\BCD)"
dump "$WORK/after.bcd"
esp=$(jq '.partitions[] | select(.role == "esp" or .source == null) | .number' "$WORK/res.json" | head -1)
mkwin_part_img "$WORK/out.img" "${esp:-1}" "$WORK/esp.fat"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "$WORK/esp.fat" ::/EFI/Microsoft/Boot/BCD "$WORK/esp.bcd"
echo
echo "=== the new ESP (image partition ${esp:-1}): files"
MTOOLS_SKIP_CHECK=1 mdir -/ -b -i "$WORK/esp.fat" ::/EFI
echo
echo "=== BCD device elements of the new ESP's \\EFI\\Microsoft\\Boot\\BCD"
dump "$WORK/esp.bcd"
echo
echo "=== image partitions (GPT)"
sfdisk --json "$WORK/out.img" | jq -r '.partitiontable.partitions[] | "\(.node | sub(".*out.img"; ""))  \(.type)  \(.uuid)"'
echo "=== ReAgent.xml after"
mkwin_part_img "$WORK/out.img" "$(jq '.partitions[] | select(.source_number == 2) | .number' "$WORK/res.json")" "$WORK/c.ntfs"
ntfscat "$WORK/c.ntfs" /Windows/System32/Recovery/ReAgent.xml | tr -d '\r' | grep Location
