# Helpers for the ext grow tests (tests/integration/resize_ext*.sh). Source
# after common.sh. Independent oracles: qemu-img, sfdisk, e2fsck, dumpe2fs,
# debugfs, sha256sum.

# ext_setup [TOOL...]: skip unless the tools these tests use (and TOOL...)
# are here; then, in $WORK, ext_files files.
ext_setup() {
    need sfdisk jq mkfs.ext4 e2fsck dumpe2fs debugfs qemu-img sha256sum fallocate cmp "$@"
    cd "$WORK"
    ext_files files
}

# ext_disk IMG PART...: a GPT disk image IMG holding the given partition
# images (files) one after the other from 1 MiB, each in a partition of its
# own size; the image ends 1 MiB after the last.
ext_disk() {
    local img=$1 start=2048 p sectors total=2048 spec=""
    shift
    for p in "$@"; do total=$((total + $(stat -c %s "$p") / 512)); done
    truncate -s $(((total + 2048) * 512)) "$img"
    for p in "$@"; do
        sectors=$(($(stat -c %s "$p") / 512))
        spec+="start=$start, size=$sectors, type=L"$'\n'
        start=$((start + sectors))
    done
    printf 'label: gpt\n%s' "$spec" | sfdisk -q "$img"
    start=2048
    for p in "$@"; do
        dd if="$p" of="$img" bs=512 seek=$start conv=notrunc status=none
        start=$((start + $(stat -c %s "$p") / 512))
    done
}

# ext_files DIR: files to put in a filesystem (random data, text, a tree).
ext_files() {
    mkdir -p "$1/tree/deep"
    head -c 3000000 /dev/urandom >"$1/random.bin"
    seq 1 200000 >"$1/numbers.txt"
    for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom >"$1/tree/f$i"; done
    head -c 70000 /dev/urandom >"$1/tree/deep/last.bin"
}

# ext_part IMG N OUT: partition N of raw image IMG into file OUT; echoes
# its size in bytes.
ext_part() {
    local s n
    s=$(sfdisk --json "$1" | jq ".partitiontable.partitions[$(($2 - 1))].start")
    n=$(sfdisk --json "$1" | jq ".partitiontable.partitions[$(($2 - 1))].size")
    dd if="$1" of="$3" bs=512 skip="$s" count="$n" status=none
    echo $((n * 512))
}

# ext_groups PART [dumpe2fs options]: where each group's metadata lies.
ext_groups() {
    local p=$1
    shift
    dumpe2fs "$@" "$p" 2>/dev/null | grep -E "^Group|bitmap at|Inode table at" |
        sed 's/ csum 0x[0-9a-f]*//; s/, csum 0x[0-9a-f]*//; s/ \[.*\]//'
}

ext_field() { dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p"; }

# ext_check_grown WHAT PART BYTES FILESDIR: the filesystem in file PART fills
# its BYTES-long partition (block count x block size, to the block), checks
# clean with e2fsck from the primary superblock and from the first and last
# backups, and gives back every file of FILESDIR unchanged.
ext_check_grown() {
    local what=$1 part=$2 bytes=$3 files=$4 bs bc b f
    e2fsck -fn "$part" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; fail "$what: e2fsck -fn"; }
    bs=$(ext_field "$part" "Block size")
    bc=$(ext_field "$part" "Block count")
    check_eq "$what: block count x $bs" $((bytes / bs)) "$bc"
    # The first and the last backup describe the same filesystem: superblock
    # sizes and every group's bitmaps and inode table.
    for b in $(dumpe2fs "$part" 2>/dev/null | sed -n 's/.*Backup superblock at \([0-9]*\).*/\1/p' |
               sed -n '1p;$p'); do
        for f in "Block count" "Inode count" "Reserved GDT blocks"; do
            [ "$(ext_field "$part" "$f")" = "$(dumpe2fs -h -o superblock="$b" -o blocksize="$bs" \
                  "$part" 2>/dev/null | sed -n "s/^$f: *//p")" ] ||
                fail "$what: backup superblock at $b: $f differs"
        done
        [ "$(ext_groups "$part")" = "$(ext_groups "$part" -o superblock="$b" -o blocksize="$bs")" ] ||
            fail "$what: the group descriptors at backup $b differ from the primary's"
    done
    pass "$what: e2fsck clean, backups agree"
    rm -rf "$WORK/dump" && mkdir "$WORK/dump"
    debugfs -R "rdump / $WORK/dump" "$part" >/dev/null 2>&1 || fail "$what: debugfs rdump"
    rmdir "$WORK/dump/lost+found" 2>/dev/null || true
    [ "$(cd "$files" && find . -type f | sort | xargs sha256sum)" = \
      "$(cd "$WORK/dump" && find . -type f | sort | xargs sha256sum)" ] ||
        fail "$what: the files differ from the source's"
    [ "$(cd "$files" && find . -type f | wc -l)" -gt 40 ] || fail "$what: too few files to compare"
    pass "$what: every file equal to the source's"
}

# ext_convert_check WHAT N FILESDIR ARGS...: p2v convert ARGS to $WORK/out.qcow2,
# qemu-img check clean, partition N grown as ext_check_grown says.
ext_convert_check() {
    local what=$1 n=$2 files=$3 bytes
    shift 3
    rm -f "$WORK/out.qcow2" "$WORK/out.raw"
    expect_exit 0 "$P2V" convert -o "$WORK/out.qcow2" "$@"
    grep -q "grown to" "$WORK/last.err" || fail "$what: no grow notice: $(cat "$WORK/last.err")"
    # the grown filesystem's own used map is trusted: no fallback to every sector
    ! grep -q "copying every sector" "$WORK/last.err" || fail "$what: $(cat "$WORK/last.err")"
    qemu-img check "$WORK/out.qcow2" >/dev/null || fail "$what: qemu-img check"
    qemu-img convert -O raw "$WORK/out.qcow2" "$WORK/out.raw"
    bytes=$(ext_part "$WORK/out.raw" "$n" "$WORK/grown.part")
    ext_check_grown "$what" "$WORK/grown.part" "$bytes" "$files"
    echo "$bytes" >"$WORK/grown.bytes"
}

# ext_kernel_fill WHAT PART: the kernel mounts the grown filesystem, fills
# most of its free space (fallocate; without extents, up to 160 MiB written:
# blocks in the new groups either way) and a new file reads
# back after a remount; e2fsck is still clean. Skipped (with a note) where
# this machine cannot mount a loop device.
ext_kernel_fill() {
    local what=$1 part=$2 free
    mkdir -p "$WORK/mnt"
    if ! mount -o loop "$part" "$WORK/mnt" 2>/dev/null; then
        echo "note: $what: cannot mount a loop device here; kernel check left out"
        return 0
    fi
    track_mount "$WORK/mnt"
    free=$(df -B1 --output=avail "$WORK/mnt" | tail -1)
    # fallocate needs extents; ext2/ext3 get their blocks written
    fallocate -l $((free * 9 / 10)) "$WORK/mnt/fill" 2>/dev/null ||
        dd if=/dev/zero of="$WORK/mnt/fill" bs=1M count=$(((free * 9 / 10 >> 20) < 160 ? (free * 9 / 10 >> 20) : 160)) status=none ||
        fail "$what: kernel: filling it"
    head -c 1000000 /dev/urandom >"$WORK/new.bin"
    cp "$WORK/new.bin" "$WORK/mnt/new.bin"
    umount "$WORK/mnt"
    mount -o loop,ro "$part" "$WORK/mnt" || fail "$what: kernel: remount"
    cmp "$WORK/new.bin" "$WORK/mnt/new.bin" || fail "$what: kernel: new file differs"
    umount "$WORK/mnt"
    e2fsck -fn "$part" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; fail "$what: e2fsck after the kernel wrote"; }
    pass "$what: the kernel fills it ($((free >> 20)) MiB free) and e2fsck stays clean"
}
