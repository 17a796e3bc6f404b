#!/bin/bash
# A filesystem longer than its partition entry (what a table-only shrink or
# an interrupted partition editor leaves): an NTFS whose boot sector says
# 64 MiB and an ext4 of 64 MiB, each in a 48 MiB MBR entry, with files
# lying past 48 MiB and below it (and a 64 MiB FAT32, refused alike).
# - A resize (DISK:N=SIZE growing or shrinking, =min, and --size growing the
#   last partition) is refused before anything is written: exit 1, one line
#   naming both sizes in bytes, nothing left in the output directory (no
#   OUTPUT, no temporary file), the dry run alike. Before, a grow returned 0
#   and every file past 48 MiB read as zeros.
# - A plain copy still copies the entry whole with a notice, and the files
#   inside the entry reads back identical (the output's partition, padded
#   with zeros to the filesystem's size, read by ntfscat / debugfs).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkntfs ntfscp ntfscat ntfscluster mkfs.ext4 debugfs mkfs.fat python3 sha256sum
cd "$WORK"

head -c 3M /dev/urandom >low.bin
head -c 6M /dev/urandom >tail.bin
head -c 44M /dev/zero | tr '\0' 'f' >filler.bin

# todisk NAME TYPE: NAME.img, MBR with a 48 MiB entry at 1 MiB holding the
# 64 MiB NAME.part (the disk is long enough for all of it).
todisk() {
    truncate -s 66M "$1.img"
    echo "start=2048, size=$((48 * 2048)), type=$2" | sfdisk -q "$1.img"
    dd if="$1.part" of="$1.img" bs=1M seek=1 conv=notrunc,sparse status=none
}

# NTFS: 50 files of 1 MiB fill it; which of them lie past 48 MiB and which
# wholly below, ntfscluster tells.
truncate -s 64M nt.part
mkntfs -q -F -Q -c 4096 -p 2048 -H 255 -S 63 nt.part >/dev/null 2>&1
for i in $(seq 10 59); do
    head -c 1M /dev/urandom >"f$i.bin"
    ntfscp -q nt.part "f$i.bin" "f$i.bin" >/dev/null
done
ntfscluster -q -c $((48 * 256))-$((64 * 256 - 1)) nt.part 2>/dev/null |
    sed -n 's|.*/\(f[0-9]*\.bin\)/\$DATA.*|\1|p' | sort -u >past.lst
[ -s past.lst ] || fail "ntfs: no file lies past 48 MiB"
nt_low=$(ls f??.bin | grep -vxFf past.lst | head -1)
[ -n "$nt_low" ] || fail "ntfs: no file lies below 48 MiB"
todisk nt 7

# ext4 (4 KiB blocks): the same three files through debugfs.
truncate -s 64M ex.part
mkfs.ext4 -q -F -b 4096 ex.part
debugfs -w -R "write low.bin low.bin" ex.part >/dev/null 2>&1
debugfs -w -R "write filler.bin filler.bin" ex.part >/dev/null 2>&1
debugfs -w -R "write tail.bin tail.bin" ex.part >/dev/null 2>&1
last=$(debugfs -R "blocks /tail.bin" ex.part 2>/dev/null | tr ' ' '\n' | sort -n | tail -1)
[ "${last:-0}" -ge $((48 * 256)) ] || fail "ext4: tail.bin does not reach past 48 MiB (last block $last)"
todisk ex 83

# refused WHAT PATTERN ARGS...: dry run and real run exit 1 with PATTERN in
# the one-line message (notices aside); out/ stays empty.
refused() {
    local what=$1 pat=$2
    shift 2
    mkdir -p out
    expect_exit 1 "$P2V" convert --dry-run -o out/x.qcow2 "$@"
    grep -q -- "$pat" "$WORK/last.err" || fail "$what (dry run): $(cat "$WORK/last.err")"
    expect_exit 1 "$P2V" convert -O raw -o out/x.raw "$@"
    grep -q -- "$pat" "$WORK/last.err" || fail "$what: $(cat "$WORK/last.err")"
    [ "$(grep -vc '^p2v: notice:' "$WORK/last.err")" = 1 ] ||
        fail "$what: more than one line besides notices: $(cat "$WORK/last.err")"
    [ -z "$(ls -A out)" ] || fail "$what: the refusal left $(ls -A out)"
    pass "$what: $(cat "$WORK/last.err")"
}

# NTFS counts its sectors without the backup boot sector (the last one).
declare -A fsbytes=([nt]=67108352 [ex]=67108864)
for fs in nt ex; do
    sizes="is ${fsbytes[$fs]} bytes (64.0 MiB, from its .*) but its partition entry only 50331648 bytes (48.0 MiB): it cannot be resized"
    refused "$fs: grown (=80M)" "$fs.img:1: the .*$sizes" "$fs.img:1=80M"
    refused "$fs: shrunk (=40M)" "$fs.img:1: the .*$sizes" "$fs.img:1=40M"
    refused "$fs: =min" "$fs.img:1: the .*$sizes" --min-free 1M "$fs.img:1=min"
    refused "$fs: --size grows the last partition" "$sizes" --size 200M "$fs.img:1"
done

# FAT32 the same way (it is never resized, but its partition is: the grown
# partition would still cut the filesystem at the entry's end).
truncate -s 64M fa.part
mkfs.fat -F 32 fa.part >/dev/null
todisk fa c
refused "fat: grown (=80M)" "fa.img:1: the vfat filesystem is 67108864 bytes (64.0 MiB, from its boot sector) but its partition entry only 50331648 bytes (48.0 MiB): it cannot be resized" fa.img:1=80M

# The plain copy: whole, with the notice, and low.bin intact.
# check_low FS CAT: the output partition padded to 64 MiB; CAT prints low.bin.
for fs in nt ex; do
    expect_exit 0 "$P2V" convert -O raw -o "$fs.raw" "$fs.img:1"
    grep -q "larger than its partition" "$WORK/last.err" ||
        fail "$fs: plain copy without the notice: $(cat "$WORK/last.err")"
    dd if="$fs.raw" of="$fs.out" bs=1M skip=1 count=48 status=none
    truncate -s 64M "$fs.out"
done
check_eq "ntfs: $nt_low from the plain copy" "$(sha256sum <"$nt_low")" \
    "$(ntfscat -f nt.out "$nt_low" 2>/dev/null | sha256sum)"
check_eq "ext4: low.bin from the plain copy" "$(sha256sum <low.bin)" \
    "$(debugfs -R "cat /low.bin" ex.out 2>/dev/null | sha256sum)"
pass "plain copies keep the entry whole, low.bin verifies"

# The other way round: a 64 MiB NTFS in a 96 MiB entry given 80 MiB. The
# partition shrinks, the volume grows: the dry run says what happens to the
# volume ("grown to 80.0 MiB", not "shrunk").
truncate -s 98M wide.img
echo "start=2048, size=$((96 * 2048)), type=7" | sfdisk -q wide.img
dd if=nt.part of=wide.img bs=1M seek=1 conv=notrunc,sparse status=none
expect_exit 0 "$P2V" convert --dry-run -o out/w.raw wide.img:1=80M
grep -q "wide.img:1: 96.0 MiB -> 80.0 MiB; NTFS grown to 80.0 MiB" "$WORK/last.out" ||
    fail "64 MiB volume in 96 MiB, =80M: $(cat "$WORK/last.out" "$WORK/last.err")"
pass "a volume growing in a shrinking partition is reported grown"
