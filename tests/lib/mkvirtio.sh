#!/bin/bash
# Test data for the virtio driver injection, made at test time:
#   mkvirtio.sh tree DIR [per-driver|flat]   a virtio-win-like tree: INF files in real
#       INF syntax with the real virtio hardware IDs, .sys/.cat files whose content is a
#       marker naming driver, OS and arch ("per-driver": <driver>/<os>/<arch>/ as in
#       current virtio-win; "flat": <arch>/<os>/ as in older ISOs). OS directories:
#       w7 (amd64, x86), w10 (amd64, x86), 2k19 (amd64); no 2k22, no w11, so those
#       fall back. netkvm.inf is UTF-16LE with a BOM, the others ANSI with CRLF.
#       Also guest-agent/qemu-ga-x86_64.msi (per-driver layout only).
#   mkvirtio.sh iso DIR ISO                  an ISO 9660 image (Joliet + Rock Ridge) of DIR
#   mkvirtio.sh hives OUTDIR win7|win10|win10link|2k19 SYSTEM and SOFTWARE hives of that
#       Windows: ControlSet001/002, Select (Current 1, Default 1, LastKnownGood 2), the
#       built-in storage services (storahci with StartOverride on 10/2019, msahci on 7), a
#       DriverDatabase already holding oem1.inf (10/2019), CurrentVersion values,
#       PROCESSOR_ARCHITECTURE=AMD64. win10link: Windows 10 whose DriverDatabase (with
#       oem1.inf) is in a DRIVERS hive, SYSTEM's DriverDatabase a link to it.
#   mkvirtio.sh hives OUTDIR win10old   win10link and an old PC's leftovers in each
#       ControlSet: disk-class filters EhStorClass (upper) and iaStorF (lower), volume
#       filters volsnap, acmefilt (its .sys absent from windisk) and nosuchsvc (no
#       service), VMTools started automatically.
#   mkvirtio.sh windisk FILE win7|win10|win10link|win10old|2k19  a 64 MiB MBR disk (signature 0x5eed0001):
#       1 = "System Reserved" NTFS (8 MiB, active: \bootmgr and a BIOS \Boot\BCD naming
#       partitions 1 and 2, from mkwin_reg.py), 2 = "Windows" NTFS (48 MiB) holding
#       \Windows\System32\config\{SYSTEM,SOFTWARE} (the hives above),
#       \Windows\System32\drivers\disk.sys and \Windows\INF; filled through an
#       ntfs-3g mount (needs root and FUSE).
# marker DRIVER OS ARCH FILE prints the marker content a file of the tree holds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

marker() { printf 'p2v test file %s for %s/%s/%s\n' "$4" "$1" "$2" "$3"; }

# driver table: dir service inf class classguid group hwid1 hwid2 desc
drivers=(
  "viostor|viostor|viostor|SCSIAdapter|{4D36E97B-E325-11CE-BFC1-08002BE10318}|SCSI miniport|PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00|PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01|Red Hat VirtIO SCSI controller"
  "vioscsi|vioscsi|vioscsi|SCSIAdapter|{4D36E97B-E325-11CE-BFC1-08002BE10318}|SCSI miniport|PCI\\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00|PCI\\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01|Red Hat VirtIO SCSI pass-through controller"
  "NetKVM|netkvm|netkvm|Net|{4D36E972-E325-11CE-BFC1-08002BE10318}|NDIS|PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00|PCI\\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01|Red Hat VirtIO Ethernet Adapter"
  "Balloon|BALLOON|balloon|System|{4D36E97D-E325-11CE-BFC1-08002BE10318}||PCI\\VEN_1AF4&DEV_1002&SUBSYS_00051AF4&REV_00|PCI\\VEN_1AF4&DEV_1045&SUBSYS_11001AF4&REV_01|VirtIO Balloon Driver"
  "vioserial|VirtioSerial|vioser|System|{4D36E97D-E325-11CE-BFC1-08002BE10318}||PCI\\VEN_1AF4&DEV_1003&SUBSYS_00031AF4&REV_00|PCI\\VEN_1AF4&DEV_1043&SUBSYS_11001AF4&REV_01|VirtIO Serial Driver"
)

# inf_text SERVICE INF CLASS GUID GROUP HWID1 HWID2 DESC OS ARCH
inf_text() {
    local svc=$1 inf=$2 class=$3 guid=$4 group=$5 h1=$6 h2=$7 desc=$8 os=$9 arch=${10}
    local dec ver start=3 date=06/01/2023 version=100.94.104.24100
    case $os in w7) ver=6.1;; *) ver=10.0;; esac
    [ "$os" = w7 ] && version=62.94.104.24100
    dec=NT$arch.$ver
    [ "$class" = SCSIAdapter ] && start=0
    cat <<EOF
;-------------------------------------------------------------------------------
; $inf.inf - test copy of a virtio-win driver package for $os/$arch
;-------------------------------------------------------------------------------

[Version]
Signature="\$WINDOWS NT\$"
Class=$class
ClassGUID=$guid
Provider=%VENDOR%
DriverVer=$date,$version
CatalogFile=$inf.cat
DriverPackageType=PlugAndPlay
PnpLockdown=1

[DestinationDirs]
DefaultDestDir = 12

[SourceDisksNames]
1 = %DiskId1%,,,""

[SourceDisksFiles]
$inf.sys = 1,,

[Manufacturer]
%VENDOR% = ${svc}_models, $dec

[${svc}_models.$dec]
%${svc}.DeviceDesc% = ${svc}_inst, $h1, \\
    ${h1%%&SUBSYS*}
%${svc}.DeviceDesc% = ${svc}_inst, $h2

[${svc}_inst]
CopyFiles = ${svc}_files

[${svc}_files]
$inf.sys,,,2

[${svc}_inst.HW]
AddReg = ${svc}_msi_addreg

[${svc}_msi_addreg]
HKR, "Interrupt Management\\MessageSignaledInterruptProperties", MSISupported, 0x00010001, 1

[${svc}_inst.Services]
AddService = $svc, 0x00000002, ${svc}_service_inst, ${svc}_eventlog   ; function driver

[${svc}_service_inst]
DisplayName    = %${svc}.ServiceDesc%
ServiceType    = 1               ; SERVICE_KERNEL_DRIVER
StartType      = $start
ErrorControl   = 1               ; SERVICE_ERROR_NORMAL
ServiceBinary  = %12%\\$inf.sys
EOF
    [ -n "$group" ] && echo "LoadOrderGroup = $group"
    cat <<EOF

[${svc}_eventlog]
AddReg = ${svc}_eventlog_addreg

[${svc}_eventlog_addreg]
HKR,,EventMessageFile,0x00020000,"%%SystemRoot%%\\System32\\IoLogMsg.dll"

[Strings]
VENDOR = "Red Hat, Inc."
DiskId1 = "VirtIO Installation Disk #1"
${svc}.DeviceDesc = "$desc"
${svc}.ServiceDesc = "$desc Service"
EOF
}

# write_inf FILE TEXT-ON-STDIN: CRLF ANSI, or UTF-16LE + BOM for netkvm
write_inf() {
    local out=$1 crlf
    crlf=$(sed 's/$/\r/')
    if [[ $out == *netkvm.inf ]]; then
        { printf '\xff\xfe'; printf '%s\n' "$crlf" | iconv -f utf-8 -t utf-16le; } >"$out"
    else
        printf '%s\n' "$crlf" >"$out"
    fi
}

make_tree() {
    local dir=$1 layout=${2:-per-driver} d os arch sub
    mkdir -p "$dir"
    for d in "${drivers[@]}"; do
        IFS='|' read -r ddir svc inf class guid group h1 h2 desc <<<"$d"
        for os in w7 w10 2k19; do
            for arch in amd64 x86; do
                [ "$os" = 2k19 ] && [ "$arch" = x86 ] && continue
                if [ "$layout" = flat ]; then sub=$dir/$arch/$os; else sub=$dir/$ddir/$os/$arch; fi
                mkdir -p "$sub"
                inf_text "$svc" "$inf" "$class" "$guid" "$group" "$h1" "$h2" "$desc" "$os" "$arch" |
                    write_inf "$sub/$inf.inf"
                marker "$ddir" "$os" "$arch" "$inf.sys" >"$sub/$inf.sys"
                marker "$ddir" "$os" "$arch" "$inf.cat" >"$sub/$inf.cat"
                marker "$ddir" "$os" "$arch" "$inf.pdb" >"$sub/$inf.pdb"
            done
        done
    done
    if [ "$layout" != flat ]; then
        mkdir -p "$dir/guest-agent"
        marker guest-agent any amd64 qemu-ga-x86_64.msi >"$dir/guest-agent/qemu-ga-x86_64.msi"
        marker guest-agent any x86 qemu-ga-i386.msi >"$dir/guest-agent/qemu-ga-i386.msi"
    fi
    # Things a real ISO also holds and p2v must pass over.
    mkdir -p "$dir/viorng/w10/amd64" "$dir/cert"
    printf '[Version]\r\nSignature="$WINDOWS NT$"\r\n' >"$dir/viorng/w10/amd64/viorng.inf"
    echo "readme" >"$dir/cert/README.txt"
}

make_iso() {
    xorriso -as mkisofs -quiet -J -R -V VIRTIO_TEST -o "$2" "$1" 2>/dev/null
}

# hive_reg WIN SYSTEM|SOFTWARE prints the .reg text (parents before children).
hive_reg_system() {
    local win=$1 cs
    echo 'Windows Registry Editor Version 5.00'
    echo
    printf '[\\Select]\n"Current"=dword:00000001\n"Default"=dword:00000001\n"LastKnownGood"=dword:00000002\n"Failed"=dword:00000000\n\n'
    for cs in ControlSet001 ControlSet002; do
        printf '[\\%s]\n\n[\\%s\\Control]\n\n[\\%s\\Control\\CriticalDeviceDatabase]\n\n' "$cs" "$cs" "$cs"
        printf '[\\%s\\Control\\Session Manager]\n\n[\\%s\\Control\\Session Manager\\Environment]\n"PROCESSOR_ARCHITECTURE"="AMD64"\n\n' "$cs" "$cs"
        printf '[\\%s\\Services]\n\n' "$cs"
        local svc
        if [ "$win" = win7 ]; then
            printf '[\\%s\\Services\\msahci]\n"Start"=dword:00000003\n"Type"=dword:00000001\n"ImagePath"=hex(2):73,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,00,5c,00,64,00,72,00,69,00,76,00,65,00,72,00,73,00,5c,00,6d,00,73,00,61,00,68,00,63,00,69,00,2e,00,73,00,79,00,73,00,00,00\n\n' "$cs"
        else
            printf '[\\%s\\Services\\storahci]\n"Start"=dword:00000003\n"Type"=dword:00000001\n"ErrorControl"=dword:00000003\n\n' "$cs"
            printf '[\\%s\\Services\\storahci\\StartOverride]\n"0"=dword:00000003\n\n' "$cs"
        fi
        for svc in atapi intelide pciide; do
            printf '[\\%s\\Services\\%s]\n"Start"=dword:00000003\n"Type"=dword:00000001\n\n' "$cs" "$svc"
        done
        printf '[\\%s\\Services\\Tcpip]\n"Start"=dword:00000001\n\n' "$cs"
        [ "$win" != win10old ] || hive_reg_leftovers "$cs"
        [ -z "${MKVIRTIO_NET:-}" ] || hive_reg_network "$cs"
    done
    if [ "$win" = win10link ] || [ "$win" = win10old ]; then
        # Windows 10 keeps the DriverDatabase in the DRIVERS hive; SYSTEM's is a
        # registry link to it (REG_LINK, UTF-16LE without a NUL).
        printf '[\\DriverDatabase]\n"SymbolicLinkValue"=hex(6):%s\n\n' \
            "$(python3 -c 'print(",".join("%02x" % b for b in "\\Registry\\Machine\\DRIVERS\\DriverDatabase".encode("utf-16-le")))')"
    elif [ "$win" != win7 ]; then
        hive_reg_ddb
    fi
}

# multi_sz A,B: a REG_MULTI_SZ in .reg form.
multi_sz() {
    python3 -c 'import sys; print("hex(7):" + ",".join("%02x" % b for b in ("\0".join(sys.argv[1].split(",")) + "\0\0").encode("utf-16-le")))' "$1"
}

# What an old PC leaves in a ControlSet: a disk-class lower filter of Intel
# RST (its driver present), a volume filter whose driver is gone, a filter
# with no service at all, VMware Tools running.
hive_reg_leftovers() {
    local cs=$1 cls
    cls="$cs\\Control\\Class"
    printf '[\\%s]\n\n' "$cls"
    printf '[\\%s\\{4D36E967-E325-11CE-BFC1-08002BE10318}]\n"UpperFilters"=%s\n"LowerFilters"=%s\n\n' \
        "$cls" "$(multi_sz EhStorClass)" "$(multi_sz iaStorF)"
    printf '[\\%s\\{71A27CDD-812A-11D0-BEC7-08002BE2092F}]\n"UpperFilters"=%s\n\n' \
        "$cls" "$(multi_sz volsnap,acmefilt,nosuchsvc)"
    printf '[\\%s\\Services\\EhStorClass]\n"Start"=dword:00000000\n\n' "$cs"
    printf '[\\%s\\Services\\volsnap]\n"Start"=dword:00000000\n\n' "$cs"
    printf '[\\%s\\Services\\iaStorF]\n"Start"=dword:00000000\n"ImagePath"="system32\\\\drivers\\\\iaStorF.sys"\n\n' "$cs"
    printf '[\\%s\\Services\\acmefilt]\n"Start"=dword:00000000\n"ImagePath"="\\\\SystemRoot\\\\System32\\\\drivers\\\\acmefilt.sys"\n\n' "$cs"
    printf '[\\%s\\Services\\VMTools]\n"Start"=dword:00000002\n\n' "$cs"
}

# MKVIRTIO_NET=1: the PC's network in each ControlSet: "Ethernet" static
# (192.168.10.20/24 and 10.1.0.5/16, gateway 192.168.10.1, DNS 192.168.10.2
# and 192.168.10.3, suffix corp.example, IPv6 DNS 2001:db8::53 in Tcpip6) and
# "Wi-Fi" on DHCP; their adapters' class keys (Ethernet: NetLuidIndex 9,
# *IfType 6, physical; Wi-Fi: 10, 71) and the NSI store's static IPv6
# addresses (Ethernet 2001:db8:a::20/64 and 2001:db8:b::5/48 and a link-local
# one p2v leaves to Windows; Wi-Fi 2001:db8:c::7/64; one of an adapter that
# is gone).
NET_ETH={3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}
NET_WIFI={8F0E2A44-51C3-4B7D-A2E9-0D6C3B5F7222}
hive_reg_network() {
    local cs=$1 t n
    t="$cs\\Services\\Tcpip\\Parameters\\Interfaces"
    n="$cs\\Control\\Network\\{4D36E972-E325-11CE-BFC1-08002BE10318}"
    printf '[\\%s\\Services\\Tcpip\\Parameters]\n\n[\\%s]\n\n' "$cs" "$t"
    printf '[\\%s\\%s]\n"EnableDHCP"=dword:00000000\n"IPAddress"=%s\n"SubnetMask"=%s\n"DefaultGateway"=%s\n"NameServer"="192.168.10.2,192.168.10.3"\n"Domain"="corp.example"\n\n' \
        "$t" "$NET_ETH" "$(multi_sz 192.168.10.20,10.1.0.5)" "$(multi_sz 255.255.255.0,255.255.0.0)" \
        "$(multi_sz 192.168.10.1)"
    printf '[\\%s\\%s]\n"EnableDHCP"=dword:00000001\n"IPAddress"=%s\n"NameServer"=""\n\n' \
        "$t" "$NET_WIFI" "$(multi_sz 0.0.0.0)"
    printf '[\\%s\\Services\\Tcpip6]\n\n[\\%s\\Services\\Tcpip6\\Parameters]\n\n[\\%s\\Services\\Tcpip6\\Parameters\\Interfaces]\n\n' "$cs" "$cs" "$cs"
    printf '[\\%s\\Services\\Tcpip6\\Parameters\\Interfaces\\%s]\n"NameServer"="2001:db8::53"\n\n' "$cs" "$NET_ETH"
    printf '[\\%s\\Control\\Network]\n\n[\\%s]\n\n' "$cs" "$n"
    printf '[\\%s\\%s]\n\n[\\%s\\%s\\Connection]\n"Name"="Ethernet"\n\n' "$n" "$NET_ETH" "$n" "$NET_ETH"
    printf '[\\%s\\%s]\n\n[\\%s\\%s\\Connection]\n"Name"="Wi-Fi"\n\n' "$n" "$NET_WIFI" "$n" "$NET_WIFI"
    hive_reg_network_nsi "$cs"
}

# The adapters' class keys and the NSI store of static IPv6 addresses: one
# value per address named NET_LUID (its 8 bytes little-endian, in hex) +
# the address (32 hex digits), data = lifetimes and origins (4 x u32), then
# the on-link prefix length at byte 16.
hive_reg_network_nsi() {
    local cs=$1 c nsi
    c="$cs\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}"
    printf '[\\%s\\Control\\Class]\n\n[\\%s]\n\n' "$cs" "$c"
    printf '[\\%s\\0001]\n"NetCfgInstanceId"="%s"\n"NetLuidIndex"=dword:00000009\n"*IfType"=dword:00000006\n"Characteristics"=dword:00000084\n\n' \
        "$c" "$NET_ETH"
    printf '[\\%s\\0002]\n"NetCfgInstanceId"="%s"\n"NetLuidIndex"=dword:0000000a\n"*IfType"=dword:00000047\n"Characteristics"=dword:00000084\n\n' \
        "$c" "$NET_WIFI"
    nsi="$cs\\Control\\Nsi\\{eb004a01-9b1a-11d4-9123-0050047759bc}"
    printf '[\\%s\\Control\\Nsi]\n\n[\\%s]\n\n[\\%s\\10]\n' "$cs" "$nsi" "$nsi"
    python3 - <<'PY'
def v(name, prefix):
    data = bytes([0xff] * 8) + bytes([1, 0, 0, 0, 1, 0, 0, 0, prefix]) + bytes(31)
    print('"%s"=hex:%s' % (name, ",".join("%02x" % b for b in data)))
v("0000000900000600" "20010db8000a00000000000000000020", 64)
v("0000000900000600" "20010db8000b00000000000000000005", 48)
v("0000000900000600" "fe800000000000001111222233334444", 64)
v("0000000A00004700" "20010DB8000C00000000000000000007", 64)
v("0000000b00000600" "20010db8000d00000000000000000009", 64)
PY
    echo
}

# The DriverDatabase of a Windows 8+ (in SYSTEM, or in DRIVERS for win10link).
hive_reg_ddb() {
    printf '[\\DriverDatabase]\n\n[\\DriverDatabase\\DriverInfFiles]\n\n'
    printf '[\\DriverDatabase\\DriverInfFiles\\oem1.inf]\n"Active"="prnms001.inf_amd64_1111111111111111"\n\n'
    printf '[\\DriverDatabase\\DriverPackages]\n\n[\\DriverDatabase\\DeviceIds]\n\n'
}

hive_reg_software() {
    local win=$1 name build type major minor
    case $win in
    win7) name="Windows 7 Professional" build=7601 type=Client major=6 minor=1 ;;
    win10 | win10link | win10old) name="Windows 10 Pro" build=19045 type=Client major=10 minor=0 ;;
    2k19) name="Windows Server 2019 Standard" build=17763 type=Server major=10 minor=0 ;;
    esac
    echo 'Windows Registry Editor Version 5.00'
    echo
    printf '[\\Microsoft]\n\n[\\Microsoft\\Windows]\n\n[\\Microsoft\\Windows\\CurrentVersion]\n\n'
    printf '[\\Microsoft\\Windows NT]\n\n[\\Microsoft\\Windows NT\\CurrentVersion]\n'
    printf '"ProductName"="%s"\n"CurrentBuild"="%s"\n"InstallationType"="%s"\n"CurrentVersion"="%s.%s"\n' \
        "$name" "$build" "$type" "$([ "$major" = 10 ] && echo 6 || echo "$major")" "$([ "$major" = 10 ] && echo 3 || echo "$minor")"
    if [ "$major" = 10 ]; then
        printf '"CurrentMajorVersionNumber"=dword:%08x\n"CurrentMinorVersionNumber"=dword:%08x\n' "$major" "$minor"
    fi
    echo
}

make_hives() {
    local out=$1 win=$2
    mkdir -p "$out"
    python3 "$here/blank_hive.py" "$out/SYSTEM" SYSTEM
    python3 "$here/blank_hive.py" "$out/SOFTWARE" SOFTWARE
    hive_reg_system "$win" >"$out/system.reg"
    hive_reg_software "$win" >"$out/software.reg"
    hivexregedit --merge "$out/SYSTEM" "$out/system.reg"
    hivexregedit --merge "$out/SOFTWARE" "$out/software.reg"
    rm -f "$out/system.reg" "$out/software.reg"
    if [ "$win" = win10link ] || [ "$win" = win10old ]; then
        python3 "$here/blank_hive.py" "$out/DRIVERS" ROOT
        { echo 'Windows Registry Editor Version 5.00'; echo; hive_reg_ddb; } >"$out/drivers.reg"
        hivexregedit --merge "$out/DRIVERS" "$out/drivers.reg"
        rm -f "$out/drivers.reg"
    fi
}

make_windisk() {
    local disk=$1 win=$2 tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkvirtio.XXXXXX")
    make_hives "$tmp/hives" "$win"
    truncate -s 64M "$disk"
    printf 'label: dos\nlabel-id: 0x5eed0001\n2048,16384,7,*\n18432,98304,7\n' | sfdisk -q "$disk"
    truncate -s 8M "$tmp/p1.img"
    mkntfs -q -F -Q -s 512 -p 2048 -H 255 -S 63 -L "System Reserved" "$tmp/p1.img" >/dev/null 2>&1
    truncate -s 48M "$tmp/p2.img"
    mkntfs -q -F -Q -s 512 -p 18432 -H 255 -S 63 -L Windows "$tmp/p2.img" >/dev/null 2>&1
    mkdir "$tmp/m"
    # System Reserved: bootmgr and a BIOS BCD naming itself and the Windows
    # partition (tests/lib/mkwin_reg.py writes the BCD's objects).
    python3 "$here/blank_hive.py" "$tmp/BCD"
    python3 "$here/mkwin_reg.py" bcd --disk 0x5eed0001 --boot 1048576 --os 9437184 --recovery 9437184 >"$tmp/bcd.reg"
    hivexregedit --merge "$tmp/BCD" "$tmp/bcd.reg"
    if ! timeout 30 ntfs-3g "$tmp/p1.img" "$tmp/m"; then
        rm -rf "$tmp"
        echo "mkvirtio.sh: cannot mount NTFS with ntfs-3g (FUSE)" >&2
        return 1
    fi
    mkdir -p "$tmp/m/Boot"
    cp "$tmp/BCD" "$tmp/m/Boot/BCD"
    head -c 50000 /dev/urandom >"$tmp/m/bootmgr"
    umount "$tmp/m"
    if ! timeout 30 ntfs-3g "$tmp/p2.img" "$tmp/m"; then
        rm -rf "$tmp"
        echo "mkvirtio.sh: cannot mount NTFS with ntfs-3g (FUSE)" >&2
        return 1
    fi
    mkdir -p "$tmp/m/Windows/System32/config" "$tmp/m/Windows/System32/drivers" "$tmp/m/Windows/INF"
    cp "$tmp/hives/"* "$tmp/m/Windows/System32/config/"
    if [ "$win" = win10old ]; then
        # the filters' drivers that are there (acmefilt.sys is not)
        for f in EhStorClass volsnap iaStorF; do
            echo "$f" >"$tmp/m/Windows/System32/drivers/$f.sys"
        done
    fi
    # A boot store for the Windows step to find (the BIOS BCD is not needed here).
    python3 "$here/blank_hive.py" "$tmp/m/Windows/System32/config/BCD-Template" BCD00000000
    echo "the disk driver that was there" >"$tmp/m/Windows/System32/drivers/disk.sys"
    # What an offline bcdboot copies when the Windows partition is selected alone.
    mkdir -p "$tmp/m/Windows/Boot/PCAT"
    head -c 50000 /dev/urandom >"$tmp/m/Windows/Boot/PCAT/bootmgr"
    head -c 300000 /dev/urandom >"$tmp/m/Windows/explorer.exe"
    umount "$tmp/m"
    dd if="$tmp/p1.img" of="$disk" bs=512 seek=2048 conv=notrunc status=none
    dd if="$tmp/p2.img" of="$disk" bs=512 seek=18432 conv=notrunc status=none
    rm -rf "$tmp"
}

case ${1:-} in
windisk) make_windisk "$2" "$3" ;;
tree) make_tree "$2" "${3:-per-driver}" ;;
iso) make_iso "$2" "$3" ;;
hives) make_hives "$2" "$3" ;;
marker) marker "$2" "$3" "$4" "$5" ;;
*) echo "usage: mkvirtio.sh tree DIR [per-driver|flat] | iso DIR ISO | hives OUTDIR win7|win10|win10link|2k19 | windisk FILE win7|win10|2k19 | marker DRIVER OS ARCH FILE" >&2; exit 2 ;;
esac
