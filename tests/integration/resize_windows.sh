#!/bin/bash
# Windows' C: given its own size while the BIOS Windows PC moves on MBR:
# grown to twice its size, and shrunk (its clusters past the new end moved).
# The Windows fixups are made on the resized volume: the BCD and
# MountedDevices name the new places exactly as for a plain move, C:'s
# volume fills its new partition, every volume passes ntfsfix -n, C:'s
# files are the source's, the source is unchanged.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
need sfdisk jq mkntfs ntfs-3g ntfscat ntfsfix ntfsresize hivexregedit hivexget python3

mkwin_mbr_bios "$WORK/pc.img"
before=$(sha256sum <"$WORK/pc.img")
pc=$WORK/pc.img
mkwin_part_img "$pc" 2 "$WORK/oldc"

check_windows() { # IMG C_BYTES
    local img=$1 want=$2 sig off1 offrec offd offc n size
    sig=$(sfdisk --json "$img" | jq -r .partitiontable.id)
    off1=$(mkwin_part_off "$img" 1); offrec=$(mkwin_part_off "$img" 2)
    offd=$(mkwin_part_off "$img" 3); offc=$(mkwin_part_off "$img" 4)
    for n in 1 2 3 4; do
        mkwin_part_img "$img" "$n" "$WORK/new$n"
        ntfsfix -n "$WORK/new$n" >"$WORK/fix$n" 2>&1 || fail "ntfsfix -n partition $n: $(cat "$WORK/fix$n")"
    done
    size=$(sfdisk --json "$img" | jq '.partitiontable.partitions[3].size')
    check_eq "C: partition bytes" "$want" $((size * 512))
    local info
    info=$(ntfsresize --info --no-action -f "$WORK/new4" 2>&1 || true)
    grep -q "Current device size: $want bytes" <<<"$info" || fail "ntfsresize --info on C:: $info"
    check_eq "C: volume sectors" $((size - 1)) "$(python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(40); print(int.from_bytes(f.read(8),"little"))' "$WORK/new4")"
    ntfscat "$WORK/new1" /Boot/BCD >"$WORK/bcd.got"
    mkwin_hive "$WORK/bcd.want" bcd --disk "$sig" --boot "$off1" --os "$offc" --recovery "$offrec"
    diff -u <(mkwin_export "$WORK/bcd.want") <(mkwin_export "$WORK/bcd.got") || fail "BCD differs"
    ntfscat "$WORK/new4" /Windows/System32/config/SYSTEM >"$WORK/sys.got"
    local mounted="\\DosDevices\\C:=$offc,\\DosDevices\\D:=$offd,\\DosDevices\\E:=0xdeadbeef@1048576"
    mounted+=",\\??\\Volume{${MKWIN_VOL}1}=$off1,\\??\\Volume{${MKWIN_VOL}2}=$offc"
    mounted+=",\\??\\Volume{${MKWIN_VOL}3}=$offd,\\??\\Volume{${MKWIN_VOL}4}=$offrec"
    mkwin_hive "$WORK/sys.want" system --disk "$sig" --mounted "$mounted"
    diff -u <(mkwin_export "$WORK/sys.want") <(mkwin_export "$WORK/sys.got") ||
        fail "MountedDevices differs"
    for f in /Users/staff/Documents/report.docx /Windows/System32/config/SOFTWARE /Windows/Boot/PCAT/bootmgr; do
        check_eq "C:$f" "$(ntfscat "$WORK/oldc" "$f" | sha256sum)" "$(ntfscat "$WORK/new4" "$f" | sha256sum)"
    done
    pass "$img: C: of $want bytes, BCD and MountedDevices name the new places"
}

"$P2V" convert -O raw -o "$WORK/grow.img" "$pc:1" "$pc:4" "$pc:3" "$pc:2=96M" 2>"$WORK/grow.err" ||
    fail "grow: $(cat "$WORK/grow.err")"
check_windows "$WORK/grow.img" $((96 << 20))

"$P2V" convert --dry-run -O raw -o "$WORK/shrink.img" "$pc:1" "$pc:4" "$pc:3" "$pc:2=20M" >"$WORK/dry.out" 2>&1
grep -q "pc.img:2: 48.0 MiB -> 20.0 MiB; NTFS shrunk.*; [1-9].* relocated" "$WORK/dry.out" ||
    fail "dry run: $(cat "$WORK/dry.out")"
"$P2V" convert -O raw -o "$WORK/shrink.img" "$pc:1" "$pc:4" "$pc:3" "$pc:2=20M" 2>"$WORK/shrink.err" ||
    fail "shrink: $(cat "$WORK/shrink.err")"
check_windows "$WORK/shrink.img" $((20 << 20))
check_eq "source unchanged" "$before" "$(sha256sum <"$pc")"
