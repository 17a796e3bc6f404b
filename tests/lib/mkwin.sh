# Synthetic Windows disks for the Windows tests, built at test time: NTFS
# volumes (mkntfs) filled through an ntfs-3g mount with Windows' directory
# layout, registry hives made by blank_hive.py and filled by hivexregedit
# --merge from mkwin_reg.py (BCD with bootmgr / OS loader / resume / WinRE
# ramdisk objects, SYSTEM with MountedDevices, SOFTWARE with the version).
# Nothing is copied from a real Windows. Source after common.sh.
#
#   mkwin_mbr_bios DISK   MBR, signature 0x1234abcd, 112 MiB (sparse):
#       1  System Reserved  NTFS 16 MiB  0x07 active  bootmgr, Boot/BCD
#       2  C:               NTFS 48 MiB  0x07  Windows, Users
#       3  D:               NTFS 24 MiB  0x07  data
#       4  Recovery         NTFS 16 MiB  0x27  Recovery/WindowsRE/Winre.wim
#   Its BCD names partitions 1 (bootmgr), 2 (Windows) and 4 (WinRE) in MBR
#   form; MountedDevices has C: = 2, D: = 3, E: on another disk, a volume
#   name for each partition and a CD-ROM.
#   MKWIN_OFF_N: byte offset of partition N on the source.
#
#   mkwin_gpt_uefi DISK   GPT, disk GUID $MKWIN_GDISK, 120 MiB (sparse):
#       1  ESP       FAT32 36 MiB  EFI/Microsoft/Boot/BCD, bootmgfw.efi,
#                                  EFI/Boot/bootx64.efi
#       2  MSR             16 MiB  (no filesystem)
#       3  C:        NTFS  48 MiB  Windows, Users
#       4  WinRE     NTFS  16 MiB  Recovery/WindowsRE/Winre.wim
#   partition GUIDs $MKWIN_GP1..4. Its BCD (GPT form, winload.efi, with a
#   FirmwareVariable) names 1, 3 and 4; MountedDevices has C: = 3 and a
#   volume name for 1, 3 and 4, E: on another (MBR) disk and a CD-ROM.
#
#   MKWIN_REAGENT=1: C: also holds WinRE's ReAgent.xml naming partition 4.
#   MKWIN_COMPUTERNAME=NAME: its SYSTEM hive names the PC NAME.
#
#   mkwin_part_img DISK N OUT: partition N of DISK (sfdisk's view) into OUT.
#   mkwin_export HIVE: the hive as hivexregedit exports it (hivex's reading).

MKWIN_LIB=${P2V_SRC}/tests/lib
MKWIN_SIG=0x1234abcd
MKWIN_OFF_1=1048576
MKWIN_OFF_2=17825792
MKWIN_OFF_3=68157440
MKWIN_OFF_4=93323264
MKWIN_VOL=c0000000-0000-4000-8000-00000000000
MKWIN_GDISK=11111111-2222-4333-8444-555555555555
MKWIN_GP1=aaaaaaaa-0000-4000-8000-000000000001
MKWIN_GP2=aaaaaaaa-0000-4000-8000-000000000002
MKWIN_GP3=aaaaaaaa-0000-4000-8000-000000000003
MKWIN_GP4=aaaaaaaa-0000-4000-8000-000000000004

# mkwin_hive OUT ARGS...: a hive filled from `mkwin_reg.py ARGS...`.
mkwin_hive() {
    local out=$1
    shift
    python3 "$MKWIN_LIB/blank_hive.py" "$out"
    python3 "$MKWIN_LIB/mkwin_reg.py" "$@" >"$out.reg"
    hivexregedit --merge "$out" "$out.reg"
}

# mkwin_mbr_reg_args: the mkwin_reg.py arguments of the MBR PC's BCD and SYSTEM.
mkwin_bcd_args() {
    echo "bcd --disk $MKWIN_SIG --boot $MKWIN_OFF_1 --os $MKWIN_OFF_2 --recovery $MKWIN_OFF_4"
}
mkwin_mounted() {
    echo "\\DosDevices\\C:=$MKWIN_OFF_2,\\DosDevices\\D:=$MKWIN_OFF_3,\\DosDevices\\E:=0xdeadbeef@1048576,\\??\\Volume{${MKWIN_VOL}1}=$MKWIN_OFF_1,\\??\\Volume{${MKWIN_VOL}2}=$MKWIN_OFF_2,\\??\\Volume{${MKWIN_VOL}3}=$MKWIN_OFF_3,\\??\\Volume{${MKWIN_VOL}4}=$MKWIN_OFF_4"
}

# mkwin_windows_tree DIR STYLE DISK MOUNTED: \Windows with its hives and boot files.
mkwin_windows_tree() {
    local d=$1 style=$2 disk=$3 mounted=$4
    mkdir -p "$d/Windows/System32/config" "$d/Windows/Boot/EFI" "$d/Windows/Boot/PCAT" \
        "$d/Users/staff/Documents"
    # MKWIN_COMPUTERNAME=NAME: SYSTEM names the PC (ComputerName\ComputerName)
    mkwin_hive "$d/Windows/System32/config/SYSTEM" system --style "$style" --disk "$disk" \
        --mounted "$mounted" ${MKWIN_COMPUTERNAME+--computername "$MKWIN_COMPUTERNAME"}
    mkwin_hive "$d/Windows/System32/config/SOFTWARE" software
    # MKWIN_NO_TEMPLATE=1: no BCD-Template (a Windows that cannot get a new BCD)
    [ -n "${MKWIN_NO_TEMPLATE:-}" ] ||
        mkwin_hive "$d/Windows/System32/config/BCD-Template" template
    # \Windows\Boot\EFI as bcdboot finds it: the boot manager, memtest, a
    # language folder and Fonts. MKWIN_BOOTMGFW=FILE: that file as
    # bootmgfw.efi (a generic EFI loader for a boot test), else random bytes.
    mkdir -p "$d/Windows/Boot/EFI/en-US" "$d/Windows/Boot/EFI/Fonts"
    if [ -n "${MKWIN_BOOTMGFW:-}" ]; then
        cp "$MKWIN_BOOTMGFW" "$d/Windows/Boot/EFI/bootmgfw.efi"
    else
        head -c 40000 /dev/urandom >"$d/Windows/Boot/EFI/bootmgfw.efi"
    fi
    head -c 30000 /dev/urandom >"$d/Windows/Boot/EFI/memtest.efi"
    head -c 2000 /dev/urandom >"$d/Windows/Boot/EFI/bootmgr.efi"
    head -c 3000 /dev/urandom >"$d/Windows/Boot/EFI/en-US/bootmgfw.efi.mui"
    head -c 2500 /dev/urandom >"$d/Windows/Boot/EFI/en-US/memtest.efi.mui"
    head -c 20000 /dev/urandom >"$d/Windows/Boot/EFI/Fonts/wgl4_boot.ttf"
    head -c 15000 /dev/urandom >"$d/Windows/Boot/EFI/Fonts/segoe_slboot.ttf"
    head -c 50000 /dev/urandom >"$d/Windows/Boot/PCAT/bootmgr"
    head -c 20000 /dev/urandom >"$d/Windows/Boot/PCAT/memtest.exe"
    head -c 10000 /dev/urandom >"$d/Windows/Boot/PCAT/bootnxt"
    mkdir -p "$d/Windows/Boot/PCAT/en-US"
    head -c 3000 /dev/urandom >"$d/Windows/Boot/PCAT/en-US/bootmgr.exe.mui"
    head -c 300000 /dev/urandom >"$d/Users/staff/Documents/report.docx"
    head -c 5000 /dev/urandom >"$d/Windows/System32/ntoskrnl.exe"
    rm -f "$d"/Windows/System32/config/*.reg
}

# mkwin_reagent DIR ARGS...: with MKWIN_REAGENT=1, WinRE's
# \Windows\System32\Recovery\ReAgent.xml from `mkwin_reg.py reagent ARGS...`
# (WinreLocation = the recovery partition).
mkwin_reagent() {
    local d=$1
    shift
    [ "${MKWIN_REAGENT:-0}" = 1 ] || return 0
    mkdir -p "$d/Windows/System32/Recovery"
    python3 "$MKWIN_LIB/mkwin_reg.py" reagent "$@" >"$d/Windows/System32/Recovery/ReAgent.xml"
}

# mkwin_ntfs IMG MIB LABEL HIDDEN DIR: an NTFS image holding DIR's tree.
mkwin_ntfs() {
    local img=$1 mib=$2 label=$3 hidden=$4 dir=$5 mnt
    truncate -s "${mib}M" "$img"
    mkntfs -q -F -Q -s 512 -p "$hidden" -H 255 -S 63 -L "$label" "$img" >/dev/null 2>&1
    mnt=$(mktemp -d "$WORK/mnt.XXXXXX")
    timeout 60 ntfs-3g "$img" "$mnt" || fail "ntfs-3g cannot mount $img (FUSE needed)"
    track_mount "$mnt"
    cp -r "$dir"/. "$mnt"/
    umount "$mnt"
    rmdir "$mnt"
}

# mkwin_put DISK IMG START_SECTOR
mkwin_put() {
    dd if="$2" of="$1" bs=512 seek="$3" conv=notrunc,sparse status=none
}

mkwin_mbr_bios() {
    local disk=$1 t=$WORK/mkwin.$$
    mkdir -p "$t/sys" "$t/c" "$t/d" "$t/rec/Recovery/WindowsRE"
    mkwin_hive "$t/sys/BCD.hive" $(mkwin_bcd_args)
    mkdir -p "$t/sys/Boot"
    mv "$t/sys/BCD.hive" "$t/sys/Boot/BCD"
    rm -f "$t/sys/BCD.hive.reg"
    head -c 50000 /dev/urandom >"$t/sys/bootmgr"
    mkwin_windows_tree "$t/c" mbr "$MKWIN_SIG" "$(mkwin_mounted)"
    mkwin_reagent "$t/c" --disk "$MKWIN_SIG" --recovery "$MKWIN_OFF_4"
    head -c 200000 /dev/urandom >"$t/d/data.bin"
    head -c 100000 /dev/urandom >"$t/rec/Recovery/WindowsRE/Winre.wim"
    head -c 3000 /dev/urandom >"$t/rec/Recovery/WindowsRE/boot.sdi"
    mkwin_ntfs "$t/p1" 16 "System Reserved" 2048 "$t/sys"
    mkwin_ntfs "$t/p2" 48 "Windows" 34816 "$t/c"
    mkwin_ntfs "$t/p3" 24 "Data" 133120 "$t/d"
    mkwin_ntfs "$t/p4" 16 "Recovery" 182272 "$t/rec"
    truncate -s 112M "$disk"
    sfdisk -q --label dos "$disk" >/dev/null <<EOF
label-id: $MKWIN_SIG
2048,32768,7,*
34816,98304,7
133120,49152,7
182272,32768,27
EOF
    mkwin_put "$disk" "$t/p1" 2048
    mkwin_put "$disk" "$t/p2" 34816
    mkwin_put "$disk" "$t/p3" 133120
    mkwin_put "$disk" "$t/p4" 182272
    rm -rf "$t"
}

mkwin_part_img() {
    local start size
    read -r start size < <(sfdisk --json "$1" |
        jq -r ".partitiontable.partitions[$(($2 - 1))] | \"\\(.start) \\(.size)\"")
    dd if="$1" of="$3" bs=512 skip="$start" count="$size" conv=sparse status=none
}

# mkwin_part_off DISK N: byte offset of partition N.
mkwin_part_off() {
    echo $(( $(sfdisk --json "$1" | jq ".partitiontable.partitions[$(($2 - 1))].start") * 512 ))
}

mkwin_export() {
    hivexregedit --export "$1" '\'
}

mkwin_gpt_bcd_args() {
    echo "bcd --style gpt --firmware efi --disk $MKWIN_GDISK --boot $MKWIN_GP1 --os $MKWIN_GP3 --recovery $MKWIN_GP4"
}
mkwin_gpt_mounted() {
    echo "\\DosDevices\\C:=$MKWIN_GP3,\\DosDevices\\E:=mbr:0xdeadbeef@1048576,\\??\\Volume{${MKWIN_VOL}1}=$MKWIN_GP1,\\??\\Volume{${MKWIN_VOL}3}=$MKWIN_GP3,\\??\\Volume{${MKWIN_VOL}4}=$MKWIN_GP4"
}

mkwin_gpt_uefi() {
    local disk=$1 t=$WORK/mkwin.$$
    mkdir -p "$t/c" "$t/rec/Recovery/WindowsRE"
    mkwin_hive "$t/BCD" $(mkwin_gpt_bcd_args)
    head -c 40000 /dev/urandom >"$t/bootmgfw.efi"
    truncate -s 36M "$t/p1"
    mkfs.vfat -F 32 -S 512 -h 2048 -n ESP "$t/p1" >/dev/null
    mmd -i "$t/p1" ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot ::/EFI/Boot
    mcopy -i "$t/p1" "$t/BCD" ::/EFI/Microsoft/Boot/BCD
    mcopy -i "$t/p1" "$t/bootmgfw.efi" ::/EFI/Microsoft/Boot/bootmgfw.efi
    mcopy -i "$t/p1" "$t/bootmgfw.efi" ::/EFI/Boot/bootx64.efi
    mkwin_windows_tree "$t/c" gpt "$MKWIN_GDISK" "$(mkwin_gpt_mounted)"
    mkwin_reagent "$t/c" --style gpt --disk "$MKWIN_GDISK" --recovery $((206848 * 512))
    head -c 100000 /dev/urandom >"$t/rec/Recovery/WindowsRE/Winre.wim"
    mkwin_ntfs "$t/p3" 48 "Windows" 108544 "$t/c"
    mkwin_ntfs "$t/p4" 16 "Recovery" 206848 "$t/rec"
    truncate -s 120M "$disk"
    sgdisk -U "$MKWIN_GDISK" \
        -n 1:2048:+36M -t 1:ef00 -u 1:$MKWIN_GP1 -c 1:"EFI system partition" \
        -n 2:75776:+16M -t 2:0c01 -u 2:$MKWIN_GP2 -c 2:"Microsoft reserved partition" \
        -n 3:108544:+48M -t 3:0700 -u 3:$MKWIN_GP3 -c 3:"Basic data partition" \
        -n 4:206848:+16M -t 4:2700 -u 4:$MKWIN_GP4 -A 4:set:0 -A 4:set:63 "$disk" >/dev/null
    mkwin_put "$disk" "$t/p1" 2048
    mkwin_put "$disk" "$t/p3" 108544
    mkwin_put "$disk" "$t/p4" 206848
    rm -rf "$t"
}
