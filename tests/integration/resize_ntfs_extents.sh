#!/bin/bash
# NTFS shrinks where a runlist outgrows its MFT record (issue 24 item 3):
# a file lying contiguous beyond the new end while the free
# space below it is holes of one cluster (every other small file deleted)
# must become hundreds of runs, more than its record holds. p2v refused
# with "MFT record N (attribute type 0x..) has no room for the runlist of
# its moved clusters" where ntfsresize succeeds; now, as ntfsresize does,
# the runlist continues in an extension record listed in an
# $ATTRIBUTE_LIST, created or extended. Cases:
#   new     a 20 MiB file with no attribute list: one is created;
#   links   the same file with eight long hard links, so it already has an
#           attribute list and extension records: the list is extended;
# Each volume is shrunk to the minimum `ntfsresize --info` names ("You might
# resize at"), where ntfsresize itself can fail for want of a free cluster
# for $MFT's growth; that ntfsresize reaches a size within 4 MiB of it on a
# copy is checked, so these are shrinks it does; and judged as
# resize_ntfs_frag_min.sh does (ntfsfix -n, boot sectors, ntfsinfo,
# ntfscluster, every file's sha256 through an ntfs-3g mount; the user data
# the source's plus an attribute list's cluster where the list became
# non-resident, as in ntfsresize's own result), and ntfsinfo shows the
# attribute in more records than in the source, with an $ATTRIBUTE_LIST.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
ntfs_mount_setup

# fill PART KIND SMAX: 6,000 small files of up to SMAX bytes, then the large
# file (allocated after them, so contiguous), then every other small file
# deleted.
fill() {
    ntfs_fill "$1" "$2" "$3" <<'PY'
import os, sys
kind, smax = sys.argv[1], int(sys.argv[2])
os.makedirs("mnt/s")
for i in range(1, 6001):
    with open("mnt/s/f%d" % i, "wb") as f:
        f.write(os.urandom(1 + (i * 7919) % smax))
with open("mnt/big", "wb") as f:
    f.write(os.urandom(20 << 20))
if kind == "links":
    for k in range(8):
        os.link("mnt/big", "mnt/" + ("link%02d-" % k) * 20)
for i in range(2, 6001, 2):
    os.remove("mnt/s/f%d" % i)
PY
}

# records PART PATH TYPE: how many MFT records hold attribute TYPE of PATH.
records() {
    ntfsinfo -F "$2" "$1" 2>/dev/null | grep "^Dumping attribute $3 " |
        sed 's/.*from mft record \([0-9]*\).*/\1/' | sort -u | wc -l
}

# info_min PART: the minimum ntfsresize --info names.
info_min() {
    ntfsresize --info --no-action -f "$1" 2>&1 |
        sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p'
}

# smallest PART: the smallest size (from ntfsresize's own minimum, in 1 MiB
# steps) that ntfsresize shrinks a copy of PART to (exit 0). (ntfs-3g
# 2022.10.3's ntfsresize exits 0 on the "links" volume with /big unreadable
# afterwards; only its size is taken from it.)
smallest() {
    local s k
    s=$(info_min "$1")
    [ -n "$s" ] || fail "$1: ntfsresize --info names no minimum"
    for k in 0 1 2 3 4; do
        cp --sparse=always "$1" try.part
        if ntfsresize -f -f -s "$s" try.part >try.log 2>&1 </dev/null; then
            rm -f try.part try.log
            echo "$s"
            return
        fi
        s=$((s + 1048576))
    done
    cat try.log >&2
    fail "$1: ntfsresize reaches no size up to 4 MiB above its minimum"
}

# list_clusters PART PATH: clusters of PATH's $ATTRIBUTE_LIST when it is
# non-resident (libntfs-3g, for ntfsresize as for p2v, moves a list out of
# its record; ntfscluster counts it as user data), else 0.
list_clusters() {
    ntfsinfo -v -F "$2" "$1" 2>/dev/null | awk '
        /^Dumping attribute \$ATTRIBUTE_LIST/ { inl = 1; next }
        /^Dumping attribute/ { inl = 0 }
        inl && /Allocated size:/ { a += $3 }
        END { print a / 4096 }'
}

# volume NAME KIND PATH TYPE MIB SMAX
volume() {
    local name=$1 size nr_size user before after src_cl
    truncate -s "$5M" "$name.part"
    mkntfs -q -F -Q -c 4096 -p 2048 -H 255 -S 63 "$name.part" >/dev/null 2>&1
    fill "$name.part" "$2" "$6"
    truncate -s $(($5 + 2))M "$name.img"
    echo "start=2048, size=$(($5 * 2048)), type=7" | sfdisk -q "$name.img"
    dd if="$name.part" of="$name.img" bs=1M seek=1 conv=notrunc,sparse status=none
    size=$(info_min "$name.part")
    nr_size=$(smallest "$name.part")
    before=$(records "$name.part" "$3" "$4")
    expect_exit 0 "$P2V" convert -O raw -o "$name.raw" "$name.img:1=$size"
    # the user data of the source, and the clusters of an attribute list
    # that the shrink made non-resident
    src_cl=$(ntfscluster --info "$name.part" 2>/dev/null |
        sed -n 's/^clusters of user data *: *\([0-9]*\).*/\1/p')
    dd if="$name.raw" of="$name.probe" bs=1M skip=1 status=none
    user=$((src_cl + $(list_clusters "$name.probe" "$3") - $(list_clusters "$name.part" "$3")))
    rm -f "$name.probe"
    ntfs_fit_check "$name" "$name.raw" 1 "$name.part" "$user"
    after=$(records "$name.out" "$3" "$4")
    [ "$after" -gt "$before" ] ||
        fail "$name: $3 $4 in $after MFT records after the shrink, $before before: no extension record was added"
    ntfsinfo -F "$3" "$name.out" >"$name.info" 2>/dev/null || fail "$name: ntfsinfo -F $3"
    grep -q '^Dumping attribute \$ATTRIBUTE_LIST' "$name.info" ||
        fail "$name: $3 has no \$ATTRIBUTE_LIST after the shrink"
    ntfs-3g -o ro "$name.out" mnt
    (cd mnt && sha256sum --quiet -c "$WORK/$name.sums") || { umount mnt; fail "$name: files differ"; }
    umount mnt
    pass "$name: shrunk to $size bytes (ntfsresize --info's minimum; ntfsresize itself reaches $nr_size), $4 of $3 in $before -> $after records, $(wc -l <"$name.sums") files equal"
    rm -f "$name".*
}

volume new new /big '$DATA' 64 6000
volume links links /big '$DATA' 64 6000
