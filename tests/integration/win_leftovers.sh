#!/bin/bash
# Convert a Windows 10 PC with a history (mkvirtio.sh windisk win10old): its
# DriverDatabase lives in the DRIVERS hive (SYSTEM's is a link to it), Intel
# RST's filter sits under the disk class, a volume filter's driver is gone,
# another filter has no service, VMware Tools is still set to start. The dry
# run lists each leftover change with its reason; the image's hives read back
# with hivex hold the cleaned filter lists, VMware Tools disabled, the virtio
# package (with its Version) in DRIVERS and nothing under SYSTEM's link;
# --keep-services leaves the services and Intel's filter.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat ntfsfix hivexget hivexregedit jq python3
mk=$P2V_SRC/tests/lib/mkvirtio.sh
cd "$WORK"

bash "$mk" tree tree
bash "$mk" windisk pc.img win10old
sha256sum pc.img >pc.sum
disk='ControlSet001\Control\Class\{4D36E967-E325-11CE-BFC1-08002BE10318}'
vol='ControlSet001\Control\Class\{71A27CDD-812A-11D0-BEC7-08002BE2092F}'

# --- the dry run names every leftover change and why
expect_exit 0 "$P2V" convert --dry-run -o out.raw -O raw --drivers tree --target-bus virtio-blk \
    pc.img:1 pc.img:2
for want in \
    'LowerFilters = REG_MULTI_SZ (empty list)  (removed iaStorF: Intel Rapid Storage Technology filter' \
    'UpperFilters = REG_MULTI_SZ volsnap  (removed acmefilt: /Windows/System32/drivers/acmefilt.sys missing; removed nosuchsvc: no service nosuchsvc)' \
    'SYSTEM\ControlSet002\Services\VMTools  Start = REG_DWORD 0x00000004 (4)  (disabled: VMware Tools service)' \
    'DRIVERS\DriverDatabase\DriverInfFiles\oem2.inf  Active = REG_SZ viostor.inf_amd64_'; do
    grep -qF -- "$want" "$WORK/last.out" || { cat "$WORK/last.out" >&2; fail "dry run lacks: $want"; }
done
pass "dry run lists the leftovers and the DRIVERS hive"
if grep -q 'EhStorClass' "$WORK/last.out"; then fail "the disk class's upper filter should be left alone"; fi
expect_exit 0 "$P2V" convert --dry-run --json -o out.raw -O raw --drivers tree --target-bus virtio-blk \
    pc.img:1 pc.img:2
check_eq "JSON: DriverDatabase edits in DRIVERS" 0 \
    "$(jq '[.windows_drivers[0].changes.registry[] | select(.key | startswith("DriverDatabase")) | select(.hive != "DRIVERS")] | length' "$WORK/last.out")"
check_eq "JSON: VMTools disabled in both ControlSets" 2 \
    "$(jq '[.windows_drivers[0].changes.registry[] | select(.key | endswith("Services\\VMTools"))] | length' "$WORK/last.out")"

# --- the conversion: hives read back from the image
expect_exit 0 "$P2V" convert -O raw -o out.raw --drivers tree --target-bus virtio-blk pc.img:1 pc.img:2
sha256sum -c --quiet pc.sum || fail "the source changed"
start=$(sfdisk -J out.raw | jq '.partitiontable.partitions[1].start')
size=$(sfdisk -J out.raw | jq '.partitiontable.partitions[1].size')
dd if=out.raw of=w.img bs=512 skip="$start" count="$size" status=none
ntfsfix -n w.img >ntfsfix.log 2>&1 || { cat ntfsfix.log; fail "ntfsfix -n"; }
for h in SYSTEM DRIVERS; do ntfscat w.img "/Windows/System32/config/$h" >"$h.hive"; done
multi() { hivexregedit --export SYSTEM.hive "$1" | tr -d '\\ \n' | grep -o "\"$2\"=hex(7):[0-9a-f,]*" || true; }
check_eq "disk LowerFilters emptied" '"LowerFilters"=hex(7):00,00' "$(multi "$disk" LowerFilters)"
check_eq "disk UpperFilters kept" "EhStorClass" "$(hivexget SYSTEM.hive "$disk" UpperFilters)"
check_eq "volume UpperFilters" "volsnap" "$(hivexget SYSTEM.hive "$vol" UpperFilters)"
check_eq "VMTools disabled" 4 "$(hivexget SYSTEM.hive 'ControlSet002\Services\VMTools' Start)"
label=$(hivexget DRIVERS.hive 'DriverDatabase\DriverInfFiles\oem2.inf' Active)
case $label in viostor.inf_amd64_????????????????) pass "DRIVERS: oem2.inf Active = $label" ;; *) fail "DRIVERS: oem2.inf Active = $label" ;; esac
check_eq "DRIVERS: Version" \
    '"Version"=hex(3):00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,18,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00' \
    "$(hivexregedit --export DRIVERS.hive "DriverDatabase\\DriverPackages\\$label" | tr -d '\\ \n' |
       grep -o '"Version"=hex(3):[0-9a-f,]*')"
if hivexget SYSTEM.hive 'DriverDatabase\DriverInfFiles' >/dev/null 2>&1; then
    fail "SYSTEM's DriverDatabase link got keys"
fi
pass "SYSTEM's DriverDatabase link left alone"
check_eq "viostor boot start" 0 "$(hivexget SYSTEM.hive 'ControlSet001\Services\viostor' Start)"

# --- --keep-services: the services and Intel's filter stay; the dead filters go
expect_exit 0 "$P2V" convert --dry-run --keep-services -o out2.raw -O raw pc.img:1 pc.img:2
if grep -qE 'disabled:|removed iaStorF' "$WORK/last.out"; then fail "--keep-services still disabled or removed"; fi
grep -qF 'UpperFilters = REG_MULTI_SZ volsnap  (removed acmefilt' "$WORK/last.out" ||
    fail "--keep-services should still drop the filter whose driver is gone"
pass "--keep-services"
