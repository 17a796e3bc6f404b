#!/bin/bash
# Bad sectors in a partition that is resized (issue 24 item 9): the NTFS
# partition of bad_sectors.sh's old disk, served through faultfs with bad
# sectors inside two files and in free space, grown to 48 MiB and shrunk to
# 12 MiB (the files' clusters move below the new end, so the image holds
# them elsewhere than the source). Whatever view the copy reads through
# (window, copy-on-write overlay, remapped moves), the messages and the map
# name the source disk and its own sectors, as a plain copy does:
#   --bad-sectors fail: "DISK: unreadable sectors ...: <source sectors>"
#   --bad-sectors zero: "sector <source sector>: data lost in FILE", the
#     map's comments name the source sectors, its '-' runs are the image
#     sectors that hold zeros, and each damaged file read back from the
#     image (ntfscat) is the source's with exactly the bad sector zeroed.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/baddisk.sh"
baddisk_setup

# --- fail (the default): it stops at the first block read that has bad
need ntfsfix
serve "$s_thesis" "$((s_photo + 1))" "$s_free"

# file_check IMG NAME PATH SRCFILE REC: PATH in the image's partition 1
# equals SRCFILE except the 512 bytes of the record REC (its byte offset),
# which the bad sector held: zeros there.
file_check() {
    local img=$1 name=$2 path=$3 srcfile=$4 rec=$5 start size
    start=$(sfdisk --json "$img" | jq '.partitiontable.partitions[0].start')
    size=$(sfdisk --json "$img" | jq '.partitiontable.partitions[0].size')
    dd if="$img" of="$name.part" bs=512 skip="$start" count="$size" status=none
    ntfsfix -n "$name.part" >/dev/null 2>&1 || fail "$name: ntfsfix -n"
    ntfscat "$name.part" "$path" >"$name.got" || fail "$name: ntfscat $path"
    python3 - "$name.got" "$srcfile" "$rec" <<'PY' || fail "$name: $path is not the source's with one sector zeroed"
import sys
got, src, rec = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3])
assert len(got) == len(src), (len(got), len(src))
# the bad sector holds the record at rec; it starts on a sector boundary of the disk
z = [i for i in range(0, len(got), 512) if got[i:i + 512] == bytes(512)]
assert len(z) == 1, z
a = z[0]
assert a <= rec < a + 512, (a, rec)
assert got[:a] == src[:a] and got[a + 512:] == src[a + 512:]
PY
    rm -f "$name.part" "$name.got"
}

for spec in 48M 12M; do
    # --- fail: the source disk and its sectors, nothing written ---
    expect_exit 1 "$P2V" convert -O raw --copy all -o fail.raw "$src:1=$spec"
    grep -q "^p2v: $src:1: $src: unreadable sectors (512 bytes each): $s_thesis, $((s_photo + 1)); --bad-sectors zero copies around them$" "$WORK/last.err" ||
        { cat "$WORK/last.err"; fail "=$spec: the error does not name the source disk's sectors"; }
    [ ! -e fail.raw ] && [ ! -e fail.raw.badmap ] || fail "=$spec: a failed run left files"
    pass "=$spec, --bad-sectors fail: $src, sectors $s_thesis, $((s_photo + 1))"

    # --- zero: the source's sectors in the messages and the map's comments ---
    expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o zero.raw "$src:1=$spec"
    echo "----- =$spec"; cat "$WORK/last.err"; cat zero.raw.badmap
    grep -q "$src:1: sector $s_thesis: data lost in /Users/ann/thesis.docx$" "$WORK/last.err" ||
        fail "=$spec: thesis not named with source sector $s_thesis"
    grep -q "$src:1: sector $((s_photo + 1)): data lost in /photo.jpg$" "$WORK/last.err" ||
        fail "=$spec: photo not named with source sector $((s_photo + 1))"
    grep -q "^# $src:1: $src sector $s_thesis (512 bytes each) at image byte" zero.raw.badmap ||
        fail "=$spec: the map's comment does not name source sector $s_thesis"
    grep -q "^# $src:1: $src sector $((s_photo + 1)) (512 bytes each) at image byte" zero.raw.badmap ||
        fail "=$spec: the map's comment does not name source sector $((s_photo + 1))"
    ! grep -q "@" "$WORK/last.err" zero.raw.badmap || fail "=$spec: an internal view is named"
    # the map's bad image sectors hold zeros and are where the files' records went
    for s in $(ddrescuelog -b512 -l- zero.raw.badmap); do
        cmp -s <(dd if=zero.raw bs=512 skip="$s" count=1 status=none) <(head -c 512 /dev/zero) ||
            fail "=$spec: image sector $s of the map is not zeros"
    done
    check_eq "=$spec: bad sectors in the map" 2 "$(ddrescuelog -b512 -l- zero.raw.badmap | wc -l)"
    file_check zero.raw "z$spec" Users/ann/thesis.docx thesis.docx 65536
    file_check zero.raw "z$spec" photo.jpg photo.jpg $((131072 + 512))  # s_photo + 1
    pass "=$spec, --bad-sectors zero: source sectors named, map and files exact"
    rm -f zero.raw zero.raw.badmap
done
