#!/bin/bash
# NTFS volumes that must not be resized, and the MFT that must move: each
# refusal names its reason (the dry run and the real run alike), exits 1 and
# leaves nothing in the output directory (no OUTPUT, no temporary file):
# - bad clusters listed in $BadClus:$Bad (as chkdsk /b leaves them;
#   ntfsresize refuses the same volume), for a shrink and a grow;
# - a hibernated volume whose hiberfil.sys starts with "hibr" (lower case;
#   "HIBR" and a dirty volume are in resize_ntfs.sh), or with "RSTR" (a
#   resume in progress), the latter refused for a plain copy too;
# - $MFT near the end of the volume, beyond the new end, with the free space
#   below the end in single clusters: its new runlist cannot fit in MFT
#   record 0. The same volume with its free space in one piece shrinks, and
#   $MFT is then below the new end: ntfsfix -n, ntfsinfo -m and ntfscluster
#   --info agree.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ntfs_fit.sh"
need sfdisk jq mkntfs ntfscp ntfsfix ntfsresize ntfsinfo ntfscluster python3 qemu-img
cd "$WORK"
edit() { python3 "$P2V_SRC/tests/lib/ntfsedit.py" "$@"; }

# mkvol NAME MIB CLUSTER: NAME.part, a fresh NTFS volume.
mkvol() {
    truncate -s "$2M" "$1.part"
    mkntfs -q -F -Q -c "$3" -p 2048 -H 255 -S 63 "$1.part" >/dev/null 2>&1
}

# todisk NAME MIB: NAME.img, MBR, NAME.part as partition 1 at 1 MiB.
todisk() {
    truncate -s $(($2 + 2))M "$1.img"
    echo "start=2048, size=$(($2 * 2048)), type=7" | sfdisk -q "$1.img"
    dd if="$1.part" of="$1.img" bs=1M seek=1 conv=notrunc,sparse status=none
}

# refused WHAT PATTERN SEL...: dry run and real run (qcow2 and raw) exit 1
# with PATTERN in the message; out/ stays empty.
refused() {
    local what=$1 pat=$2 fmt
    shift 2
    mkdir -p out
    expect_exit 1 "$P2V" convert --dry-run -o out/x.qcow2 "$@"
    grep -q -- "$pat" "$WORK/last.err" || fail "$what (dry run): $(cat "$WORK/last.err")"
    for fmt in qcow2 raw; do
        expect_exit 1 "$P2V" convert -O "$fmt" -o "out/x.$fmt" "$@"
        grep -q -- "$pat" "$WORK/last.err" || fail "$what ($fmt): $(cat "$WORK/last.err")"
    done
    [ -z "$(ls -A out)" ] || fail "$what: the refusal left $(ls -A out)"
    [ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "$what: more than one line: $(cat "$WORK/last.err")"
    pass "$what: $(cat "$WORK/last.err")"
}

# Bad clusters: cluster 3000 listed in $BadClus:$Bad.
mkvol bad 32 4096
edit badclus bad.part 3000
ntfsfix -n bad.part >fix.out 2>&1 || { cat fix.out >&2; fail "the bad-cluster volume is not clean"; }
ntfsresize --info --no-action -f bad.part >nr.out 2>&1 || true
grep -q "has at least 1 bad sector" nr.out || fail "ntfsresize does not see the bad cluster: $(cat nr.out)"
todisk bad 32
refused "bad clusters, shrink" "lists 1 bad clusters (3000+1): it cannot be resized" bad.img:1=16M
refused "bad clusters, grow" "lists 1 bad clusters (3000+1)" bad.img:1=64M
refused "bad clusters, min" "lists 1 bad clusters" --min-free 1M bad.img:1=min
# at its own size it is copied as it is
expect_exit 0 "$P2V" convert -O raw -o out/same.raw bad.img:1
rm -f out/same.raw

# Hibernated, "hibr" in lower case.
mkvol hib 32 4096
printf 'hibr%04092d' 0 >hiberfil.sys
ntfscp -q hib.part hiberfil.sys hiberfil.sys >/dev/null
todisk hib 32
refused "hibernated (hibr)" "hibernated.*cannot be resized" hib.img:1=16M

# A resume from hibernation in progress: hiberfil.sys starts with "RSTR";
# the volume is as hibernated as with "hibr", for a resize and a plain copy.
mkvol rst 32 4096
printf 'RSTR%04092d' 0 >hiberfil.sys
ntfscp -q rst.part hiberfil.sys hiberfil.sys >/dev/null
todisk rst 32
refused "hibernated (RSTR: resume in progress)" "hibernated.*cannot be resized" rst.img:1=16M
expect_exit 1 "$P2V" convert -O raw -o out/rst.raw rst.img:1
grep -q "hibernated" "$WORK/last.err" || fail "RSTR, plain copy: $(cat "$WORK/last.err")"
[ -z "$(ls -A out)" ] || fail "RSTR, plain copy: the refusal left $(ls -A out)"
pass "RSTR, plain copy refused: $(cat "$WORK/last.err")"

# $MFT at the end (1200 of 131071 clusters of 512 bytes, from LCN 129863 on).
mkvol far 64 512
cp far.part farfrag.part
edit mft-far far.part 1200
ntfsfix -n far.part >fix.out 2>&1 || { cat fix.out >&2; fail "the far-MFT volume is not clean"; }
mft_at=$(ntfs_le far.part 48 8)
[ "$mft_at" -gt 98303 ] || fail "\$MFT is not beyond 48 MiB: $mft_at"
todisk far 64
# ... with every other free cluster below 48 MiB taken: no room for its runlist
edit mft-far farfrag.part 1200 98303
ntfsfix -n farfrag.part >fix.out 2>&1 || { cat fix.out >&2; fail "the fragmented volume is not clean"; }
todisk farfrag 64
refused "\$MFT that cannot move" '$MFT lies beyond the new end and cannot move below it' farfrag.img:1=48M

# ... with the free space in one piece, $MFT moves below the new end.
expect_exit 0 "$P2V" convert --dry-run -O raw -o out/far.raw far.img:1=48M
grep -q "64.0 MiB -> 48.0 MiB; NTFS shrunk.*; 600.0 KiB relocated" "$WORK/last.out" ||
    fail "dry run: $(cat "$WORK/last.out")"
expect_exit 0 "$P2V" convert -O raw --verify -o out/far.raw far.img:1=48M
dd if=out/far.raw of=far.out bs=1M skip=1 count=48 status=none
ntfsfix -n far.out >fix.out 2>&1 || { cat fix.out >&2; fail "ntfsfix -n after moving \$MFT"; }
! grep -qiE 'bad|corrupt|error' fix.out || { cat fix.out >&2; fail "ntfsfix -n complains"; }
ntfs_tools_check "far MFT" far.out far.part 98303
[ "$(ntfs_le far.out 48 8)" -lt 98303 ] || fail "\$MFT was not moved"
pass "\$MFT moved from LCN $mft_at to $(ntfs_le far.out 48 8)"
