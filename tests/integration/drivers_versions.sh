#!/bin/bash
# The same injection for other Windows: Windows 7 from the flat layout of
# older virtio-win ISOs gets CriticalDeviceDatabase entries (no
# DriverDatabase); Server 2019 from the ISO gets its 2k19 drivers; the dry
# run's JSON lists the drivers and keys before anything is written.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat ntfsfix hivexget hivexregedit xorriso jq python3
mk=$P2V_SRC/tests/lib/mkvirtio.sh
cd "$WORK"

bash "$mk" tree flat flat
bash "$mk" tree tree
bash "$mk" iso tree virtio.iso
bash "$mk" windisk pc7.img win7
bash "$mk" windisk pc19.img 2k19

part() {
    local start size
    start=$(sfdisk -J "$1" | jq ".partitiontable.partitions[$2].start")
    size=$(sfdisk -J "$1" | jq ".partitiontable.partitions[$2].size")
    dd if="$1" of="$3" bs=512 skip="$start" count="$size" status=none
}

# --- dry run, JSON: Windows 7 and the flat tree
expect_exit 0 "$P2V" convert --dry-run --json --drivers flat --target-bus virtio-blk pc7.img:1 pc7.img:2
cp "$WORK/last.out" dry7.json
check_eq "dry run: Windows" "Windows 7 (6.1.7601) client amd64" "$(jq -r '.windows_drivers[0].changes.windows.description' dry7.json)"
check_eq "dry run: partition" "pc7.img:2" "$(jq -r '.windows_drivers[0].partition' dry7.json)"
check_eq "dry run: viostor INF" "amd64/w7/viostor.inf" \
    "$(jq -r '.windows_drivers[0].changes.drivers[] | select(.service=="viostor") | .inf' dry7.json)"
check_eq "dry run: viostor version" "62.94.104.24100" \
    "$(jq -r '.windows_drivers[0].changes.drivers[] | select(.service=="viostor") | .version' dry7.json)"
check_eq "dry run: viostor device" "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00" \
    "$(jq -r '.windows_drivers[0].changes.drivers[] | select(.service=="viostor") | .devices[0]' dry7.json)"
check_eq "dry run: CDDB key listed" "viostor" \
    "$(jq -r '.windows_drivers[0].changes.registry[] | select(.key=="ControlSet002\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1042&subsys_11001af4&rev_01" and .name=="Service") | .value' dry7.json)"
check_eq "dry run: msahci listed" "0x00000000 (0)" \
    "$(jq -r '.windows_drivers[0].changes.registry[] | select(.key=="ControlSet001\\Services\\msahci") | .value' dry7.json)"
check_eq "dry run: no agent in the flat tree" null "$(jq -r '.windows_drivers[0].changes.agent' dry7.json)"

# --- Windows 7, flat tree, written
expect_exit 0 "$P2V" convert -O raw -o out7.raw --drivers flat --target-bus virtio-blk pc7.img:1 pc7.img:2
part out7.raw 1 w7.img
ntfsfix -n w7.img >/dev/null 2>&1 || fail "ntfsfix -n (Windows 7)"
cmp <(ntfscat w7.img /Windows/System32/drivers/viostor.sys) flat/amd64/w7/viostor.sys || fail "viostor.sys (w7)"
ntfscat w7.img /Windows/System32/config/SYSTEM >SYSTEM.hive
for cs in ControlSet001 ControlSet002; do
    for id in 'pci#ven_1af4&dev_1001&subsys_00021af4&rev_00' 'pci#ven_1af4&dev_1042&subsys_11001af4&rev_01'; do
        check_eq "$cs CDDB $id Service" viostor "$(hivexget SYSTEM.hive "$cs\\Control\\CriticalDeviceDatabase\\$id" Service)"
        check_eq "$cs CDDB $id ClassGUID" "{4D36E97B-E325-11CE-BFC1-08002BE10318}" \
            "$(hivexget SYSTEM.hive "$cs\\Control\\CriticalDeviceDatabase\\$id" ClassGUID)"
    done
    check_eq "$cs CDDB vioscsi 1048" vioscsi \
        "$(hivexget SYSTEM.hive "$cs\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1048&subsys_11001af4&rev_01" Service)"
    check_eq "$cs msahci Start" 0 "$(hivexget SYSTEM.hive "$cs\\Services\\msahci" Start)"
    check_eq "$cs viostor Start" 0 "$(hivexget SYSTEM.hive "$cs\\Services\\viostor" Start)"
done
if hivexget SYSTEM.hive 'DriverDatabase' >/dev/null 2>&1; then fail "Windows 7 got a DriverDatabase"; fi
ntfscat w7.img /Windows/p2v/firstboot.cmd | grep -q 'pnputil -i -a' || fail "Windows 7 first boot uses pnputil -i -a"
pass "Windows 7: CriticalDeviceDatabase, no DriverDatabase, pnputil -i -a"

# --- Server 2019 from the ISO
expect_exit 0 "$P2V" convert -O raw -o out19.raw --drivers virtio.iso --target-bus virtio-scsi pc19.img:2
part out19.raw 0 w19.img
ntfsfix -n w19.img >/dev/null 2>&1 || fail "ntfsfix -n (Server 2019)"
cmp <(ntfscat w19.img /Windows/System32/drivers/vioscsi.sys) tree/vioscsi/2k19/amd64/vioscsi.sys || fail "vioscsi.sys (2k19)"
ntfscat w19.img /Windows/System32/config/SYSTEM >SYSTEM19.hive
check_eq "2019 vioscsi ImagePath" 'system32\drivers\vioscsi.sys' \
    "$(hivexget SYSTEM19.hive 'ControlSet001\Services\vioscsi' ImagePath)"
check_eq "2019 oem3 is vioscsi" vioscsi.inf_amd64_ \
    "$(hivexget SYSTEM19.hive 'DriverDatabase\DriverInfFiles\oem3.inf' Active | cut -c1-18)"
check_eq "2019 storahci Start" 0 "$(hivexget SYSTEM19.hive 'ControlSet002\Services\storahci' Start)"
