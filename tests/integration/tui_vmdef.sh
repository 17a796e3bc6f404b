#!/bin/bash
# The picking screen's VM-definition field (d): a format that is none of
# libvirt/qemu/proxmox/openstack is refused on the message line, the field
# keeps FORMAT[:FILE], the command line carries --vm-def, and the run
# writes the definition after the image as p2v convert does: a disk whose
# second partition is BitLocker-encrypted gives the libvirt XML a TPM,
# checked by virt-xml-validate and virsh's test driver; the result screen
# names the file.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need tmux sfdisk virt-xml-validate virsh python3 qemu-img
source "$P2V_SRC/tests/lib/tui.sh"
source "$P2V_SRC/tests/lib/ptable.sh"
cd "$WORK"

truncate -s 64M a.img
printf 'label: gpt\nstart=2048, size=20480, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=22528, size=20480, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' |
    sfdisk -q a.img
mark_bitlocker a.img 22528
M=$WORK/machine
mkdir -p "$M/sys/class/net/eth0/device"
echo 52:54:00:aa:bb:01 >"$M/sys/class/net/eth0/address"

tui_start 80 24 NO_COLOR=1 "P2V_MACHINE_ROOT=$M" -- tui -o out.qcow2 a.img
tui_wait "a.img  64.0 MiB  GPT"
tui_wait "vm-[d]ef none"
tui_keys Space j Space
tui_wait "Plan ok: 2 partitions, GPT table"

# a format p2v does not write: refused, the field unchanged
tui_keys d C-u; tui_type vmware; tui_keys Enter
tui_wait "unknown format 'vmware'"
tui_screen | grep -qF "vm-[d]ef none" || fail "a refused format changed the field"
tui_keys d C-u; tui_type libvirt:vm.xml; tui_keys Enter
tui_wait "vm-[d]ef libvirt:vm.xml"
pass "the field takes FORMAT:FILE and refuses an unknown format"

tui_keys p
tui_wait "Preview: the new disk out.qcow2"
tui_keys g
tui_wait "Written: out.qcow2" 120
tui_screen | tee result.txt
grep -qF "VM definition (libvirt): vm.xml, with a TPM" result.txt || fail "no VM definition line"
cmdline=$(sed -n '/The same from a shell:/,$p' result.txt | sed -n '2,4p' | awk 'NF { $1 = $1; print }' | paste -sd' ')
check_eq "command line shown" "p2v convert --vm-def libvirt:vm.xml -o out.qcow2 a.img:1 a.img:2" "$cmdline"
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi
qemu-img check -q out.qcow2 || fail "qemu-img check"

virt-xml-validate vm.xml domain || fail "vm.xml does not validate"
virsh -c test:///default define vm.xml >/dev/null || fail "virsh define refused vm.xml"
xq() { python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
for n in r.findall(sys.argv[2]):
    print(n.get(sys.argv[3]) if len(sys.argv) > 3 else n.text)' "$@"; }
check_eq "tpm (BitLocker selected)" tpm-crb "$(xq vm.xml ./devices/tpm model)"
check_eq "disk" "$WORK/out.qcow2" "$(xq vm.xml ./devices/disk/source file)"
check_eq "no MAC without --keep-mac" "" "$(xq vm.xml ./devices/interface/mac address)"
pass "the run wrote the VM definition the field asked for"
