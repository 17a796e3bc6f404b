# A disk2vhd-like VHDX of a used Windows PC, built at test time (nothing is
# copied from a real Windows or a real disk2vhd file). Source after common.sh.
#
#   d2v_vhdx OUT [DIRTY_PCT]   OUT: a dynamic VHDX (qemu-img convert -O vhdx
#                              -o subformat=dynamic) of a 4 GiB GPT disk with
#                              512-byte sectors, laid out as Windows Setup
#                              lays out a UEFI install:
#       1  ESP       FAT32 100 MiB  EFI/Microsoft/Boot/BCD, bootmgfw.efi,
#                                   EFI/Boot/bootx64.efi
#       2  MSR             16 MiB   (no filesystem)
#       3  C:        NTFS  3.3 GiB  "Windows": \Windows (hives, boot files),
#                                   pagefile.sys, \Users\staff with files
#       4  Recovery  NTFS  600 MiB  Recovery\WindowsRE\Winre.wim, attributes
#                                   required and no drive letter (0, 63)
#   with DIRTY_PCT percent (default 100) of every filesystem's free space
#   written with random data and freed again (tests/lib/dirtyfree.sh): the
#   stale clusters a used PC has, which a copy of every cluster keeps.
#   D2V_LIGHT=1: the same disk with a few MiB of files instead of 1.3 GiB
#   (tests; `Used` differs, nothing else does).
#   Partition and disk GUIDs are fixed ($D2V_GDISK, $D2V_GP1..4), file sizes
#   come from RANDOM seeded with 2026: `p2v disks` prints the same every time.
#   Needs FUSE (ntfs-3g), hivex, mtools, sgdisk, qemu-img.

D2V_GDISK=d2d2d2d2-0000-4000-8000-000000000000
D2V_GP1=d2d2d2d2-0000-4000-8000-000000000001
D2V_GP2=d2d2d2d2-0000-4000-8000-000000000002
D2V_GP3=d2d2d2d2-0000-4000-8000-000000000003
D2V_GP4=d2d2d2d2-0000-4000-8000-000000000004
# Sectors: ESP at 1 MiB, MSR after it, C: up to the recovery partition,
# which ends at the last whole MiB before the backup GPT.
D2V_S1=2048 D2V_S2=206848 D2V_S3=239616 D2V_S4=7157760
D2V_MIB3=$(( (D2V_S4 - D2V_S3) / 2048 )) D2V_MIB4=600

source "${P2V_SRC}/tests/lib/mkwin.sh"
source "${P2V_SRC}/tests/lib/dirtyfree.sh"

# _d2v_files DIR N MAX_MIB: N files of random content, 1 KiB to MAX_MIB MiB.
_d2v_files() {
    local i
    mkdir -p "$1"
    for i in $(seq 1 "$2"); do
        head -c $(( (RANDOM * 32768 + RANDOM) % ($3 * 1024) * 1024 + 1024 )) /dev/urandom \
            >"$1/doc$i.bin"
    done
}

d2v_vhdx() {
    local out=$1 pct=${2:-100} t=$WORK/d2v.$$ disk
    disk=$t/disk.raw
    RANDOM=2026
    mkdir -p "$t/c" "$t/rec/Recovery/WindowsRE"
    # ESP: the boot manager and a BCD naming C: and the recovery partition.
    mkwin_hive "$t/BCD" bcd --style gpt --firmware efi --disk "$D2V_GDISK" --boot "$D2V_GP1" \
        --os "$D2V_GP3" --recovery "$D2V_GP4"
    head -c 1500000 /dev/urandom >"$t/bootmgfw.efi"
    truncate -s 100M "$t/p1"
    mkfs.vfat -F 32 -S 512 -h "$D2V_S1" -n SYSTEM "$t/p1" >/dev/null
    mmd -i "$t/p1" ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot ::/EFI/Boot
    mcopy -i "$t/p1" "$t/BCD" ::/EFI/Microsoft/Boot/BCD
    mcopy -i "$t/p1" "$t/bootmgfw.efi" ::/EFI/Microsoft/Boot/bootmgfw.efi
    mcopy -i "$t/p1" "$t/bootmgfw.efi" ::/EFI/Boot/bootx64.efi
    # C: Windows' tree with its hives, a page file, a user's documents.
    mkwin_windows_tree "$t/c" gpt "$D2V_GDISK" \
        "\\DosDevices\\C:=$D2V_GP3,\\??\\Volume{${MKWIN_VOL}1}=$D2V_GP1,\\??\\Volume{${MKWIN_VOL}3}=$D2V_GP3,\\??\\Volume{${MKWIN_VOL}4}=$D2V_GP4"
    local k=1 m=1
    [ -z "${D2V_LIGHT:-}" ] || k=32 m=12
    head -c $((256 / k))M /dev/urandom >"$t/c/pagefile.sys"
    _d2v_files "$t/c/Users/staff/Documents" $((24 / m)) $((48 / m))
    _d2v_files "$t/c/Windows/System32/DriverStore" $((16 / m)) $((24 / m))
    head -c $((300 / k))M /dev/urandom >"$t/rec/Recovery/WindowsRE/Winre.wim"
    head -c 3170304 /dev/urandom >"$t/rec/Recovery/WindowsRE/boot.sdi"
    mkwin_ntfs "$t/p3" "$D2V_MIB3" "Windows" "$D2V_S3" "$t/c"
    mkwin_ntfs "$t/p4" "$D2V_MIB4" "Recovery" "$D2V_S4" "$t/rec"
    rm -rf "$t/c" "$t/rec"
    truncate -s 4G "$disk"
    sgdisk -U "$D2V_GDISK" \
        -n 1:$D2V_S1:+100M -t 1:ef00 -u 1:$D2V_GP1 -c 1:"EFI system partition" \
        -n 2:$D2V_S2:+16M -t 2:0c01 -u 2:$D2V_GP2 -c 2:"Microsoft reserved partition" \
        -n 3:$D2V_S3:+${D2V_MIB3}M -t 3:0700 -u 3:$D2V_GP3 -c 3:"Basic data partition" \
        -n 4:$D2V_S4:+${D2V_MIB4}M -t 4:2700 -u 4:$D2V_GP4 -A 4:set:0 -A 4:set:63 "$disk" \
        >/dev/null
    mkwin_put "$disk" "$t/p1" "$D2V_S1"
    mkwin_put "$disk" "$t/p3" "$D2V_S3"
    mkwin_put "$disk" "$t/p4" "$D2V_S4"
    rm -f "$t"/p[134]
    [ "$pct" = 0 ] || dirty_free "$disk" "$pct"
    qemu-img convert -O vhdx -o subformat=dynamic "$disk" "$out"
    rm -rf "$t"
}
