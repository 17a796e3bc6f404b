#!/bin/bash
# --vm-def: after a conversion, the VM around the image in each format
# (docs/vm-definition.md). libvirt XML is checked with virt-xml-validate and
# accepted by virsh's test driver; the PC's identity (a fake sysfs tree under
# P2V_MACHINE_ROOT, with hostile SMBIOS strings and an MSDM table) comes out
# escaped in every format: the qemu script is run against a stand-in qemu that
# prints its arguments, the Proxmox config is parsed back (known keys only,
# base64 decoded), the OpenStack JSON by jq. A BitLocker volume gives the VM
# a TPM (--tpm); --json carries "vm_definition".
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
need sfdisk mkntfs mkfs.vfat mkfs.ext4 jq qemu-img virt-xml-validate virsh python3 base64

cd "$WORK"
MKPC_FILES=2 MKPC_FILE_KB=100
mkpc_disk1 disk1.img

# --- a fake PC: hostile strings in its SMBIOS, two wired NICs, an MSDM table
M=$WORK/machine
put() { mkdir -p "$(dirname "$M/$1")"; printf '%s' "$2" >"$M/$1"; }
VENDOR=$'Acme <&> "Corp" \'q\' $(touch pwned) `touch pwned2`, ,;'
PRODUCT=$'Desk,Pro \'X\' </system>'
SERIAL='SN-42 & <x>'
UUID=4c4c4544-0042-3510-8057-b2c04f4e4b32
put sys/class/dmi/id/sys_vendor "$VENDOR"$'\n'
put sys/class/dmi/id/product_name "$PRODUCT"$'\n'
put sys/class/dmi/id/product_serial "$SERIAL"$'\n'
put sys/class/dmi/id/product_uuid "$UUID"$'\n'
put sys/class/net/eth0/address $'52:54:00:aa:bb:01\n'
put sys/class/net/eth0/device/vendor $'0x8086\n'
put sys/class/net/eth1/address $'52:54:00:aa:bb:02\n'
put sys/class/net/eth1/device/vendor $'0x8086\n'
put proc/meminfo $'MemTotal:       16318480 kB\n'
put sys/devices/system/cpu/online $'0-7\n'
put sys/firmware/acpi/tables/MSDM 'MSDMUUUU.xOEMIDOEMTABLE1....ACPI....XXXXX-XXXXX-XXXXX-XXXXX-XXXXX'
export P2V_MACHINE_ROOT=$M

# --- p2v disks --json: the machine's identity, as read (hostile strings kept
# exactly, JSON-escaped), beside the disks
expect_exit 0 "$P2V" disks --json disk1.img
jq -e --arg v "$VENDOR" --arg p "$PRODUCT" --arg s "$SERIAL" --arg u "$UUID" '
    .machine.vendor == $v and .machine.product == $p and .machine.serial == $s and
    .machine.uuid == $u and .machine.version == null and
    .machine.macs == ["52:54:00:aa:bb:01", "52:54:00:aa:bb:02"] and
    .machine.memory == 16710123520 and .machine.cpus == 8 and .machine.msdm == true and
    (.disks | length) == 1' "$WORK/last.out" >/dev/null ||
    fail "disks --json machine: $(jq -c .machine "$WORK/last.out")"
E=$WORK/empty-machine
mkdir -p "$E"
P2V_MACHINE_ROOT=$E "$P2V" disks --json disk1.img >empty.json
check_eq "an unknown machine" '{"vendor":null,"product":null,"version":null,"serial":null,"uuid":null,"family":null,"macs":[],"memory":null,"cpus":null,"msdm":false}' \
    "$(jq -c .machine empty.json)"
pass "disks --json: the machine"

# --- usage errors, before anything is written
expect_exit 2 "$P2V" convert -o u.qcow2 --vm-def vmware disk1.img:2
grep -q "unknown format 'vmware'" "$WORK/last.err" || fail "format error: $(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert -o u.qcow2 --keep-mac disk1.img:2
grep -q "go with --vm-def" "$WORK/last.err" || fail "--keep-mac alone: $(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert -o rbd:pool/img --vm-def libvirt disk1.img:2
grep -q "give FORMAT:FILE" "$WORK/last.err" || fail "rbd without FILE: $(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert -o u.qcow2 --dry-run --vm-def qemu disk1.img:2
[ ! -e u.qcow2 ] && [ ! -e u.sh ] || fail "a usage error wrote something"

# --- libvirt, with the PC's identity; the default FILE follows OUTPUT
expect_exit 0 "$P2V" convert -o pc.qcow2 --vm-def libvirt --keep-smbios --keep-mac disk1.img:2
grep -q "VM definition (libvirt) written to pc.xml" "$WORK/last.err" ||
    fail "no notice: $(cat "$WORK/last.err")"
[ -e pc.xml ] || fail "pc.xml not written"
virt-xml-validate pc.xml domain || fail "pc.xml does not validate"
virsh -c test:///default define pc.xml >/dev/null || fail "virsh define refused pc.xml"
pass "libvirt XML validates and defines"
cmp -s "$M/sys/firmware/acpi/tables/MSDM" pc.msdm.bin || fail "MSDM copy differs"
xq() { python3 -c '
import sys, xml.etree.ElementTree as E
ns = {"qemu": "http://libvirt.org/schemas/domain/qemu/1.0"}
r = E.parse(sys.argv[1]).getroot()
for n in r.findall(sys.argv[2], ns):
    print(n.get(sys.argv[3]) if len(sys.argv) > 3 else n.text)' "$@"; }
check_eq "libvirt name" pc "$(xq pc.xml ./name)"
check_eq "libvirt vendor" "$VENDOR" "$(xq pc.xml "./sysinfo/system/entry[@name='manufacturer']")"
check_eq "libvirt product" "$PRODUCT" "$(xq pc.xml "./sysinfo/system/entry[@name='product']")"
check_eq "libvirt serial" "$SERIAL" "$(xq pc.xml "./sysinfo/system/entry[@name='serial']")"
check_eq "libvirt mac" 52:54:00:aa:bb:01 "$(xq pc.xml ./devices/interface/mac address)"
check_eq "libvirt disk" "$WORK/pc.qcow2" "$(xq pc.xml ./devices/disk/source file)"
check_eq "libvirt disk bus" sata "$(xq pc.xml ./devices/disk/target bus)"
check_eq "libvirt nic" e1000e "$(xq pc.xml ./devices/interface/model type)"
check_eq "libvirt bios (no firmware attribute)" None "$(xq pc.xml ./os firmware)"
check_eq "libvirt memory (image sources: 4G)" 4194304 "$(xq pc.xml ./memory)"
check_eq "libvirt vcpus (image sources: 2)" 2 "$(xq pc.xml ./vcpu)"
xq pc.xml ./qemu:commandline/qemu:arg value | grep -qx "file=$WORK/pc.msdm.bin" ||
    fail "MSDM not referenced: $(xq pc.xml ./qemu:commandline/qemu:arg value)"
[ ! -e pwned ] && [ ! -e pwned2 ] || fail "a string was run"

# --- UEFI, --memory/--cpus, a FILE of its own, an OUTPUT name to make safe
expect_exit 0 "$P2V" convert -o 'my pc&.v1.qcow2' -t gpt --boot uefi --vm-def libvirt:uefi.xml \
    --memory 1G --cpus 3 --secure-boot disk1.img:2
virt-xml-validate uefi.xml domain || fail "uefi.xml does not validate"
virsh -c test:///default define uefi.xml >/dev/null || fail "virsh define refused uefi.xml"
check_eq "uefi firmware" efi "$(xq uefi.xml ./os firmware)"
check_eq "safe name" my_pc_.v1 "$(xq uefi.xml ./name)"
check_eq "--memory" 1048576 "$(xq uefi.xml ./memory)"
check_eq "--cpus" 3 "$(xq uefi.xml ./vcpu)"
grep -q "smbios\|sysinfo" uefi.xml && fail "SMBIOS without --keep-smbios"
[ ! -e my_pc_.v1.msdm.bin ] || fail "MSDM copied without --keep-smbios"

# --- qemu: a script that bash accepts; run against a stand-in qemu that
# prints each argument on a line of its own
expect_exit 0 "$P2V" convert -f -o pc.qcow2 --vm-def qemu --keep-smbios --keep-mac disk1.img:2
grep -q "VM definition (qemu) written to pc.sh" "$WORK/last.err" || fail "qemu notice"
bash -n pc.sh || fail "pc.sh: bash -n"
mkdir -p fakebin
printf '#!/bin/bash\nprintf "%%s\\n" "$@"\n' >fakebin/qemu-system-x86_64
chmod +x fakebin/qemu-system-x86_64
(cd / && PATH="$WORK/fakebin:$PATH" ACCEL=tcg bash "$WORK/pc.sh") >args.txt
[ ! -e pwned ] && [ ! -e /pwned ] && [ ! -e pwned2 ] || fail "a string was run"
esc() { printf '%s' "$1" | sed 's/,/,,/g'; }
grep -qxF "type=1,manufacturer=$(esc "$VENDOR"),product=$(esc "$PRODUCT"),serial=$(esc "$SERIAL"),uuid=$UUID" args.txt ||
    fail "qemu -smbios: $(grep type=1 args.txt)"
grep -qxF "file=$WORK/pc.msdm.bin" args.txt || fail "qemu -acpitable: $(cat args.txt)"
grep -q "mac=52:54:00:aa:bb:01" args.txt || fail "qemu mac"
grep -q "file=$WORK/pc.qcow2,format=qcow2" args.txt || fail "qemu drive: $(cat args.txt)"
pass "qemu script arguments"

# --- proxmox: only documented keys; smbios1's base64 decodes to the strings
expect_exit 0 "$P2V" convert -f -o pc.qcow2 --vm-def proxmox --keep-smbios --keep-mac disk1.img:2
[ -e pc.conf ] || fail "pc.conf not written"
keys="name ostype machine bios memory sockets cores cpu scsihw boot net0 agent tablet vga localtime smbios1 args"
while IFS= read -r line; do
    case $line in '#'*|'') continue ;; esac
    k=${line%%:*}
    [[ " $keys " == *" $k "* ]] || fail "proxmox: undocumented key '$k' in '$line'"
done <pc.conf
smb=$(sed -n 's/^smbios1: //p' pc.conf)
b64() { printf '%s' "$smb" | tr ',' '\n' | sed -n "s/^$1=//p" | base64 -d; }
check_eq "proxmox manufacturer" "$VENDOR" "$(b64 manufacturer)"
check_eq "proxmox product" "$PRODUCT" "$(b64 product)"
check_eq "proxmox serial" "$SERIAL" "$(b64 serial)"
grep -q "^smbios1: uuid=$UUID," pc.conf || fail "proxmox uuid"
grep -qx "net0: e1000e=52:54:00:aa:bb:01,bridge=vmbr0" pc.conf || fail "proxmox net0"
grep -qx "args: -acpitable file=$WORK/pc.msdm.bin" pc.conf || fail "proxmox args"
grep -qx "bios: seabios" pc.conf || fail "proxmox bios"

# --- openstack: JSON with the image properties; raw output named as written
expect_exit 0 "$P2V" convert -o pc.raw -O raw -t gpt --boot uefi --vm-def openstack disk1.img:2
jq -e '.disk_format == "raw" and .properties.hw_firmware_type == "uefi" and
       .properties.hw_disk_bus == "sata" and .properties.hw_machine_type == "q35" and
       .properties.hw_qemu_guest_agent == "yes" and .properties.os_type == "linux" and
       .properties.hw_vif_model == "e1000e"' pc.json >/dev/null ||
    fail "openstack properties: $(cat pc.json)"
check_eq "openstack file" "$WORK/pc.raw" "$(jq -r .file pc.json)"

# --- --secure-boot for a BIOS image: a warning, no Secure Boot
expect_exit 0 "$P2V" convert -o sb.qcow2 --vm-def libvirt --secure-boot disk1.img:2
grep -q "secure-boot: the image boots with BIOS" "$WORK/last.err" || fail "no --secure-boot warning"
grep -q "secure-boot\|smm" sb.xml && fail "Secure Boot in a BIOS VM"
virt-xml-validate sb.xml domain || fail "sb.xml does not validate"

# --- on top of --plan (the options do not change the disk); a plan made
# without them names none, and given on top they apply to that run
expect_exit 0 "$P2V" convert --dry-run --save-plan story.json -t gpt disk1.img:2
jq -e 'tostring | test("vm") | not' story.json >/dev/null || fail "the plan names the VM options"
expect_exit 0 "$P2V" convert --plan story.json -o replay.qcow2 --vm-def qemu --keep-mac --cpus 1
bash -n replay.sh || fail "replay.sh: bash -n"
grep -q -- "-smp 1 " replay.sh || fail "--cpus on top of --plan: $(grep smp replay.sh)"
grep -q "mac=52:54:00:aa:bb:01" replay.sh || fail "--keep-mac on top of --plan"
# a plan made with --vm-def keeps it and its options (every option that shapes
# the result is saved) and replays them; given on top, the command line's
# replace the plan's as a whole
expect_exit 0 "$P2V" convert --save-plan vm.json --vm-def qemu --keep-mac --cpus 1 --memory 1G \
    disk1.img:2
check_eq "the plan's vm_def" "qemu null true false false 1073741824 1" \
    "$(jq -r '.options.vm_def | "\(.format) \(.file) \(.keep_mac) \(.keep_smbios) \(.secure_boot) \(.memory) \(.cpus)"' vm.json)"
expect_exit 0 "$P2V" convert --plan vm.json -o vmreplay.qcow2
grep -q -- "-smp 1 " vmreplay.sh || fail "the plan's --cpus: $(grep smp vmreplay.sh)"
grep -q "mac=52:54:00:aa:bb:01" vmreplay.sh || fail "the plan's --keep-mac"
expect_exit 0 "$P2V" convert --plan vm.json -o vmlib.qcow2 --vm-def libvirt
[ -f vmlib.xml ] && [ ! -e vmlib.sh ] || fail "--vm-def on top of a plan's: $(ls vmlib*)"
grep -q "52:54:00:aa:bb:01" vmlib.xml && fail "the plan's --keep-mac kept under the command line's"
pass "plans save --vm-def and its options"

# --- BitLocker ("-FVE-FS-" in a selected partition's boot sector): noticed in
# the dry run; --tpm auto gives the VM a TPM 2.0 (swtpm, tpm-crb) that the
# validators accept; --tpm no none; --tpm yes one without BitLocker
truncate -s 12M bl.img
printf 'label: gpt\nstart=2048, size=16384, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' |
    sfdisk -q bl.img
mark_bitlocker bl.img 2048
expect_exit 0 "$P2V" convert --dry-run bl.img:1
grep -q "bl.img:1: BitLocker-encrypted (copied whole).*a VM definition (--vm-def) gives the VM a TPM" \
    "$WORK/last.err" || fail "no BitLocker notice: $(cat "$WORK/last.err")"
expect_exit 0 "$P2V" convert -o bl.qcow2 --vm-def libvirt --json bl.img:1
check_eq "JSON vm_definition tpm" true "$(jq '.vm_definition.tpm' "$WORK/last.out")"
check_eq "JSON vm_definition file" bl.xml "$(jq -r '.vm_definition.file' "$WORK/last.out")"
virt-xml-validate bl.xml domain || fail "bl.xml (TPM) does not validate"
virsh -c test:///default define bl.xml >/dev/null || fail "virsh define refused bl.xml (TPM)"
check_eq "libvirt tpm model" tpm-crb "$(xq bl.xml ./devices/tpm model)"
check_eq "libvirt tpm backend" emulator "$(xq bl.xml ./devices/tpm/backend type)"
check_eq "libvirt tpm version" 2.0 "$(xq bl.xml ./devices/tpm/backend version)"
expect_exit 0 "$P2V" convert -f -o bl.qcow2 --vm-def openstack --tpm no bl.img:1
jq -e '.properties | has("hw_tpm_version") | not' bl.json >/dev/null || fail "--tpm no: $(cat bl.json)"
expect_exit 0 "$P2V" convert -o notpm.qcow2 --vm-def libvirt --tpm yes disk1.img:2
check_eq "--tpm yes" tpm-crb "$(xq notpm.xml ./devices/tpm model)"
virt-xml-validate notpm.xml domain || fail "notpm.xml does not validate"
expect_exit 0 "$P2V" convert -f -o notpm.qcow2 --vm-def libvirt disk1.img:2
check_eq "no BitLocker: no TPM" "" "$(xq notpm.xml ./devices/tpm model)"
expect_exit 2 "$P2V" convert -o u.qcow2 --tpm yes disk1.img:2
expect_exit 2 "$P2V" convert -o u.qcow2 --vm-def libvirt --tpm maybe disk1.img:2
pass "BitLocker: a TPM in the VM definition"

# --- a definition that cannot be written: exit 1, the image stays
expect_exit 1 "$P2V" convert -o kept.qcow2 --vm-def libvirt:"$WORK/no/such/dir/k.xml" disk1.img:2
grep -q "the image kept.qcow2 is kept" "$WORK/last.err" || fail "failure message: $(cat "$WORK/last.err")"
qemu-img check -q kept.qcow2 || fail "kept.qcow2 not a good image"
pass "vm-def failure keeps the image"

# --- a Windows 10 converted with a virtio-win tree (no --target-bus): the
# storage and network drivers were staged, so virtio disk and NIC; the
# Windows version reaches every format
if ! command -v ntfs-3g >/dev/null || ! command -v hivexregedit >/dev/null ||
   ! command -v xorriso >/dev/null; then
    echo "SKIP part: the synthetic Windows needs ntfs-3g, hivexregedit and xorriso"
    exit 0
fi
mk=$P2V_SRC/tests/lib/mkvirtio.sh
bash "$mk" tree tree
bash "$mk" windisk win.img win10
expect_exit 0 "$P2V" convert -o win10.qcow2 --drivers tree --vm-def libvirt win.img:1 win.img:2
virt-xml-validate win10.xml domain || fail "win10.xml does not validate"
virsh -c test:///default define win10.xml >/dev/null || fail "virsh define refused win10.xml"
check_eq "windows disk bus (viostor staged)" virtio "$(xq win10.xml ./devices/disk/target bus)"
check_eq "windows nic (netkvm staged)" virtio "$(xq win10.xml ./devices/interface/model type)"
check_eq "windows clock" localtime "$(xq win10.xml ./clock offset)"
expect_exit 0 "$P2V" convert -f -o win10.qcow2 --drivers tree --target-bus virtio-scsi \
    --vm-def openstack win.img:1 win.img:2
jq -e '.properties.hw_disk_bus == "scsi" and .properties.hw_scsi_model == "virtio-scsi" and
       .properties.os_type == "windows" and .properties.os_version == "10.0" and
       .properties.hw_vif_model == "virtio"' win10.json >/dev/null ||
    fail "windows openstack properties: $(cat win10.json)"
expect_exit 0 "$P2V" convert -f -o win10.qcow2 --target-bus sata --vm-def proxmox win.img:1 win.img:2
grep -qx "ostype: win10" win10.conf || fail "proxmox ostype: $(cat win10.conf)"
grep -qx "net0: e1000e,bridge=vmbr0" win10.conf || fail "proxmox net0 without drivers"
grep -qx "boot: order=sata0" win10.conf || fail "proxmox boot"
pass "windows: bus, nic and version from the driver step"
