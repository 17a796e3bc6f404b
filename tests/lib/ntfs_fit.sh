# Judging an NTFS volume that p2v fitted to a new size with ntfs-3g's own
# tools. Source it after common.sh.
#
#   ntfs_le FILE OFFSET LEN                 a little-endian number from FILE
#   ntfs_tools_check NAME PART SRC CLUSTERS
#       ntfsinfo -m: CLUSTERS clusters, $MFT and $MFTMirr where the boot
#       sector says and inside the volume; ntfscluster --info: CLUSTERS
#       clusters in its bytes per volume, free + metadata + user data = CLUSTERS (the
#       $Bitmap agrees with every file's runlist), user data = the source's

ntfs_le() {
    python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(int.from_bytes(f.read(int(sys.argv[3])),"little"))' "$1" "$2" "$3"
}

# _ntfs_field TEXT LABEL: the number after "LABEL" and a colon.
_ntfs_field() {
    sed -n "s/^[[:space:]]*$2[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p" <<<"$1" | head -1
}

ntfs_tools_check() {
    local name=$1 part=$2 src=$3 want=$4 info cl src_cl mft mirr
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
    check_eq "$name: user data clusters (ntfscluster, source)" "$(_ntfs_field "$src_cl" "clusters of user data")" "$user"
}
