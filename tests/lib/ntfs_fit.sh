# Judging an NTFS volume that p2v fitted to a new size with ntfs-3g's own
# tools. Source it after common.sh.
#
#   need_ntfs3g_mount DIR                   skip (77) unless ntfs-3g mounts here
#   ntfs_mount_setup [TOOL...]              the tools, $WORK and its mnt/ of the
#                                           tests that fill volumes through ntfs-3g
#   ntfs_fill PART [ARG...] <<PROGRAM       fill PART through mnt/ with a Python
#                                           program; PART's .sums; PART clean
#   ntfs_le FILE OFFSET LEN                 a little-endian number from FILE
#   ntfs_tools_check NAME PART SRC CLUSTERS
#       ntfsinfo -m: CLUSTERS clusters, $MFT and $MFTMirr where the boot
#       sector says and inside the volume; ntfscluster --info: CLUSTERS
#       clusters in its bytes per volume, free + metadata + user data = CLUSTERS (the
#       $Bitmap agrees with every file's runlist), user data = the source's
#       (or USER when given: a shrink that adds a non-resident attribute
#       list, as ntfsresize does too, counts its clusters as user data)

# need_ntfs3g_mount DIR: skip the test (77) unless ntfs-3g can mount a
# volume here (FUSE) on DIR, which then is a tracked mount point.
need_ntfs3g_mount() {
    truncate -s 8M probe.part
    mkntfs -q -F -Q probe.part >/dev/null 2>&1
    if ! ntfs-3g probe.part "$1" 2>/dev/null; then
        echo "SKIP: ntfs-3g cannot mount here (no FUSE)" >&2
        exit 77
    fi
    track_mount "$WORK/$1"
    umount "$1"
}

# ntfs_mount_setup [TOOL...]: skip unless the tools of the tests that fill
# and read their volumes through an ntfs-3g mount (and TOOL...) are here and
# that mount works (FUSE); then in $WORK, with the mount point mnt/.
ntfs_mount_setup() {
    need sfdisk jq mkntfs ntfs-3g ntfsfix ntfsresize ntfsinfo ntfscluster python3 sha256sum "$@"
    cd "$WORK"
    mkdir -p mnt
    need_ntfs3g_mount mnt
}

# ntfs_fill PART [ARG...] <<PROGRAM: the NTFS volume in the file PART
# mounted on mnt (ntfs-3g), filled by the Python PROGRAM (stdin, run here
# with ARG...); then NAME.sums for PART NAME.part: the sha256 of every file,
# to check copies against; the volume must be clean (ntfsfix -n).
ntfs_fill() {
    local part=$1
    shift
    ntfs-3g "$part" mnt
    python3 - "$@"
    (cd mnt && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"${part%.part}.sums"
    umount mnt
    ntfsfix -n "$part" >/dev/null 2>&1 || fail "$part: the source volume is not clean"
}

ntfs_le() {
    python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(int.from_bytes(f.read(int(sys.argv[3])),"little"))' "$1" "$2" "$3"
}

# _ntfs_field TEXT LABEL: the number after "LABEL" and a colon.
_ntfs_field() {
    sed -n "s/^[[:space:]]*$2[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p" <<<"$1" | head -1
}

ntfs_tools_check() {
    local name=$1 part=$2 src=$3 want=$4 want_user=${5:-} info cl src_cl mft mirr
    info=$(ntfsinfo -m "$part" 2>/dev/null) || fail "$name: ntfsinfo -m failed"
    check_eq "$name: ntfsinfo clusters" "$want" "$(_ntfs_field "$info" "Volume Size in Clusters")"
    mft=$(_ntfs_field "$info" "LCN of Data Attribute for FILE_MFT")
    mirr=$(_ntfs_field "$info" "LCN of Data Attribute for File_MFTMirr")
    check_eq "$name: \$MFT LCN (ntfsinfo, boot sector)" "$(ntfs_le "$part" 48 8)" "$mft"
    check_eq "$name: \$MFTMirr LCN (ntfsinfo, boot sector)" "$(ntfs_le "$part" 56 8)" "$mirr"
    [ "$mft" -lt "$want" ] && [ "$mirr" -lt "$want" ] ||
        fail "$name: \$MFT ($mft) or \$MFTMirr ($mirr) outside the $want clusters"
    cl=$(ntfscluster --info "$part" 2>/dev/null) || fail "$name: ntfscluster --info failed"
    src_cl=$(ntfscluster --info "$src" 2>/dev/null) || fail "$name: ntfscluster --info of the source"
    local total free meta user
    # Its "sectors/clusters per volume" lines divide by the sectors per
    # cluster once too often (ntfs-3g 2022.10): count from the bytes.
    total=$(( $(_ntfs_field "$cl" "bytes per volume") / $(_ntfs_field "$cl" "bytes per cluster") ))
    free=$(_ntfs_field "$cl" "clusters of free space")
    meta=$(_ntfs_field "$cl" "clusters of metadata")
    user=$(_ntfs_field "$cl" "clusters of user data")
    check_eq "$name: ntfscluster bytes per volume / cluster" "$want" "$total"
    check_eq "$name: free + metadata + user data (ntfscluster)" "$total" $((free + meta + user))
    if [ -n "$want_user" ]; then
        check_eq "$name: user data clusters (ntfscluster, as given)" "$want_user" "$user"
    else
        check_eq "$name: user data clusters (ntfscluster, source)" "$(_ntfs_field "$src_cl" "clusters of user data")" "$user"
    fi
}

# ntfs_fit_check NAME RAW NUM SRC [USER]: partition NUM of the raw image RAW holds
# the volume SRC (a partition image) fitted to the partition: ntfsfix -n
# clean; total sectors = the partition's less one, the backup boot sector in
# its last sector, hidden sectors = its start; ntfsresize --info: the volume
# fills it, used space as the source's within the $Bitmap's own growth;
# ntfs_tools_check. Leaves the partition in $NAME.out.
ntfs_fit_check() {
    local name=$1 raw=$2 num=$3 src=$4 user=${5:-} start size bps spc cs info got_used src_used
    start=$(sfdisk --json "$raw" | jq ".partitiontable.partitions[$((num - 1))].start")
    size=$(sfdisk --json "$raw" | jq ".partitiontable.partitions[$((num - 1))].size")
    dd if="$raw" of="$name.out" bs=64K iflag=skip_bytes,count_bytes skip=$((start * 512)) \
        count=$((size * 512)) conv=sparse status=none
    ntfsfix -n "$name.out" >"$name.fix" 2>&1 || { cat "$name.fix" >&2; fail "$name: ntfsfix -n"; }
    ! grep -qiE 'bad|corrupt|error' "$name.fix" || { cat "$name.fix" >&2; fail "$name: ntfsfix -n complains"; }
    check_eq "$name: total sectors" $((size - 1)) "$(ntfs_le "$name.out" 40 8)"
    check_eq "$name: hidden sectors" "$start" "$(ntfs_le "$name.out" 28 4)"
    cmp -s <(dd if="$name.out" bs=512 count=1 status=none) \
        <(dd if="$name.out" bs=512 skip=$((size - 1)) count=1 status=none) ||
        fail "$name: the backup boot sector differs from the primary"
    bps=$(ntfs_le "$name.out" 11 2)
    spc=$(ntfs_le "$name.out" 13 1)
    cs=$((bps * spc))
    info=$(ntfsresize --info --no-action -f "$name.out" 2>&1 || true)
    grep -q "Current volume size: $(( (size - 1) / spc * cs + 512 )) bytes" <<<"$info" ||
        fail "$name: ntfsresize --info volume size: $(grep Current <<<"$info")"
    got_used=$(sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p' <<<"$info")
    src_used=$(ntfsresize --info --no-action -f "$src" 2>&1 | sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
    [ -n "$got_used" ] && [ "$got_used" -le $((src_used + 65536 + size * 512 / 4096)) ] &&
        [ "$got_used" -ge $((src_used - 65536 - src_used / 64)) ] ||
        fail "$name: ntfsresize --info says $got_used bytes used, the source $src_used"
    ntfs_tools_check "$name" "$name.out" "$src" $(( (size - 1) / spc )) "$user"
}
