#!/bin/bash
# An old disk with bad sectors, end to end: an NTFS partition served through
# faultfs (a FUSE file whose chosen byte ranges fail with EIO), with bad
# sectors inside two files (found by searching the disk for the files' own
# contents, not through any NTFS code), in free space (a cluster $Bitmap
# marks free, read with ntfscat) and, separately, in the partition table.
#   --bad-sectors fail (default): exit 1 naming the disk and exact sectors; no output
#   --bad-sectors zero: exit 0; those sectors are zeros and everything else is
#     identical; OUTPUT.badmap is a ddrescue map that ddrescuelog reads back
#     as exactly those sectors of the image; the two files are named, the
#     free-space sector says "no file affected"
#   --copy used: a bad sector in free space is never read, so never stops it
# The zero run's summary, map and affected files are printed: they are what
# docs/bad-sectors.md shows.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/baddisk.sh"
baddisk_setup

# --- fail (the default): it stops at the first block read that has bad
# sectors (the two files' are within 4 MiB), naming exactly those; nothing written ---
serve "$s_thesis" "$((s_photo + 1))" "$s_free"
expect_exit 1 "$P2V" convert -O raw --copy all -o fail.raw "$src:1"
grep -q "^p2v: $src:1: $src: unreadable sectors (512 bytes each): $s_thesis, $((s_photo + 1)); --bad-sectors zero copies around them$" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "the error does not list the exact sectors"; }
[ ! -e fail.raw ] && [ ! -e fail.raw.badmap ] || fail "a failed run left files"
ls -a | grep -q 'fail.raw' && fail "a temporary file of the failed run is left"
pass "--bad-sectors fail: exit 1 naming $src and sectors $s_thesis, $((s_photo + 1))"

# --- zero, every sector ---
expect_exit 0 "$P2V" convert -O raw --copy all --bad-sectors zero -o zero.raw "$src:1"
echo "----- p2v convert -O raw --copy all --bad-sectors zero -o zero.raw $src:1"
cat "$WORK/last.err"
echo "----- zero.raw.badmap"
cat zero.raw.badmap
echo "-----"
out_start=2048   # one partition, 1 MiB aligned: it stays at sector 2048
d_thesis=$((s_thesis - 2048 + out_start)) d_photo=$((s_photo + 1 - 2048 + out_start))
d_free=$((s_free - 2048 + out_start))
check_eq "bad sectors in the map (ddrescuelog)" "$d_thesis $d_photo $d_free" \
    "$(ddrescuelog -b512 -l- zero.raw.badmap | tr '\n' ' ' | sed 's/ $//')"
check_eq "last sector the map covers (ddrescuelog)" "$(( $(stat -c %s zero.raw) / 512 - 1 ))" \
    "$(ddrescuelog -b512 -l+ zero.raw.badmap | tail -n1)"
grep -q "warning: 3 unreadable sectors (1536 bytes) were written as zeros; their map (ddrescue format) is zero.raw.badmap" "$WORK/last.err" ||
    fail "no summary of the bad sectors"
grep -q "$src:1: sector $s_thesis: data lost in /Users/ann/thesis.docx$" "$WORK/last.err" || fail "thesis not named"
grep -q "$src:1: sector $((s_photo + 1)): data lost in /photo.jpg$" "$WORK/last.err" || fail "photo not named"
grep -q "$src:1: sector $s_free: no file affected (free space)$" "$WORK/last.err" || fail "free space not said"
grep -c "data lost in" "$WORK/last.err" | grep -qx 2 || fail "more files named than damaged"
# Every other byte is the source's; the bad sectors are zeros.
python3 - "$d_thesis" "$d_photo" "$d_free" <<'PY' || fail "image differs from the source outside the bad sectors"
import sys
bad = {int(x) for x in sys.argv[1:]}
src = open("disk.img", "rb").read()[2048 * 512:(2048 + 65536) * 512]
out = open("zero.raw", "rb").read()[2048 * 512:(2048 + 65536) * 512]
for s in range(65536):
    a, b = src[s * 512:(s + 1) * 512], out[s * 512:(s + 1) * 512]
    if (2048 + s) in bad:
        assert b == bytes(512), s
    else:
        assert a == b, s
PY
pass "--bad-sectors zero: image = source except 3 zeroed sectors, map and file list exact"

# --- zero, used blocks only: free space is not read, so it is not reported ---
expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o used.raw "$src:1"
grep -q "warning: 2 unreadable sectors" "$WORK/last.err" || { cat "$WORK/last.err"; fail "used copy: not 2 bad sectors"; }
grep -q "no file affected" "$WORK/last.err" && fail "used copy read free space"
check_eq "used copy: map" "$d_thesis $d_photo" "$(ddrescuelog -b512 -l- used.raw.badmap | tr '\n' ' ' | sed 's/ $//')"

# --- a plan keeps --bad-sectors (issue 25 item 4): its replay zeroes as the
# run that made it did, and the mode cannot be changed on top of it ---
expect_exit 0 "$P2V" convert --dry-run -O raw --bad-sectors zero --save-plan zero.json "$src:1"
check_eq "plan: options.bad_sectors" zero "$(jq -r .options.bad_sectors zero.json)"
expect_exit 0 "$P2V" convert --plan zero.json -o plan.raw
check_eq "plan replay: map" "$d_thesis $d_photo" "$(ddrescuelog -b512 -l- plan.raw.badmap | tr '\n' ' ' | sed 's/ $//')"
cmp -i 512 used.raw plan.raw || fail "the plan's replay differs from the run it was saved from (after the MBR, whose signature is new each run)"
expect_exit 2 "$P2V" convert --plan zero.json --bad-sectors fail -o never.raw
grep -q -- "--bad-sectors comes from the plan file" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
pass "--bad-sectors zero saved in the plan and replayed"

# --- where the map goes (issue 25 item 6): --bad-sectors-map FILE, needed for
# a stream or an NBD target, checked before the copy starts ---
expect_exit 2 "$P2V" convert -O raw --bad-sectors zero -o - "$src:1"
grep -q -- "--bad-sectors zero with -o - needs --bad-sectors-map FILE" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert --bad-sectors zero -o "nbd+unix:///x?socket=$WORK/none.sock" "$src:1"
grep -q -- "needs --bad-sectors-map FILE: OUTPUT is not a file the map can go beside" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
"$P2V" convert -O raw --bad-sectors zero --bad-sectors-map stream.map -o - "$src:1" 2>stream.err >stream.raw ||
    fail "stream with a map: $(cat stream.err)"
grep -q "their map (ddrescue format) is stream.map" stream.err || fail "stream: $(cat stream.err)"
check_eq "stream: map" "$d_thesis $d_photo" "$(ddrescuelog -b512 -l- stream.map | tr '\n' ' ' | sed 's/ $//')"
[ ! -e ./-.badmap ] || fail "a map named -.badmap"
cmp -i 512 used.raw stream.raw || fail "the streamed image differs"
expect_exit 1 "$P2V" convert -O raw --bad-sectors zero --bad-sectors-map nodir/m1 -o m1.raw "$src:1"
grep -q -- "--bad-sectors-map nodir/m1: no directory nodir to create it in" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e m1.raw ] || fail "m1.raw written although the map could not be made"
expect_exit 2 "$P2V" convert -O raw --bad-sectors zero --bad-sectors-map "$src" -o m1.raw "$src:1"
grep -q -- "that is the source $src, which p2v never writes" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" convert -O raw --bad-sectors-map m1.map -o m1.raw "$src:1"
grep -q -- "--bad-sectors-map goes with --bad-sectors zero" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 0 "$P2V" convert --dry-run -O raw --bad-sectors zero --bad-sectors-map keep.map --save-plan map.json "$src:1"
check_eq "plan: options.bad_sectors_map" keep.map "$(jq -r .options.bad_sectors_map map.json)"
pass "--bad-sectors-map: required for streams and NBD, checked before the copy, saved in plans"

# --- a bad sector only in free space never stops a used copy (default fail) ---
serve "$s_free"
expect_exit 0 "$P2V" convert -O raw -o free.raw "$src:1"
[ ! -e free.raw.badmap ] || fail "a map without bad sectors"
pass "bad sector in free space: --copy used copies without reading it"

# --- a bad sector in $MFT, in the record of thesis.docx: the map does not
# read it, the copy does; zero names the file by its MFT record ---
s_rec=$(python3 - <<'PY'
import struct
d = open("disk.img", "rb").read()
base = 2048 * 512
bs = d[base:base + 512]
mft = base + struct.unpack_from("<q", bs, 0x30)[0] * struct.unpack_from("<H", bs, 11)[0] * bs[13]
want = "thesis.docx".encode("utf-16-le")
for n in range(16, 256):
    r = d[mft + n * 1024:mft + (n + 1) * 1024]
    if r[:4] != b"FILE":
        continue
    a = struct.unpack_from("<H", r, 0x14)[0]
    while a + 8 <= 1024:
        t, l = struct.unpack_from("<II", r, a)
        if t == 0xFFFFFFFF or l == 0:
            break
        if t == 0x30:
            v = a + struct.unpack_from("<H", r, a + 0x14)[0]
            if r[v + 0x42:v + 0x42 + 2 * r[v + 0x40]] == want:
                # the record, its second sector, and the second sector of record 6 ($Bitmap)
                print(n, (mft + n * 1024) // 512 + 1, (mft + 6 * 1024) // 512 + 1)
                raise SystemExit
        a += l
raise SystemExit("thesis.docx has no MFT record")
PY
)
read -r rec s_mft s_bitmap_rec <<<"$s_rec"
serve "$s_mft"
expect_exit 1 "$P2V" convert -O raw -o mft.raw "$src:1"
err_has "$src: unreadable sectors (512 bytes each): $s_mft;" "MFT record: the exact sector is not named"
expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o mft.raw "$src:1"
err_has "$src:1: sector $s_mft: data lost in /\$MFT, MFT record $rec$" "MFT record: the damaged record is not named"
pass "bad sector in the MFT record of thesis.docx ($rec): named as MFT record $rec"

# --- a bad sector in the MFT record of $Bitmap: no map can be built; fail
# names the exact sector (the failed read was larger); zero copies every
# sector with a notice ---
serve "$s_bitmap_rec"
expect_exit 1 "$P2V" convert -O raw -o bm.raw "$src:1"
err_has "^p2v: $src:1: partition at byte 1048576: read error at offset $((s_bitmap_rec * 512)) (sector $s_bitmap_rec): Input/output error$" \
    "\$Bitmap record: the exact sector is not named"
expect_exit 0 "$P2V" convert -O raw --bad-sectors zero -o bm.raw "$src:1"
err_has "notice: $src:1: copying every sector: its filesystem's metadata cannot be read" "\$Bitmap record: no full-copy notice"
grep -q "warning: 1 unreadable sectors (512 bytes)" "$WORK/last.err" || fail "\$Bitmap record: summary"
check_eq "\$Bitmap record: map" "$s_bitmap_rec" "$(ddrescuelog -b512 -l- bm.raw.badmap)"
pass "bad sector in the MFT record of \$Bitmap: exact sector named; zero copies every sector"

# --- a bad partition table sector stops either mode, naming the disk and sector 0 ---
serve 0
for mode in fail zero; do
    expect_exit 1 "$P2V" convert -O raw --bad-sectors $mode -o pt.raw "$src:1"
    grep -q "$src: read error at offset 0 (sector 0)" "$WORK/last.err" || { cat "$WORK/last.err"; fail "partition table: message"; }
done
pass "bad partition table sector: exit 1 naming sector 0"
fusermount3 -u ff
