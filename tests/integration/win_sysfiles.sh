#!/bin/bash
# Windows' page, swap and hibernation files (pagefile.sys, swapfile.sys,
# hiberfil.sys in the root of an NTFS volume) keep their record, size and
# place but read as zeros in the image; every other file (a pagefile.sys in
# a folder too) is identical, the volume checks clean, the dry run and JSON
# list them, a notice names the bytes saved and fewer bytes are read;
# --copy-system-files (also from a plan file) copies them; a hibernated
# volume is still refused. On the Windows PC of mkwin.sh, the same with the
# Windows step's edits on the volume.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/fsmap.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sfdisk jq python3 mkntfs ntfscp ntfscat ntfsinfo ntfsfix ntfs-3g hivexregedit sha256sum
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }

cd "$WORK"
MIB=1048576
# --- an NTFS data volume: the three files, a folder's pagefile.sys, plain files
truncate -s 160M fs.img
mkntfs -q -F -Q -L DATA fs.img >/dev/null 2>&1
head -c $((64 * MIB)) /dev/urandom >pagefile.sys
head -c $((2 * MIB)) /dev/urandom >swapfile.sys
{ printf 'wake'; head -c $((4 * MIB - 4)) /dev/urandom; } >hiberfil.sys  # not hibernated
head -c $((3 * MIB)) /dev/urandom >a.bin
head -c $((5 * MIB)) /dev/urandom >b.bin
head -c $((1 * MIB)) /dev/urandom >inner.bin
head -c 1000 /dev/urandom >small.txt
for f in pagefile.sys swapfile.sys hiberfil.sys a.bin b.bin small.txt; do
    ntfscp -q fs.img "$f" "$f" >/dev/null
done
mnt=$WORK/mnt
mkdir -p "$mnt"
timeout 60 ntfs-3g fs.img "$mnt" || fail "ntfs-3g cannot mount fs.img"
track_mount "$mnt"
mkdir "$mnt/Backup"
cp inner.bin "$mnt/Backup/pagefile.sys"
umount "$mnt"
truncate -s 163M disk.img
echo "label: gpt
start=2048, size=$((160 * 2048)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" | sfdisk -q disk.img
dd if=fs.img of=disk.img bs=1M seek=1 conv=notrunc,sparse status=none
sysbytes=$((70 * MIB))

# sha256 of every file but the three (ntfs-3g's reading, not p2v's).
others() {
    local img=$1
    for f in a.bin b.bin small.txt Backup/pagefile.sys; do
        echo "$f $(ntfscat "$img" "$f" | sha256sum | cut -d' ' -f1)"
    done
}
others fs.img >src.sums
check_eq "Backup/pagefile.sys on the source" "$(sha256sum <inner.bin | cut -d' ' -f1)" \
    "$(ntfscat fs.img Backup/pagefile.sys | sha256sum | cut -d' ' -f1)"
# ntfsinfo's view of a file (size, attributes, data runs: its place).
finfo() { ntfsinfo -v -F "$2" "$1" 2>/dev/null | grep -v 'Dump:'; }

# --- the dry run lists them
expect_exit 0 "$P2V" convert --dry-run disk.img:1
grep -q "^Windows page/swap/hibernation files (not copied: they read as zeros" "$WORK/last.out" ||
    fail "dry run: no system files section: $(cat "$WORK/last.out")"
for l in "disk.img:1: pagefile.sys, 64.0 MiB (64.0 MiB of clusters saved)" \
         "disk.img:1: swapfile.sys, 2.0 MiB (2.0 MiB of clusters saved)" \
         "disk.img:1: hiberfil.sys, 4.0 MiB (4.0 MiB of clusters saved)"; do
    grep -qxF "  $l" "$WORK/last.out" || fail "dry run lacks '$l': $(cat "$WORK/last.out")"
done
pass "dry run lists the three files"
expect_exit 0 "$P2V" convert --dry-run --json disk.img:1
check_eq "dry-run JSON system_files" \
    '[{"name":"pagefile.sys","size":67108864,"bytes":67108864,"copied":false},{"name":"swapfile.sys","size":2097152,"bytes":2097152,"copied":false},{"name":"hiberfil.sys","size":4194304,"bytes":4194304,"copied":false}]' \
    "$(jq -c '.partitions[0].system_files' "$WORK/last.out")"
# p2v disks counts them as used (the filesystem's own count), unchanged.
used=$("$P2V" disks --json disk.img | jq '.disks[0].partitions[0].used')
[ "$used" -gt "$sysbytes" ] || fail "p2v disks: used $used does not count the system files"
pass "p2v disks still counts them as used ($used bytes)"

# --- the copy
expect_exit 0 "$P2V" convert -O raw --json -o skip.raw disk.img:1
cp "$WORK/last.out" skip.json
grep -qF "notice: disk.img:1: pagefile.sys, swapfile.sys, hiberfil.sys not copied (70.0 MiB saved): they read as zeros, Windows recreates them (--copy-system-files copies them)" \
    "$WORK/last.err" || fail "no notice naming the bytes saved: $(cat "$WORK/last.err")"
pass "notice names the files and the bytes saved"
check_eq "JSON system_files_bytes" "$sysbytes" "$(jq .system_files_bytes skip.json)"
expect_exit 0 "$P2V" convert -O raw --json --copy-system-files -o copy.raw disk.img:1
cp "$WORK/last.out" copy.json
check_eq "JSON system_files_bytes with --copy-system-files" 0 "$(jq .system_files_bytes copy.json)"
check_eq "JSON copied with --copy-system-files" true \
    "$(jq '.partitions[0].system_files | all(.copied)' copy.json)"
for k in copied_bytes written_bytes; do
    a=$(jq ".$k" skip.json) b=$(jq ".$k" copy.json)
    [ $((b - a)) -ge "$sysbytes" ] ||
        fail "$k: $a without the files, $b with them: not $sysbytes fewer"
    pass "$k: $a without the files, $b with them"
done

for out in skip copy; do
    dd if=$out.raw of=$out.part bs=1M skip=1 count=160 status=none
    ntfsfix -n $out.part >fix.out 2>&1 && ! grep -qiE 'bad|error|corrupt' fix.out ||
        fail "$out: ntfsfix -n: $(cat fix.out)"
    others $out.part >$out.sums
    cmp -s src.sums $out.sums || fail "$out: other files differ: $(diff src.sums $out.sums)"
    for f in pagefile.sys swapfile.sys hiberfil.sys; do
        # same record: size, attributes and data runs (place) as on the source
        cmp -s <(finfo fs.img "$f") <(finfo $out.part "$f") ||
            fail "$out: $f's record differs: $(diff <(finfo fs.img "$f") <(finfo $out.part "$f"))"
        check_eq "$out: $f size" "$(stat -c %s "$f")" "$(ntfscat $out.part "$f" | wc -c)"
        if [ $out = skip ]; then
            check_eq "$out: non-zero bytes of $f" 0 "$(ntfscat $out.part "$f" | tr -d '\0' | wc -c)"
        else
            cmp -s <(ntfscat $out.part "$f") "$f" || fail "$out: $f not copied as it is"
        fi
    done
    pass "$out: ntfsfix clean, other files identical, the three files in place"
done

# --- --copy-system-files is saved in plan files
expect_exit 0 "$P2V" convert --copy-system-files --save-plan keep.plan disk.img:1
check_eq "plan option copy_system_files" true "$(jq .options.copy_system_files keep.plan)"
expect_exit 0 "$P2V" convert --plan keep.plan --dry-run --json
check_eq "plan: copied" true "$(jq '.partitions[0].system_files | all(.copied)' "$WORK/last.out")"
expect_exit 2 "$P2V" convert --plan keep.plan --copy-system-files --dry-run

# --- a hibernated volume is still refused, and copied whole with --allow-dirty
cp fs.img hib.img
fsm_ntfs_hibernate hib.img
cp disk.img hdisk.img
dd if=hib.img of=hdisk.img bs=1M seek=1 conv=notrunc,sparse status=none
expect_exit 1 "$P2V" convert -O raw -o hib.raw hdisk.img:1
grep -q "hibernated Windows" "$WORK/last.err" || fail "hibernated: $(cat "$WORK/last.err")"
expect_exit 0 "$P2V" convert --dry-run --json hdisk.img:1
check_eq "hibernated: nothing listed" '[]' "$(jq -c '.partitions[0].system_files' "$WORK/last.out")"
expect_exit 0 "$P2V" convert -O raw --allow-dirty --json -o hib.raw hdisk.img:1
check_eq "hibernated + --allow-dirty: system_files_bytes" 0 "$(jq .system_files_bytes "$WORK/last.out")"
dd if=hib.raw of=hib.part bs=1M skip=1 count=160 status=none
cmp -s <(ntfscat hib.part pagefile.sys) pagefile.sys || fail "--allow-dirty: pagefile not copied"
pass "hibernated volume refused; --allow-dirty copies it whole"

# --- a Windows PC: C: with a pagefile, through the Windows step's overlay
mkwin_mbr_bios win.img
mkwin_part_img win.img 2 c.img
head -c $((8 * MIB)) /dev/urandom >winpf
ntfscp -q c.img winpf pagefile.sys >/dev/null
mkwin_put win.img c.img $((MKWIN_OFF_2 / 512))
ntfscat c.img Users/staff/Documents/report.docx | sha256sum >c.sum
expect_exit 0 "$P2V" convert -O raw --json -o win.raw win.img:1 win.img:2
grep -qF "notice: win.img:2: pagefile.sys not copied (8.0 MiB saved): it reads as zeros, Windows recreates it" \
    "$WORK/last.err" || fail "Windows: no notice: $(cat "$WORK/last.err")"
check_eq "Windows: system_files_bytes" $((8 * MIB)) "$(jq .system_files_bytes "$WORK/last.out")"
check_eq "Windows: BCD rewritten as well" true "$(jq '.windows.bcd_elements > 0' "$WORK/last.out")"
mkwin_part_img win.raw 2 wc.img
ntfsfix -n wc.img >fix.out 2>&1 && ! grep -qiE 'bad|error|corrupt' fix.out ||
    fail "Windows C: ntfsfix -n: $(cat fix.out)"
check_eq "Windows: pagefile size" $((8 * MIB)) "$(ntfscat wc.img pagefile.sys | wc -c)"
check_eq "Windows: non-zero pagefile bytes" 0 "$(ntfscat wc.img pagefile.sys | tr -d '\0' | wc -c)"
cmp -s c.sum <(ntfscat wc.img Users/staff/Documents/report.docx | sha256sum) ||
    fail "Windows: report.docx differs"
pass "Windows C: pagefile zeros, files identical, clean"
