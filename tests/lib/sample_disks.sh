# Sample disks with real filesystems, for the demo and the tests.
# Needs: sfdisk, sgdisk, mkntfs, mkfs.vfat, mkfs.ext4, mkswap, dd, truncate.
# Images are sparse; filesystems are made in a scratch file and copied in place.

# _sample_fs IMG START_SECTOR SECTORS KIND LABEL: make a filesystem in a partition.
_sample_fs() {
    local img=$1 start=$2 sectors=$3 kind=$4 label=$5 tmp
    tmp=$(mktemp "${TMPDIR:-/tmp}/p2v-fs.XXXXXX")
    truncate -s $((sectors * 512)) "$tmp"
    case $kind in
    ntfs) mkntfs -q -Q -F -L "$label" -p "$start" -H 255 -S 63 "$tmp" >/dev/null 2>&1 ;;
    vfat) mkfs.vfat -n "$label" -h "$start" "$tmp" >/dev/null ;;
    fat32) mkfs.vfat -F 32 -n "$label" -h "$start" "$tmp" >/dev/null ;;
    ext4) mkfs.ext4 -q -F -L "$label" "$tmp" ;;
    swap) mkswap -L "$label" "$tmp" >/dev/null 2>&1 ;;
    esac
    dd if="$tmp" of="$img" bs=1M seek=$((start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
    rm -f "$tmp"
}

# make_sample_mbr IMG: 256 MiB MBR disk, NTFS (active), FAT32, and an extended
# partition with ext4, swap and ext4 logical partitions.
make_sample_mbr() {
    local img=$1
    rm -f "$img"
    truncate -s 256M "$img"
    sfdisk -q "$img" <<'SF'
label: dos
label-id: 0x0d15c001
start=2048, size=131072, type=7, bootable
start=133120, size=69632, type=c
start=202752, type=f
start=204800, size=32768, type=83
start=239616, size=16384, type=82
start=258048, size=266240, type=83
SF
    _sample_fs "$img" 2048 131072 ntfs "Windows"
    _sample_fs "$img" 133120 69632 fat32 "DATA"
    _sample_fs "$img" 204800 32768 ext4 "boot"
    _sample_fs "$img" 239616 16384 swap "swap"
    _sample_fs "$img" 258048 266240 ext4 "root"
}

# make_sample_gpt IMG: 256 MiB GPT disk as Windows installs it (ESP, MSR,
# Windows, recovery) plus a Linux filesystem.
make_sample_gpt() {
    local img=$1
    rm -f "$img"
    truncate -s 256M "$img"
    sgdisk -o -n 1:2048:+32M -t 1:ef00 -c "1:EFI system partition" \
        -n 2:0:+16M -t 2:0c01 -c "2:Microsoft reserved partition" \
        -n 3:0:+128M -t 3:0700 -c "3:Basic data partition" \
        -n 4:0:+32M -t 4:2700 -c "4:Recovery" -A 4:set:0 -A 4:set:63 \
        -n 5:0:0 -t 5:8300 -c "5:linux" "$img" >/dev/null
    local parts
    parts=$(sfdisk --json "$img" | jq -r '.partitiontable.partitions[] | "\(.start) \(.size)"')
    _sample_fs "$img" $(sed -n 1p <<<"$parts") vfat "ESP"
    _sample_fs "$img" $(sed -n 3p <<<"$parts") ntfs "Windows"
    _sample_fs "$img" $(sed -n 4p <<<"$parts") ntfs "Recovery"
    _sample_fs "$img" $(sed -n 5p <<<"$parts") ext4 "home"
}
