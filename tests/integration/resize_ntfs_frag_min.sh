#!/bin/bash
# Fragmented NTFS volumes shrunk to ntfsresize's own minimum (issue 24 item
# 3: p2v once refused with "MFT record N ... has no room for the runlist of
# its moved clusters" where ntfsresize succeeds). Each volume, filled
# through ntfs-3g: many small files with every other one deleted, then large
# files into the holes, and directories of many entries (multi-cluster
# $INDEX_ALLOCATION); $LogFile and $MFTMirr lie mid-volume where mkntfs puts
# them. Each is shrunk with DISK:1=SIZE to the size `ntfsresize --info`
# names ("You might resize at ...") and judged: ntfsfix -n clean, boot
# sectors and ntfsresize --info right, ntfsinfo -m and ntfscluster --info
# agreeing (tests/lib/ntfs_fit.sh), every file's sha256 equal, read back
# through an ntfs-3g mount.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
ntfs_mount_setup

# fill PART NSMALL SMALLMAX NDIRS NENTRIES: NSMALL files of up to SMALLMAX
# bytes, every other one deleted; NDIRS directories of NENTRIES entries,
# made among them; then large files filling three quarters of what is free.
fill() {
    ntfs_fill "$1" "$2" "$3" "$4" "$5" <<'PY'
import os, sys
n, smax, ndirs, nent = (int(x) for x in sys.argv[1:5])
os.makedirs("mnt/s")
for i in range(1, n + 1):
    with open("mnt/s/f%d" % i, "wb") as f:
        f.write(os.urandom(1 + (i * 7919) % smax))
    if ndirs and i % (n // ndirs or 1) == 0 and i // (n // ndirs or 1) <= ndirs:
        d = "mnt/dir%d" % (i // (n // ndirs or 1))
        os.makedirs(d)
        for k in range(nent):
            with open("%s/entry-with-a-longish-name-%05d" % (d, k), "wb") as f:
                f.write(os.urandom(k % 600))
for i in range(2, n + 1, 2):
    os.remove("mnt/s/f%d" % i)
st = os.statvfs("mnt")
free = st.f_bavail * st.f_frsize * 3 // 4
k = 0
while free > 0:
    sz = min(free, 3 << 20)
    with open("mnt/big%d" % k, "wb") as f:
        f.write(os.urandom(sz))
    free -= sz
    k += 1
PY
}

# volume NAME MIB CLUSTER NSMALL SMALLMAX NDIRS NENTRIES
volume() {
    local name=$1 mib=$2 used tag
    truncate -s "${mib}M" "$name.part"
    mkntfs -q -F -Q -c "$3" -p 2048 -H 255 -S 63 "$name.part" >/dev/null 2>&1
    fill "$name.part" "$4" "$5" "$6" "$7"
    truncate -s $((mib + 2))M "$name.img"
    echo "start=2048, size=$((mib * 2048)), type=7" | sfdisk -q "$name.img"
    dd if="$name.part" of="$name.img" bs=1M seek=1 conv=notrunc,sparse status=none
    used=$(ntfsresize --info --no-action -f "$name.part" 2>&1 |
        sed -n 's/^You might resize at \([0-9]*\) bytes.*/\1/p')
    [ -n "$used" ] || fail "$name: ntfsresize --info names no minimum"
    # ntfsresize itself can shrink a copy to it
    cp --sparse=always "$name.part" "$name.try"
    ntfsresize -f -f -s "$used" "$name.try" >"$name.nr" 2>&1 </dev/null ||
        { cat "$name.nr" >&2; fail "$name: ntfsresize -s $used fails on a copy"; }
    rm -f "$name.try"
    tag="$name-min"
    expect_exit 0 "$P2V" convert -O raw -o "$tag.raw" "$name.img:1=$used"
    ntfs_fit_check "$tag" "$tag.raw" 1 "$name.part"
    ntfs-3g -o ro "$tag.out" mnt
    (cd mnt && sha256sum --quiet -c "$WORK/$name.sums") || { umount mnt; fail "$tag: files differ"; }
    umount mnt
    pass "$name: shrunk to ntfsresize's minimum, $used bytes, $(wc -l <"$name.sums") files equal"
    rm -f "$name".* "$tag".*
}

volume f512 24 512 1500 3000 2 400
volume f4k 48 4096 2500 9000 3 700
volume f1k 32 1024 3000 2000 4 300
volume f4kdirs 40 4096 600 20000 8 900
