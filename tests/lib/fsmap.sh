# Helpers for the used-block copy tests: filesystem images written over
# random "deleted" data, with files put in, some deleted again, and for each
# one a region of free space that held random data before.
# Source after common.sh; needs $WORK.
#
#   fsm_make TYPE IMG MIB LABEL   TYPE: ntfs fat32 fat16 ext4 ext4nj ext2 swap
#       files go to $WORK/files.LABEL; the freed region ("START LEN" in bytes,
#       relative to the filesystem start) to $WORK/freed.LABEL.

# fsm_files DIR: random files (1 KiB .. 600 KiB) in DIR and DIR/sub.
fsm_files() {
    local dir=$1 i
    mkdir -p "$dir/sub"
    for i in 1 2 3 4 5 6; do
        head -c $(( (RANDOM % 600 + 1) * 1024 )) /dev/urandom >"$dir/f$i.bin"
    done
    head -c $(( (RANDOM % 300 + 1) * 1024 )) /dev/urandom >"$dir/sub/s1.bin"
    head -c 777 /dev/urandom >"$dir/sub/small.bin"
}

# fsm_nonzero FILE START LEN: how many non-zero bytes in that range.
fsm_nonzero() {
    python3 - "$@" <<'PY'
import sys
f, start, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f, 'rb') as h:
    h.seek(start)
    d = h.read(length)
print(len(d) - d.count(0) + (length - len(d)))
PY
}

# fsm_ntfs_free_run IMG: "START LEN" of the longest run of free clusters, from
# $Bitmap as ntfscat reads it (ntfs-3g's own code, not p2v's).
fsm_ntfs_free_run() {
    local img=$1 cs
    cs=$(ntfsinfo -m "$img" 2>/dev/null | sed -n 's/.*Cluster Size: *//p')
    ntfscat -i 6 "$img" >"$WORK/bitmap.bin"
    python3 - "$WORK/bitmap.bin" "$cs" "$(ntfsinfo -m "$img" 2>/dev/null | sed -n 's/.*Volume Size in Clusters: *//p')" <<'PY'
import sys
bm = open(sys.argv[1], 'rb').read(); cs = int(sys.argv[2]); n = int(sys.argv[3])
best = (0, 0); start = None
for c in range(n + 1):
    used = c == n or (bm[c // 8] >> (c % 8)) & 1
    if not used and start is None: start = c
    if used and start is not None:
        if c - start > best[1]: best = (start, c - start)
        start = None
print(best[0] * cs, best[1] * cs)
PY
}

fsm_make() {
    local type=$1 img=$2 mib=$3 label=$4 dir=$WORK/files.$4 f blocks bs chain cs data
    rm -rf "$dir"
    fsm_files "$dir"
    # What deleted files leave behind: random bytes everywhere before mkfs.
    head -c "${mib}M" /dev/urandom >"$img"
    case $type in
    ntfs)
        mkntfs -q -F -Q -L "$label" "$img" >/dev/null 2>&1
        for f in "$dir"/*.bin; do ntfscp -q "$img" "$f" "$(basename "$f")" >/dev/null; done
        # ntfs-3g has no offline delete: the freed region is the longest run
        # of free clusters, full of the random bytes written before mkfs.
        rm -rf "$dir/sub"
        fsm_ntfs_free_run "$img" >"$WORK/freed.$label"
        ;;
    fat32|fat16)
        if [ "$type" = fat32 ]; then mkfs.vfat -F 32 -s 1 -n "$label" "$img" >/dev/null
        else mkfs.vfat -F 16 -n "$label" "$img" >/dev/null; fi
        mcopy -s -i "$img" "$dir"/* ::/
        # Delete f2: its clusters (from mshowfat) become free, data left behind.
        chain=$(mshowfat -i "$img" ::/f2.bin | sed 's/.*<//; s/>.*//')
        mdel -i "$img" ::/f2.bin
        rm "$dir/f2.bin"
        cs=$(fsck.vfat -n -v "$img" | sed -n 's/^ *\([0-9]*\) bytes per cluster.*/\1/p')
        data=$(fsck.vfat -n -v "$img" | sed -n 's/^Data area starts at byte \([0-9]*\).*/\1/p')
        # First run of the chain: "a-b" or "a".
        local first=${chain%% *} a b
        a=${first%-*}; b=${first#*-}
        echo "$(( data + (a - 2) * cs )) $(( (b - a + 1) * cs ))" >"$WORK/freed.$label"
        ;;
    ext4|ext4nj|ext2)
        case $type in
        ext4) mkfs.ext4 -q -F -E nodiscard -L "$label" -d "$dir" "$img" ;;
        ext4nj) mkfs.ext4 -q -F -E nodiscard -O ^has_journal -L "$label" -d "$dir" "$img" ;;
        ext2) mkfs.ext2 -q -F -E nodiscard -b 1024 -L "$label" -d "$dir" "$img" ;;
        esac
        bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
        blocks=$(debugfs -R "blocks /f2.bin" "$img" 2>/dev/null)
        debugfs -w -R "rm /f2.bin" "$img" >/dev/null 2>&1
        rm "$dir/f2.bin"
        # The first block of the deleted file and those contiguous with it.
        python3 - "$bs" $blocks >"$WORK/freed.$label" <<'PY'
import sys
bs = int(sys.argv[1]); b = [int(x) for x in sys.argv[2:]]
n = 1
while n < len(b) and b[n] == b[0] + n: n += 1
print(b[0] * bs, n * bs)
PY
        ;;
    swap)
        mkswap -L "$label" "$img" >/dev/null 2>&1
        rm -rf "$dir"; mkdir -p "$dir"
        echo "$(( 1024 * 1024 )) $(( (mib - 1) * 1024 * 1024 ))" >"$WORK/freed.$label"
        ;;
    esac
}

# fsm_fsck TYPE PARTIMG: the filesystem's own checker must find it clean.
fsm_fsck() {
    case $1 in
    ntfs) ntfsfix -n "$2" >"$WORK/fsck.out" 2>&1 && ! grep -qiE 'bad|error|corrupt' "$WORK/fsck.out" ;;
    fat32|fat16) fsck.vfat -n "$2" >"$WORK/fsck.out" 2>&1 ;;
    ext4|ext4nj|ext2) e2fsck -fn "$2" >"$WORK/fsck.out" 2>&1 ;;
    swap) blkid -p "$2" >"$WORK/fsck.out" 2>&1 && grep -q 'TYPE="swap"' "$WORK/fsck.out" ;;
    esac || { cat "$WORK/fsck.out" >&2; return 1; }
}

# fsm_check_files TYPE PARTIMG DIR: every file of DIR (and DIR/sub) identical.
fsm_check_files() {
    local type=$1 img=$2 dir=$3 f rel want got n=0
    while IFS= read -r f; do
        rel=${f#"$dir"/}
        want=$(sha256sum <"$f" | cut -d' ' -f1)
        case $type in
        ntfs) got=$(ntfscat "$img" "$rel" | sha256sum | cut -d' ' -f1) ;;
        fat32|fat16) got=$(mtype -i "$img" "::/$rel" | sha256sum | cut -d' ' -f1) ;;
        ext4|ext4nj|ext2) got=$(debugfs -R "cat /$rel" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1) ;;
        esac
        [ "$want" = "$got" ] || { echo "FAIL: $type $img: $rel differs" >&2; return 1; }
        n=$((n + 1))
    done < <(find "$dir" -type f)
    echo "$n"
}

# fsm_ntfs_break_bitmap_runs IMG: point $Bitmap's first data run at a
# zero-filled cluster near the end of the volume (a damaged run list).
fsm_ntfs_break_bitmap_runs() {
    python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
bs = f.read(512)
cs = struct.unpack_from('<H', bs, 11)[0] * bs[13]
nclus = struct.unpack_from('<Q', bs, 0x28)[0] * struct.unpack_from('<H', bs, 11)[0] // cs
rec = struct.unpack_from('<Q', bs, 0x30)[0] * cs + 6 * 1024
f.seek(rec); r = bytearray(f.read(1024))
o = struct.unpack_from('<H', r, 0x14)[0]
while struct.unpack_from('<I', r, o)[0] != 0x80:
    o += struct.unpack_from('<I', r, o + 4)[0]
mp = o + struct.unpack_from('<H', r, o + 0x20)[0]
lenb, lcnb = r[mp] & 15, r[mp] >> 4
lcn = nclus - 8
f.seek(lcn * cs); f.write(bytes(cs))
r[mp + 1 + lenb: mp + 1 + lenb + lcnb] = lcn.to_bytes(8, 'little')[:lcnb]
f.seek(rec + mp); f.write(r[mp:mp + 1 + lenb + lcnb])
PY
}

# fsm_ntfs_hibernate IMG: a hiberfil.sys in use, as Fast Startup leaves it.
fsm_ntfs_hibernate() {
    printf 'HIBR%04092d' 0 >"$WORK/hib"
    ntfscp -q "$1" "$WORK/hib" hiberfil.sys >/dev/null
}

# fsm_fat32_bad_entry IMG: FAT entry 10 points far outside the volume.
fsm_fat32_bad_entry() {
    python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
bs = f.read(512)
fat = struct.unpack_from('<H', bs, 14)[0] * struct.unpack_from('<H', bs, 11)[0]
f.seek(fat + 10 * 4); f.write(struct.pack('<I', 0x0FFFFF00))
PY
}

# fsm_ext_bad_gd_csum IMG: a byte of group descriptor 0 (bg_free_blocks_count)
# changed, its checksum not updated. The descriptors follow the superblock's block.
fsm_ext_bad_gd_csum() {
    python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
f.seek(1024); sb = f.read(1024)
bs = 1024 << struct.unpack_from('<I', sb, 24)[0]
first = struct.unpack_from('<I', sb, 20)[0]
off = (first + 1) * bs + 12
f.seek(off); b = f.read(1)[0]
f.seek(off); f.write(bytes([b ^ 0x5A]))
PY
}
