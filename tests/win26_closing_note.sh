#!/bin/bash
# For the closing note of issue 26: a Windows 10 PC with a history
# (tests/lib/mkvirtio.sh windisk win10old: DriverDatabase in the DRIVERS hive,
# Intel RST's disk filter iaStorF, a volume filter whose driver is gone, one
# with no service, VMware Tools) that also has a static IP (MKVIRTIO_NET=1)
# and a 32 MiB pagefile.sys on C:. Prints the dry run's notices and Windows
# section, the real run's notices, then hivexsh listings of the rewritten
# keys in the image and the staged first-boot scripts.
# usage: P2V=build/p2v tests/win26_closing_note.sh
set -euo pipefail
P2V_SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${P2V:=$P2V_SRC/build/p2v}"
P2V=$(realpath "$P2V")
export P2V P2V_SRC
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk jq mkntfs ntfs-3g ntfscat ntfscp hivexsh hivexregedit python3

cd "$WORK"
MKVIRTIO_NET=1 bash "$P2V_SRC/tests/lib/mkvirtio.sh" windisk pc.img win10old
# C: gets a page file (random bytes, as Windows leaves one)
start=$(sfdisk -J pc.img | jq '.partitiontable.partitions[1].start')
size=$(sfdisk -J pc.img | jq '.partitiontable.partitions[1].size')
dd if=pc.img of=c.img bs=512 skip="$start" count="$size" status=none
head -c 32M /dev/urandom >pagefile.sys
ntfscp -q c.img pagefile.sys pagefile.sys >/dev/null
dd if=c.img of=pc.img bs=512 seek="$start" conv=notrunc status=none

echo "=== p2v convert --dry-run -O raw -o out.img pc.img:1 pc.img:2"
"$P2V" convert --dry-run -O raw -o out.img pc.img:1 pc.img:2 >dry.out 2>dry.err
cat dry.err
sed -n '/^Windows page/,$p' dry.out
echo
echo "=== p2v convert -O raw -o out.img pc.img:1 pc.img:2"
"$P2V" convert -O raw -o out.img pc.img:1 pc.img:2 2>&1 >/dev/null | grep -E '^p2v: (notice|warning)'
start=$(sfdisk -J out.img | jq '.partitiontable.partitions[1].start')
size=$(sfdisk -J out.img | jq '.partitiontable.partitions[1].size')
dd if=out.img of=w.img bs=512 skip="$start" count="$size" status=none
for h in SYSTEM SOFTWARE; do ntfscat w.img "/Windows/System32/config/$h" >"$h.hive"; done
ls_key() { # HIVE KEY: hivexsh lsval of KEY
    echo "--- $1 \\$2"
    hivexsh "$1.hive" <<<"cd \\$2
lsval" | sed 's/^/    /'
}
echo
echo "=== hivexsh: the rewritten keys in the image"
for cs in ControlSet001 ControlSet002; do
    ls_key SYSTEM "$cs\\Control\\Class\\{4D36E967-E325-11CE-BFC1-08002BE10318}"
    ls_key SYSTEM "$cs\\Control\\Class\\{71A27CDD-812A-11D0-BEC7-08002BE2092F}"
    ls_key SYSTEM "$cs\\Services\\VMTools"
    ls_key SYSTEM "$cs\\Services\\storahci"
done
ls_key SOFTWARE 'Microsoft\Windows\CurrentVersion\RunOnce'
echo
echo "=== pagefile.sys in the image: $(ntfscat w.img pagefile.sys | wc -c) bytes, $(ntfscat w.img pagefile.sys | tr -d '\0' | wc -c) non-zero"
echo
echo "=== \\Windows\\p2v\\firstboot.cmd"
ntfscat w.img /Windows/p2v/firstboot.cmd | tr -d '\r'
echo
echo "=== \\Windows\\p2v\\network.ps1"
ntfscat w.img /Windows/p2v/network.ps1 | tr -d '\r'
