# Builds the two sample disks of the convert story (scaled down), with real
# filesystems holding files of random content. Source it; needs $WORK.
#
#   mkpc_disk1 FILE   MBR, 300 MiB:
#       1  boot      NTFS  24 MiB  0x07 active  "System Reserved"
#       2  D:        ext4  64 MiB  0x83
#       3  C:        NTFS  80 MiB  0x07  starts at sector 198657: NOT 1 MiB aligned
#       4  extended              0x0F
#       5  recovery  NTFS  24 MiB  0x27 (logical)
#       6  E:        FAT32 40 MiB  0x0c (logical)
#   mkpc_disk2 FILE   GPT, 128 MiB:
#       1  F:        FAT32 48 MiB  basic data
#       2  G:        ext4  32 MiB  Linux filesystem
#   (the story's "disk1:4" recovery is partition 5 here: with five partitions
#    an MBR disk needs an extended partition, which Linux numbers 4.)
#
# Each filesystem gets random files; mkpc_manifest FILE:N writes "name sha256"
# lines of what was put there to $WORK/manifest.<label>.

MKPC_SS=${MKPC_SS:-512}
# MKPC_SCALE=N multiplies every size (benchmarks); MKPC_FILES=N files per
# filesystem of up to MKPC_FILE_KB KiB each.
MKPC_SCALE=${MKPC_SCALE:-1}
MKPC_FILES=${MKPC_FILES:-5}
MKPC_FILE_KB=${MKPC_FILE_KB:-3000}
# MKPC_SEED=N seeds bash's RANDOM, so the files (and every size p2v prints of
# them) are the same at each run: scripts/demo and the documented examples use it.
if [ -n "${MKPC_SEED:-}" ]; then RANDOM=$MKPC_SEED; fi

# mkpc_files DIR SEED: a few files of random content (1 KiB to 3 MiB).
mkpc_files() {
    local dir=$1 i
    mkdir -p "$dir"
    for i in $(seq 1 "$MKPC_FILES"); do
        head -c $(( (RANDOM % MKPC_FILE_KB + 1) * 1024 )) /dev/urandom >"$dir/file$i.bin"
    done
    head -c 777 /dev/urandom >"$dir/small.bin"
}

# mkpc_fs TYPE IMG SIZE_MIB LABEL HIDDEN DIR: a filesystem image of the files in DIR.
mkpc_fs() {
    local type=$1 img=$2 mib=$3 label=$4 hidden=$5 dir=$6 f
    truncate -s "${mib}M" "$img"
    case $type in
    ntfs)
        mkntfs -q -F -Q -s "$MKPC_SS" -p "$hidden" -H 255 -S 63 -L "$label" "$img" >/dev/null 2>&1
        for f in "$dir"/*; do ntfscp -q "$img" "$f" "$(basename "$f")" >/dev/null; done
        ;;
    vfat)
        mkfs.vfat -F "${MKPC_FAT_BITS:-32}" ${MKPC_FAT_SPC:+-s $MKPC_FAT_SPC} -S "$MKPC_SS" -h "$hidden" -n "$label" "$img" >/dev/null
        for f in "$dir"/*; do mcopy -i "$img" "$f" "::/$(basename "$f")"; done
        ;;
    ext4)
        mkfs.ext4 -q -F -b 4096 -L "$label" -d "$dir" "$img" >/dev/null
        ;;
    esac
}

# mkpc_put DISK IMG START_SECTOR: place a filesystem image in the disk.
mkpc_put() {
    dd if="$2" of="$1" bs="$MKPC_SS" seek="$3" conv=notrunc,sparse status=none
}

# _mkpc_part DISK WORKDIR NAME TYPE SIZE_MIB LABEL START: random files in
# WORKDIR/NAME, a TYPE filesystem of them placed at sector START of DISK.
_mkpc_part() {
    local d=$1 w=$2 name=$3 start=$7
    mkpc_files "$w/$name"
    mkpc_fs "$4" "$w/$name.img" "$5" "$6" "$start" "$w/$name"
    mkpc_put "$d" "$w/$name.img" "$start"
    rm -f "$w/$name.img"
}

mkpc_disk1() {
    local d=$1 w=$WORK/mkpc1 k=$MKPC_SCALE
    truncate -s $((300 * k))M "$d"
    # 512-byte sectors: 1 MiB = 2048. C: starts one sector after a MiB boundary.
    sfdisk -q "$d" <<SF
label: dos
label-id: 0x1ee7c0de
start=2048, size=$((49152 * k)), type=7, bootable
start=$((51200 * k)), size=$((131072 * k)), type=83
start=$((198656 * k + 1)), size=$((163840 * k)), type=7
start=$((364544 * k)), size=$((249856 * k)), type=f
start=$((366592 * k)), size=$((49152 * k)), type=27
start=$((417792 * k)), size=$((81920 * k)), type=c
SF
    # Boot code, as a Windows MBR would carry (a recognisable pattern here).
    printf 'P2V-TEST-BOOTCODE' | dd of="$d" conv=notrunc status=none
    _mkpc_part "$d" "$w" boot ntfs $((24 * k)) "System Reserved" 2048
    _mkpc_part "$d" "$w" d ext4 $((64 * k)) "DATA-D" $((51200 * k))
    _mkpc_part "$d" "$w" c ntfs $((80 * k)) "Windows" $((198656 * k + 1))
    _mkpc_part "$d" "$w" rec ntfs $((24 * k)) "Recovery" $((366592 * k))
    _mkpc_part "$d" "$w" e vfat $((40 * k)) "DATA-E" $((417792 * k))
}

mkpc_disk2() {
    local d=$1 w=$WORK/mkpc2 k=$MKPC_SCALE
    truncate -s $((128 * k))M "$d"
    sfdisk -q "$d" <<SF
label: gpt
start=2048, size=$((98304 * k)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="F data"
start=$((100352 * k)), size=$((65536 * k)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="G linux"
SF
    _mkpc_part "$d" "$w" f vfat $((48 * k)) "DATA-F" 2048
    _mkpc_part "$d" "$w" g ext4 $((32 * k)) "DATA-G" $((100352 * k))
}

# mkpc_dir DISKNO PART: the directory of files that went into that partition.
mkpc_dir() {
    case "$1:$2" in
    1:1) echo "$WORK/mkpc1/boot" ;; 1:2) echo "$WORK/mkpc1/d" ;; 1:3) echo "$WORK/mkpc1/c" ;;
    1:5) echo "$WORK/mkpc1/rec" ;; 1:6) echo "$WORK/mkpc1/e" ;;
    2:1) echo "$WORK/mkpc2/f" ;; 2:2) echo "$WORK/mkpc2/g" ;;
    4:1) echo "$WORK/mkpc4/f" ;; 4:2) echo "$WORK/mkpc4/n" ;;
    esac
}

# mkpc_extract IMG START SECTORS OUT: a partition of a raw disk image as a file.
mkpc_extract() {
    dd if="$1" of="$4" bs="$MKPC_SS" skip="$2" count="$3" conv=sparse status=none
}

# mkpc_check_files FSTYPE PARTIMG DIR: every file of DIR reads back identical.
mkpc_check_files() {
    local fs=$1 img=$2 dir=$3 f name want got
    for f in "$dir"/*; do
        name=$(basename "$f")
        want=$(sha256sum <"$f" | cut -d' ' -f1)
        case $fs in
        ntfs) got=$(ntfscat "$img" "$name" | sha256sum | cut -d' ' -f1) ;;
        vfat) got=$(mtype -i "$img" "::/$name" | sha256sum | cut -d' ' -f1) ;;
        ext4) got=$(debugfs -R "cat /$name" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1) ;;
        esac
        [ "$want" = "$got" ] || { echo "FAIL: $fs $img: $name differs" >&2; return 1; }
    done
}

# mkpc_fsck FSTYPE PARTIMG: the filesystem's own checker, read-only, must be clean.
mkpc_fsck() {
    case $1 in
    ntfs) ntfsfix -n "$2" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; return 1; }
          if grep -qiE 'bad|error|corrupt' "$WORK/fsck.out"; then cat "$WORK/fsck.out" >&2; return 1; fi ;;
    vfat) fsck.vfat -n "$2" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; return 1; } ;;
    ext4) e2fsck -fn "$2" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; return 1; } ;;
    esac
}

# mkpc_le32 FILE BYTE_OFFSET: an unsigned little-endian 32-bit value.
mkpc_le32() {
    od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '
}
mkpc_le64() {
    od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}

# mkpc_fstype DISKNO PART: the filesystem mkpc put there.
mkpc_fstype() {
    case "$1:$2" in
    1:1|1:3|1:5|4:2) echo ntfs ;; 1:2|2:2) echo ext4 ;; 1:6|2:1|4:1) echo vfat ;;
    esac
}

# mkpc_data_parts RAWIMG: "start size" of each data partition of a raw disk
# image, in disk order (MBR extended containers left out).
mkpc_data_parts() {
    sfdisk --json "$1" | jq -r '.partitiontable.partitions[]
        | select(.type != "f" and .type != "5" and .type != "85")
        | "\(.start) \(.size)"' | sort -n
}

# mkpc_check_hidden FSTYPE PARTIMG START: hidden sectors = START in the boot
# sector and in its backup (NTFS: sector number_of_sectors; FAT32: sector 6),
# and for NTFS also in the partition's last sector when the volume is smaller.
mkpc_check_hidden() {
    local fs=$1 img=$2 start=$3 ss=$MKPC_SS got nsec psec
    got=$(mkpc_le32 "$img" 28)
    [ "$got" = "$start" ] || { echo "FAIL: $img: hidden sectors $got, want $start" >&2; return 1; }
    case $fs in
    ntfs)
        nsec=$(mkpc_le64 "$img" 40)
        got=$(mkpc_le32 "$img" $(( nsec * ss + 28 )))
        [ "$got" = "$start" ] || { echo "FAIL: $img: backup hidden sectors $got, want $start" >&2; return 1; }
        psec=$(( $(stat -c %s "$img") / ss ))
        if [ "$psec" -gt $(( nsec + 1 )) ]; then
            cmp -s -n "$ss" "$img" <(dd if="$img" bs="$ss" skip=$(( psec - 1 )) count=1 status=none) ||
                { echo "FAIL: $img: last sector is not a copy of the boot sector" >&2; return 1; }
        fi ;;
    vfat)
        if [ "$(od -An -t u2 -j 22 -N 2 "$img" | tr -d ' ')" = 0 ]; then   # FAT32: a backup
            got=$(mkpc_le32 "$img" $(( 6 * ss + 28 )))
            [ "$got" = "$start" ] || { echo "FAIL: $img: backup boot sector hidden $got, want $start" >&2; return 1; }
        fi ;;
    esac
}

# mkpc_check_output RAWIMG SEL...: the partitions of RAWIMG, in order, are the
# sources named by SEL (d:p = mkpc disk d partition p): 1 MiB aligned, not
# smaller than their source, filesystems clean, every file identical, hidden
# sectors right.
mkpc_check_output() {
    local raw=$1 i=0 start size sel fs dir
    shift
    local -a sels=("$@")
    mkpc_data_parts "$raw" >"$WORK/parts.txt"
    [ "$(wc -l <"$WORK/parts.txt")" = "${#sels[@]}" ] ||
        { echo "FAIL: $raw has $(wc -l <"$WORK/parts.txt") data partitions, want ${#sels[@]}" >&2; return 1; }
    while read -r start size; do
        sel=${sels[$i]}
        i=$((i + 1))
        [ $(( start * MKPC_SS % 1048576 )) = 0 ] || { echo "FAIL: partition $i at $start is not 1 MiB aligned" >&2; return 1; }
        [ "$sel" = msr ] && continue
        fs=$(mkpc_fstype "${sel%%:*}" "${sel##*:}")
        dir=$(mkpc_dir "${sel%%:*}" "${sel##*:}")
        mkpc_extract "$raw" "$start" "$size" "$WORK/part.img"
        mkpc_fsck "$fs" "$WORK/part.img" || { echo "FAIL: partition $i ($sel, $fs): fsck" >&2; return 1; }
        mkpc_check_files "$fs" "$WORK/part.img" "$dir" || return 1
        if [ "$fs" != ext4 ]; then mkpc_check_hidden "$fs" "$WORK/part.img" "$start" || return 1; fi
        echo "ok: partition $i = $sel ($fs) at sector $start, $size sectors: fsck clean, files identical"
    done <"$WORK/parts.txt"
    rm -f "$WORK/part.img"
}

# mkpc_disk4k DEV: a GPT disk with 4096-byte sectors (a loop device made with
# losetup -b 4096): 1 FAT16 48 MiB (basic data), 2 NTFS 64 MiB (basic data)
# starting at a sector that is not 1 MiB aligned.
mkpc_disk4k() {
    local d=$1 w=$WORK/mkpc4
    sfdisk -q --no-reread --no-tell-kernel "$d" <<SF
label: gpt
start=256, size=12288, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
start=12801, size=16384, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
SF

    MKPC_SS=4096 MKPC_FAT_BITS=16 MKPC_FAT_SPC=1 _mkpc_part "$d" "$w" f vfat 48 "FAT4K" 256
    MKPC_SS=4096 _mkpc_part "$d" "$w" n ntfs 64 "NTFS4K" 12801
}

# mkpc_setup: skip unless the tools the sample PC needs are here, then build
# both disks in $WORK (the current directory afterwards) and record their
# checksums in sources.sum, so a test can prove the sources were not written.
mkpc_setup() {
    need sfdisk sgdisk qemu-img jq mkntfs ntfscp ntfscat ntfsfix mkfs.vfat mcopy mtype fsck.vfat \
        mkfs.ext4 debugfs e2fsck
    cd "$WORK"
    mkpc_disk1 disk1.img
    mkpc_disk2 disk2.img
    sha256sum disk1.img disk2.img >sources.sum
}
