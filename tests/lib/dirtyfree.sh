# Dirtying the free space of a sample disk's filesystems, so that it looks
# like a disk that has been used for years: files written and deleted again,
# their clusters free but still holding their (non-zero) data. A raw copy of
# such a disk (dd, a VHDX made from it, disk2vhd if it copies every cluster)
# stores that stale data; a used-block map skips it. Source it; needs $WORK.
#
#   dirty_free DISK [PCT]   PCT percent (default 100) of each NTFS, FAT and
#                           ext4 filesystem's free space written with random
#                           data and freed again, with the filesystem's own
#                           offline tools (no mount):
#                             ext4   debugfs write, then debugfs rm
#                             FAT    mcopy, then mdel
#                             NTFS   ntfscp, then ntfstruncate to length 0
#                                    (nothing here deletes an NTFS file
#                                    offline; the empty file stays, its
#                                    clusters are freed)
#                           Each filesystem is checked (fsck, read-only)
#                           afterwards. Other partitions are left alone.

# _df_free TYPE IMG: free bytes of the filesystem (an estimate for NTFS).
_df_free() {
    case $1 in
    ext4)
        dumpe2fs -h "$2" 2>/dev/null | awk -F: '/^Free blocks:/ { f = $2 } /^Block size:/ { b = $2 }
            END { printf "%d\n", f * b }' ;;
    vfat)
        mdir -i "$2" :: 2>/dev/null | awk '/bytes free/ { gsub(/[^0-9]/, "", $0); print; exit }' ;;
    ntfs)
        ntfsresize -i -f "$2" 2>/dev/null | awk '/Current volume size:/ { v = $4 }
            /Space in use/ { u = $5 * 1000000 } END { printf "%d\n", v - u }' ;;
    esac
}

# _df_put TYPE IMG FILE NAME / _df_del TYPE IMG NAME: one junk file in, out.
_df_put() {
    case $1 in
    ext4) debugfs -w -R "write $3 $4" "$2" >/dev/null 2>&1 ;;
    vfat) mcopy -i "$2" "$3" "::/$4" ;;
    ntfs) ntfscp -q "$2" "$3" "$4" >/dev/null 2>&1 ;;
    esac
}
_df_del() {
    local ino
    case $1 in
    ext4) debugfs -w -R "rm $3" "$2" >/dev/null 2>&1 ;;
    vfat) mdel -i "$2" "::/$3" ;;
    ntfs)
        ino=$(ntfsinfo -F "$3" "$2" 2>/dev/null | sed -n 's/^Dumping Inode \([0-9]*\).*/\1/p')
        [ -n "$ino" ] && ntfstruncate -f "$2" "$ino" 0x80 0 >/dev/null 2>&1 ;;
    esac
}

# dirty_fs TYPE IMG PCT: the free space of one filesystem image.
dirty_fs() {
    local type=$1 img=$2 pct=$3 free want n=0 chunk junk=$WORK/dirtyfree.junk
    free=$(_df_free "$type" "$img")
    # 8% left for the filesystem's own metadata (extent trees, FAT chains,
    # MFT runs): a copy that does not fit would fail half-way.
    want=$(( free / 100 * pct / 100 * 92 ))
    while [ "$want" -ge 1048576 ]; do
        chunk=$(( want < 64 << 20 ? want : 64 << 20 ))
        head -c "$chunk" /dev/urandom >"$junk"
        _df_put "$type" "$img" "$junk" "junk$n.bin" || break
        n=$((n + 1))
        want=$((want - chunk))
    done
    rm -f "$junk"
    while [ "$n" -gt 0 ]; do
        n=$((n - 1))
        _df_del "$type" "$img" "junk$n.bin"
    done
    case $type in
    ext4) e2fsck -fn "$img" >/dev/null 2>&1 ;;
    vfat) fsck.vfat -n "$img" >/dev/null 2>&1 ;;
    ntfs) ntfsfix -n "$img" >/dev/null 2>&1 ;;
    esac || { echo "dirty_free: $type filesystem damaged" >&2; return 1; }
}

dirty_free() {
    local disk=$1 pct=${2:-100} ss start size type part=$WORK/dirtyfree.part
    ss=$(sfdisk --json "$disk" | jq -r '.partitiontable.sectorsize // 512')
    while read -r start size; do
        dd if="$disk" of="$part" bs="$ss" skip="$start" count="$size" status=none
        type=$(blkid -p -o value -s TYPE "$part" 2>/dev/null || true)
        case $type in
        ext4 | vfat | ntfs)
            dirty_fs "$type" "$part" "$pct" || { rm -f "$part"; return 1; }
            dd if="$part" of="$disk" bs="$ss" seek="$start" conv=notrunc status=none ;;
        esac
    done < <(sfdisk --json "$disk" | jq -r '.partitiontable.partitions[] | "\(.start) \(.size)"')
    rm -f "$part"
}
