# Helpers for the VHD/VHDX/VMDK source tests (tests/integration/vdisk_*.sh).
# Source after common.sh and sample_disks.sh.

# vdisk_setup [WRITER]: skip unless the tools are here; in $WORK, raw (the
# sample GPT disk, $WORK/gpt.img) and mk (tests/lib/WRITER, the Python
# writer of the format's files qemu-img cannot make).
vdisk_setup() {
    need qemu-img jq sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 python3
    cd "$WORK"
    raw=$WORK/gpt.img
    make_sample_gpt "$raw"
    mk=$P2V_SRC/tests/lib/${1:-}
}

# vdisk_chain EXT BASE BASERAW: with $mk, child.EXT over BASE (whose sectors
# are BASERAW) and grand.EXT over the child (relative locator); both read as
# their expected raw disks, and img map of grand.EXT sees the three layers
# (its JSON left in $WORK/last.out).
vdisk_chain() {
    local ext=$1 img
    python3 "$mk" diff "$2" "$3" "child.$ext" child.raw --seed 1
    python3 "$mk" diff "child.$ext" child.raw "grand.$ext" grand.raw --seed 2 --locator rel
    for img in child grand; do
        expect_exit 0 "$P2V" img compare "$img.$ext" "$img.raw"
        grep -qx "Images are identical." "$WORK/last.out" || fail "$img.$ext: $(cat "$WORK/last.out")"
    done
    expect_exit 0 "$P2V" img map --output=json "grand.$ext"
    check_eq "layers seen by img map of grand.$ext" "0 1 2" "$(jq -r '[.[].depth] | unique | join(" ")' "$WORK/last.out")"
}

# vdisk_converts_as IMG RAW PART: p2v convert of IMG:PART gives the
# partitions p2v convert of RAW:PART gives.
vdisk_converts_as() {
    rm -f "$WORK/from-raw.qcow2" "$WORK/vd-img.qcow2"
    expect_exit 0 "$P2V" convert -o "$WORK/from-raw.qcow2" "$2:$3"
    expect_exit 0 "$P2V" convert -o "$WORK/vd-img.qcow2" "$1:$3"
    vdisk_same_partitions "$WORK/from-raw.qcow2" "$WORK/vd-img.qcow2" || fail "$1:$3 converted differs"
}

# vdisk_abs_locator EXT FORMAT BASE BASERAW: with $mk, moved/abs.EXT over
# BASE with an absolute Windows locator only (C:\vms\NAME): without its
# parent beside it, img info fails naming where it looked (moved/BASE); with
# BASE copied there, it reads as abs.raw.
vdisk_abs_locator() {
    local ext=$1 fmt=$2 base=$3
    mkdir -p moved
    python3 "$mk" diff "$base" "$4" "moved/abs.$ext" abs.raw --seed 3 --locator abs
    expect_exit 1 "$P2V" img info "moved/abs.$ext"
    grep -qF "moved/abs.$ext: $fmt: parent not found (looked for moved/$base)" "$WORK/last.err" ||
        fail "missing parent: $(cat "$WORK/last.err")"
    cp --sparse=always "$base" moved/
    expect_exit 0 "$P2V" img compare "moved/abs.$ext" abs.raw
}

# vdisk_same_as_raw IMG RAW PART: IMG (made from RAW by qemu-img) lists as
# RAW does (p2v disks --json, path aside), reads the same (p2v img compare
# and qemu-img compare), and `p2v convert` of partition PART gives an image
# equal to the one converted from RAW (qemu-img compare).
vdisk_same_as_raw() {
    local img=$1 raw=$2 part=$3 want got
    want=$("$P2V" disks --json "$raw" | jq -S '.disks[0] | del(.path)')
    expect_exit 0 "$P2V" disks --json "$img"
    got=$(jq -S '.disks[0] | del(.path)' "$WORK/last.out")
    if [ "$want" != "$got" ]; then
        diff <(echo "$want") <(echo "$got") >&2 || true
        fail "$img: listing differs from the raw disk's"
    fi
    [ ! -s "$WORK/last.err" ] || fail "$img: disks printed: $(cat "$WORK/last.err")"
    expect_exit 0 "$P2V" img compare "$img" "$raw"
    # (VD_NO_QEMU=1: a file qemu-img does not read as VMware does)
    [ -n "${VD_NO_QEMU:-}" ] || qemu-img compare -q "$img" "$raw" ||
        fail "$img: qemu-img says it differs from $raw"
    rm -f "$WORK/vd-raw.qcow2" "$WORK/vd-img.qcow2"
    [ -e "$WORK/vd-raw-$part.qcow2" ] ||
        "$P2V" convert -o "$WORK/vd-raw-$part.qcow2" "$raw:$part" >/dev/null 2>&1
    expect_exit 0 "$P2V" convert -o "$WORK/vd-img.qcow2" "$img:$part"
    vdisk_same_partitions "$WORK/vd-raw-$part.qcow2" "$WORK/vd-img.qcow2" ||
        fail "$img:$part converted differs from $raw:$part converted"
    qemu-img check -q "$WORK/vd-img.qcow2" || fail "$img:$part: qemu-img check of the output"
    pass "$(basename "$img"): lists, reads and converts ($part) as the raw disk"
}

# vdisk_same_partitions A.qcow2 B.qcow2: the same partitions (start, size)
# holding the same bytes (qemu-img compare of each range). The images
# differ elsewhere: each has a fresh disk GUID.
vdisk_same_partitions() {
    local a=$1 b=$2 pa pb start size
    pa=$("$P2V" disks --json "$a" | jq -r '.disks[0].partitions[] | "\(.start) \(.size)"')
    pb=$("$P2V" disks --json "$b" | jq -r '.disks[0].partitions[] | "\(.start) \(.size)"')
    [ -n "$pa" ] && [ "$pa" = "$pb" ] || return 1
    while read -r start size; do
        qemu-img compare -q "$(_vd_range "$a" "$start" "$size")" "$(_vd_range "$b" "$start" "$size")" ||
            return 1
    done <<<"$pa"
}
_vd_range() {
    printf 'json:{"driver":"raw","offset":%d,"size":%d,"file":{"driver":"qcow2","file":{"driver":"file","filename":"%s"}}}' \
        $(($2 * 512)) $(($3 * 512)) "$1"
}

# vdisk_info_like_qemu IMG FIELD...: p2v img info --output=json has these
# fields with qemu-img's values.
vdisk_info_like_qemu() {
    local img=$1 f
    shift
    sync # a fresh file's st_blocks (actual-size) settles with writeback
    expect_exit 0 "$P2V" img info --output=json "$img"
    qemu-img info --output=json "$img" >"$WORK/q-info.json"
    for f in "$@"; do
        [ "$(jq -c ".\"$f\"" "$WORK/q-info.json")" = "$(jq -c ".\"$f\"" "$WORK/last.out")" ] ||
            fail "$img: info $f: qemu-img $(jq -c ".\"$f\"" "$WORK/q-info.json"), p2v $(jq -c ".\"$f\"" "$WORK/last.out")"
    done
    pass "$(basename "$img"): img info $* as qemu-img"
}

# vdisk_map_like_qemu IMG: p2v img map (JSON and human) prints what qemu-img
# map prints, with its exit status (human output of compressed data: 1).
vdisk_map_like_qemu() {
    local img=$1 out qrc
    for out in json human; do
        qemu-img map --output=$out "$img" >"$WORK/q.map" 2>/dev/null && qrc=0 || qrc=$?
        expect_exit $qrc "$P2V" img map --output=$out "$img"
        cmp -s "$WORK/q.map" "$WORK/last.out" ||
            { diff "$WORK/q.map" "$WORK/last.out" >&2 || true; fail "$img: map --output=$out"; }
    done
    pass "$(basename "$img"): img map as qemu-img"
}

# vdisk_refused WHAT IMG PATTERN: disks, convert and img info fail on IMG
# with one line matching PATTERN (grep -E), exit 1, no output file.
vdisk_refused() {
    local what=$1 img=$2 pat=$3 cmd
    for cmd in "disks" "img info" "img map"; do
        # shellcheck disable=SC2086
        expect_exit 1 "$P2V" $cmd "$img"
        [ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "$what: $cmd: $(cat "$WORK/last.err")"
        grep -qE "$pat" "$WORK/last.err" || fail "$what: $cmd: $(cat "$WORK/last.err")"
    done
    expect_exit 1 "$P2V" convert -o "$WORK/refused.qcow2" "$img:1"
    [ ! -e "$WORK/refused.qcow2" ] || fail "$what: convert left an output"
    pass "$what refused: $(cat "$WORK/last.err")"
}
