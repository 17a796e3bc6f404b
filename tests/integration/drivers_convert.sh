#!/bin/bash
# Convert a PC whose Windows has never seen a virtio controller: with a
# virtio-win tree (directory, then ISO) the image's Windows holds viostor and
# vioscsi registered as boot drivers (hivexget), their files with the right
# bytes (ntfscat), the rest staged for first boot, the NTFS clean (ntfsfix -n)
# and the source unchanged; without --drivers only the built-in AHCI/IDE
# drivers change.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat ntfsfix hivexget hivexregedit xorriso jq qemu-img python3
mk=$P2V_SRC/tests/lib/mkvirtio.sh
cd "$WORK"

bash "$mk" tree tree
bash "$mk" iso tree virtio.iso
bash "$mk" windisk pc.img win10
sha256sum pc.img >pc.sum

# part2 IMAGE OUT: the image's second partition (the Windows) as a file.
part2() {
    local start size
    start=$(sfdisk -J "$1" | jq '.partitiontable.partitions[1].start')
    size=$(sfdisk -J "$1" | jq '.partitiontable.partitions[1].size')
    dd if="$1" of="$2" bs=512 skip="$start" count="$size" status=none
}
# hive IMAGE-PART NAME: extract a hive of the image's Windows to NAME.hive
hive() { ntfscat "$1" "/Windows/System32/config/$2" >"$2.hive"; }
val() { hivexget "$1.hive" "$2" "$3"; }
no_key() { if hivexget "$1.hive" "$2" >/dev/null 2>&1; then fail "$1: $2 should not exist"; fi; pass "$1: no $2"; }

# --- 1. a directory tree, raw output, virtio-blk
expect_exit 0 "$P2V" convert -O raw -o out1.raw --drivers tree --target-bus virtio-blk pc.img:1 pc.img:2
grep -q "pc.img:2: Windows 10 (10.0.19045) client amd64: built-in AHCI/IDE drivers set to boot start; boot drivers viostor, vioscsi" "$WORK/last.err" ||
    fail "no notice of the driver step: $(cat "$WORK/last.err")"
sha256sum -c --quiet pc.sum || fail "the source changed"
part2 out1.raw w1.img
ntfsfix -n w1.img >ntfsfix.log 2>&1 || { cat ntfsfix.log; fail "ntfsfix -n on the converted Windows"; }
pass "ntfsfix -n clean"
for d in viostor vioscsi; do
    cmp <(ntfscat w1.img "/Windows/System32/drivers/$d.sys") "tree/$d/w10/amd64/$d.sys" ||
        fail "$d.sys in the image differs from tree/$d/w10/amd64/$d.sys"
    pass "$d.sys = tree/$d/w10/amd64/$d.sys"
done
check_eq "disk.sys kept" "the disk driver that was there" "$(ntfscat w1.img /Windows/System32/drivers/disk.sys)"
cmp <(ntfscat w1.img /Windows/INF/oem2.inf) tree/viostor/w10/amd64/viostor.inf || fail "oem2.inf"
cmp <(ntfscat w1.img /Windows/p2v/drivers/netkvm/netkvm.sys) tree/NetKVM/w10/amd64/netkvm.sys || fail "netkvm staged"
cmp <(ntfscat w1.img /Windows/p2v/qemu-ga-x86_64.msi) tree/guest-agent/qemu-ga-x86_64.msi || fail "qemu-ga staged"
ntfscat w1.img /Windows/p2v/firstboot.cmd | grep -q 'pnputil /add-driver "%SystemRoot%\\p2v\\drivers\\\*.inf" /subdirs /install' ||
    fail "firstboot.cmd does not run pnputil"
pass "first-boot staging"
hive w1.img SYSTEM
hive w1.img SOFTWARE
for cs in ControlSet001 ControlSet002; do
    for d in viostor vioscsi; do
        check_eq "$cs $d Type" 1 "$(val SYSTEM "$cs\\Services\\$d" Type)"
        check_eq "$cs $d Start" 0 "$(val SYSTEM "$cs\\Services\\$d" Start)"
        check_eq "$cs $d ErrorControl" 1 "$(val SYSTEM "$cs\\Services\\$d" ErrorControl)"
        check_eq "$cs $d Group" "SCSI miniport" "$(val SYSTEM "$cs\\Services\\$d" Group)"
        check_eq "$cs $d ImagePath" "system32\\drivers\\$d.sys" "$(val SYSTEM "$cs\\Services\\$d" ImagePath)"
    done
    for s in storahci atapi intelide pciide; do
        check_eq "$cs $s Start" 0 "$(val SYSTEM "$cs\\Services\\$s" Start)"
    done
    no_key SYSTEM "$cs\\Services\\storahci\\StartOverride"
    no_key SYSTEM "$cs\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1001&subsys_00021af4&rev_00"
    no_key SYSTEM "$cs\\Services\\netkvm"
done
label=$(val SYSTEM 'DriverDatabase\DriverInfFiles\oem2.inf' Active)
case $label in viostor.inf_amd64_????????????????) pass "oem2.inf Active = $label" ;; *) fail "oem2.inf Active = $label" ;; esac
check_eq "package of oem2" oem2.inf "$(val SYSTEM "DriverDatabase\\DriverPackages\\$label" '@')"
check_eq "configuration service" viostor "$(val SYSTEM "DriverDatabase\\DriverPackages\\$label\\Configurations\\viostor_inst" Service)"
check_eq "DeviceIds dev_1042 -> oem2" "01ff0000" \
    "$(hivexregedit --export SYSTEM.hive 'DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01' |
       sed -n 's/^"oem2.inf"=hex(3):\(.*\)$/\1/p' | tr -d ,)"
cmp <(ntfscat w1.img "/Windows/System32/DriverStore/FileRepository/$label/viostor.sys") tree/viostor/w10/amd64/viostor.sys ||
    fail "DriverStore copy of viostor.sys"
pass "DriverStore holds the viostor package"
check_eq "RunOnce" 'cmd.exe /c "%SystemRoot%\p2v\firstboot.cmd"' \
    "$(val SOFTWARE 'Microsoft\Windows\CurrentVersion\RunOnce' p2v-drivers)"

# --- 2. the ISO, qcow2 output, virtio-scsi, verified
expect_exit 0 "$P2V" convert -o out2.qcow2 --verify --drivers virtio.iso --target-bus virtio-scsi pc.img:2
qemu-img check -q out2.qcow2 || fail "qemu-img check"
qemu-img convert -O raw out2.qcow2 out2.raw
start=$(sfdisk -J out2.raw | jq '.partitiontable.partitions[0].start')
dd if=out2.raw of=w2.img bs=512 skip="$start" count=98304 status=none
ntfsfix -n w2.img >/dev/null 2>&1 || fail "ntfsfix -n (ISO run)"
cmp <(ntfscat w2.img /Windows/System32/drivers/vioscsi.sys) tree/vioscsi/w10/amd64/vioscsi.sys || fail "vioscsi.sys from the ISO"
hive w2.img SYSTEM
check_eq "ISO run: vioscsi Start" 0 "$(val SYSTEM 'ControlSet001\Services\vioscsi' Start)"
sha256sum -c --quiet pc.sum || fail "the source changed"
pass "ISO, qcow2, --verify"

# --- 3. no --drivers: built-in controllers only
expect_exit 0 "$P2V" convert -O raw -o out3.raw pc.img:1 pc.img:2
part2 out3.raw w3.img
ntfsfix -n w3.img >/dev/null 2>&1 || fail "ntfsfix -n (no drivers)"
hive w3.img SYSTEM
check_eq "no drivers: storahci Start" 0 "$(val SYSTEM 'ControlSet001\Services\storahci' Start)"
check_eq "no drivers: atapi Start" 0 "$(val SYSTEM 'ControlSet002\Services\atapi' Start)"
no_key SYSTEM 'ControlSet001\Services\storahci\StartOverride'
no_key SYSTEM 'ControlSet001\Services\viostor'
no_key SYSTEM 'DriverDatabase\DriverInfFiles\oem2.inf'
if ntfscat w3.img /Windows/System32/drivers/viostor.sys >/dev/null 2>&1; then fail "viostor.sys without --drivers"; fi
pass "no virtio files without --drivers"

# --- 4. --no-windows-fixups: the Windows partition is copied as it is
expect_exit 0 "$P2V" convert -O raw -o out4.raw --no-windows-fixups pc.img:1 pc.img:2
part2 out4.raw w4.img
start=$(sfdisk -J pc.img | jq '.partitiontable.partitions[1].start')
dd if=pc.img of=src2.img bs=512 skip="$start" count=98304 status=none
cmp <(ntfscat w4.img /Windows/System32/config/SYSTEM) <(ntfscat src2.img /Windows/System32/config/SYSTEM) ||
    fail "--no-windows-fixups changed the SYSTEM hive"
pass "--no-windows-fixups leaves the hive alone"
