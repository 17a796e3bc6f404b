#!/bin/bash
# p2v Live over the network, no stick anywhere: three PCs boot at once from
# qemu's DHCP/TFTP into iPXE, which fetches the live system's kernel, initrd
# and squashfs over HTTP from 127.0.0.1 (10.0.2.2 in the guests). The same
# kernel command line for all:
#   p2v.plan=http://…/plan.json  (one plan by roles)
#   p2v.output=nbd://10.0.2.2:PORT/{serial}   (nbdkit here, one file per export)
#   p2v.report=http://…/api/report p2v.token=…  (tests/lib/report_sink.py)
# PC A is the synthetic BIOS Windows (MBR), PC B the synthetic UEFI Windows
# (GPT), each with its own SMBIOS serial: two images, named by serial, that
# pass the layout and file checks, and each PC's start/progress/finish events
# at the receiver. PC C has no Windows: a `failed` event naming why, and its
# export untouched. Every source disk is byte-identical afterwards.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/livepxe.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
livepxe_need
need mkntfs ntfs-3g ntfsfix ntfscat sgdisk mcopy hivexregedit
t_all=$(date +%s)

# --- the PCs -----------------------------------------------------------------
mkwin_mbr_bios "$WORK/pcA.img"
mkwin_gpt_uefi "$WORK/pcB.img"
# PC C: one disk, one ext4 partition with files: no boot partition, no Windows.
truncate -s 64M "$WORK/pcC.img"
printf 'start=2048, type=83\n' | sfdisk -q --label dos "$WORK/pcC.img" >/dev/null
mkdir -p "$WORK/cfiles" && head -c 100000 /dev/urandom >"$WORK/cfiles/notes.bin"
truncate -s 63M "$WORK/c.fs" && mkfs.ext4 -q -F -L data -d "$WORK/cfiles" "$WORK/c.fs"
dd if="$WORK/c.fs" of="$WORK/pcC.img" bs=1M seek=1 conv=notrunc,sparse status=none
# PC D: PC A's disk again, and a local P2V-OUT disk to write into.
cp --sparse=always "$WORK/pcA.img" "$WORK/pcD.img"
live_out_disk "$WORK/outD.img"
sha256sum "$WORK"/pc[ABCD].img >"$WORK/sources.sum"

# --- the servers: NBD exports, the report receiver, HTTP for the boot --------
mkdir -p "$WORK/exports"
for s in PXE-A PXE-B PXE-C; do truncate -s 160M "$WORK/exports/$s"; done
livepxe_nbd "$WORK/exports"
nbd_port=$LIVEPXE_NBD_PORT

token=pxe-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
python3 "$P2V_SRC/tests/lib/report_sink.py" "$WORK/sink.port" "$WORK/reports.jsonl" --token "$token" &
track_pid $!
for _ in $(seq 100); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
sink_port=$(cat "$WORK/sink.port")
# PC D's receiver stops once it has the start and the first progress event.
python3 "$P2V_SRC/tests/lib/report_sink.py" "$WORK/sinkD.port" "$WORK/reportsD.jsonl" --token "$token" --exit-after 2 &
track_pid $!
for _ in $(seq 100); do [ -s "$WORK/sinkD.port" ] && break; sleep 0.1; done
sinkD_port=$(cat "$WORK/sinkD.port")

mkdir -p "$WORK/www" "$WORK/tftp"
livepxe_files "$WORK/www"
livepxe_plan "$WORK/www/plan.json"
livepxe_http "$WORK/www"
track_pid "$LIVEPXE_HTTP_PID"
host=http://10.0.2.2
livepxe_script "$WORK/tftp/boot.ipxe" "p2v.plan=$host:$LIVEPXE_HTTP_PORT/plan.json p2v.output=nbd://10.0.2.2:$nbd_port/{serial} p2v.report=$host:$sink_port/api/report p2v.token=$token"
echo "--- boot.ipxe:"; cat "$WORK/tftp/boot.ipxe"
livepxe_script "$WORK/tftp/bootD.ipxe" "p2v.plan=$host:$LIVEPXE_HTTP_PORT/plan.json p2v.mount=label:P2V-OUT p2v.output={serial}.img p2v.report=$host:$sinkD_port/api/report p2v.token=$token"

# --- three PCs at once ---------------------------------------------------------
t_vm=$(date +%s)
livepxe_vm A PXE-A "$WORK/tftp" boot.ipxe "$WORK/pcA.img"
livepxe_vm B PXE-B "$WORK/tftp" boot.ipxe "$WORK/pcB.img"
livepxe_vm C PXE-C "$WORK/tftp" boot.ipxe "$WORK/pcC.img"
LIVEPXE_WRITABLE="$WORK/outD.img" livepxe_vm D PXE-D "$WORK/tftp" bootD.ipxe "$WORK/pcD.img"
for n in A B C D; do
    livepxe_wait "$n" 1500 || fail "PC $n did not power off by itself"
    pass "PC $n powered off by itself after ${LIVEPXE_SECONDS}s"
done
vm_secs=$(( $(date +%s) - t_vm ))
for n in A B C D; do
    echo "--- PC $n, serial console (p2v lines):"
    _live_plain "$WORK/$n.log" | grep -a -e 'p2v-netboot' -e 'Linux version' -e 'p2v:' | head -n 30
done
[ "$(grep -c 'GET /live/filesystem.squashfs' "$WORK/http.log")" -ge 4 ] ||
    fail "the squashfs was not fetched over HTTP by each PC: $(grep -c squashfs "$WORK/http.log")"
pass "each PC fetched kernel, initrd and squashfs over HTTP (iPXE, then live-boot)"
sha256sum -c "$WORK/sources.sum" >/dev/null || fail "a source disk changed"
pass "source disks byte-identical"

# --- the reports ----------------------------------------------------------------
echo "--- reports received ($(wc -l <"$WORK/reports.jsonl") events):"
jq -c '.body | {event, serial: .pc.serial, output, selection, error, progress: (.progress.bytes_done // null)}' \
    "$WORK/reports.jsonl"
jq -e --arg a "Bearer $token" 'select(.auth != $a)' "$WORK/reports.jsonl" >/dev/null &&
    fail "an event without the token"
echo "--- PXE-A's start and finish events (the finish's result cut to its table and partitions):"
jq -c 'select(.body.pc.serial == "PXE-A" and .body.event == "start") | .body' "$WORK/reports.jsonl"
jq -c 'select(.body.pc.serial == "PXE-A" and .body.event == "finish") | .body |
    .result |= {table: .table, partitions: [.partitions[] | {number: .number, type: .type, label: .label,
    size_bytes: .size_bytes}]}' "$WORK/reports.jsonl"
ev() { jq -r --arg s "$1" 'select(.body.pc.serial == $s) | .body.event' "$WORK/reports.jsonl" | tr '\n' ' '; }
for s in PXE-A PXE-B; do
    evs=$(ev "$s")
    case $evs in start\ *progress\ *finish\ ) ;; *) fail "$s: events '$evs', not start, progress…, finish" ;; esac
    check_eq "$s: output" "nbd://10.0.2.2:$nbd_port/$s" \
        "$(jq -r --arg s "$s" 'select(.body.pc.serial == $s and .body.event == "finish") | .body.output' "$WORK/reports.jsonl")"
    check_eq "$s: model" "PXE PC" \
        "$(jq -r --arg s "$s" 'select(.body.pc.serial == $s and .body.event == "finish") | .body.pc.model' "$WORK/reports.jsonl")"
done
check_eq "PXE-C: events" "failed" "$(ev PXE-C | sed 's/^start //; s/ $//')"
why=$(jq -r 'select(.body.pc.serial == "PXE-C" and .body.event == "failed") | .body.error' "$WORK/reports.jsonl")
grep -qiE 'boot|windows' <<<"$why" || fail "PC C's failed report does not name the role it misses: $why"
pass "PC C: failed, '$why'"
# (grep reads a file: grep -q ending a pipe early fails it under pipefail)
_live_plain "$WORK/C.log" >"$WORK/C.plain"
grep -a -q 'p2v-netboot: FAILED' "$WORK/C.plain" || fail "PC C's console does not say FAILED"

# --- the images -------------------------------------------------------------
# ntfs_file IMG N PATH: a file of partition N's NTFS.
ntfs_file() { mkwin_part_img "$1" "$2" "$WORK/part.tmp" && ntfscat "$WORK/part.tmp" "$3"; }
same_file() { # WHAT SRC N IMG N PATH
    check_eq "$1" "$(ntfs_file "$2" "$3" "$6" | sha256sum)" "$(ntfs_file "$4" "$5" "$6" | sha256sum)"
}
A=$WORK/exports/PXE-A
sfdisk -V "$A" >/dev/null || fail "PXE-A: sfdisk -V"
check_eq "PXE-A: types (boot, recovery, data, windows)" "7 27 7 7" \
    "$(sfdisk --json "$A" | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
[ "$(sfdisk --json "$A" | jq -r .partitiontable.id)" != "$MKWIN_SIG" ] || fail "PXE-A: disk signature not new"
for n in 1 2 3 4; do
    mkwin_part_img "$A" "$n" "$WORK/a$n"
    ntfsfix -n "$WORK/a$n" >/dev/null 2>&1 || fail "PXE-A: ntfsfix -n partition $n"
done
same_file "PXE-A: bootmgr" "$WORK/pcA.img" 1 "$A" 1 /bootmgr
same_file "PXE-A: Winre.wim" "$WORK/pcA.img" 4 "$A" 2 /Recovery/WindowsRE/Winre.wim
same_file "PXE-A: D: data.bin" "$WORK/pcA.img" 3 "$A" 3 /data.bin
same_file "PXE-A: C: report.docx" "$WORK/pcA.img" 2 "$A" 4 /Users/staff/Documents/report.docx
pass "PXE-A: the BIOS Windows image, plan order, every volume clean, files intact"

B=$WORK/exports/PXE-B
v=$(sgdisk -v "$B")
grep -q 'No problems found' <<<"$v" || fail "PXE-B: sgdisk -v: $v"
types=$(sgdisk -p "$B" | awk '/^ +[0-9]/ { print $6 }' | tr '\n' ' ')
echo "PXE-B: GPT types $types"
[[ $types == *EF00* && $types == *2700* && $types == *0700* ]] ||
    fail "PXE-B: no ESP, WinRE and basic data partitions: $types"
esp=$(sgdisk -p "$B" | awk '$6 == "EF00" { print $1 }')
win=$(sgdisk -p "$B" | awk '$6 == "0700" { print $1 }' | tail -n 1)
mkwin_part_img "$B" "$esp" "$WORK/b.esp"
mkwin_part_img "$WORK/pcB.img" 1 "$WORK/b0.esp"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "$WORK/b0.esp" ::/EFI/Boot/bootx64.efi "$WORK/b0.efi"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "$WORK/b.esp" ::/EFI/Boot/bootx64.efi "$WORK/b.efi" || fail "PXE-B: no bootx64.efi"
check_eq "PXE-B: EFI/Boot/bootx64.efi" "$(sha256sum <"$WORK/b0.efi")" "$(sha256sum <"$WORK/b.efi")"
same_file "PXE-B: C: report.docx" "$WORK/pcB.img" 3 "$B" "$win" /Users/staff/Documents/report.docx
pass "PXE-B: the UEFI Windows image, ESP and C: intact"

cmp -s -n $((160 * 1048576)) "$WORK/exports/PXE-C" /dev/zero || fail "PC C's export was written"
pass "PC C: nothing written to its export"
echo "live_pxe: four PCs in ${vm_secs}s of VM time, $(( $(date +%s) - t_all ))s in all"

# --- PC D: the receiver went away after the start -----------------------------
echo "--- PC D's receiver stored:"; jq -c '.body | {event, serial: .pc.serial}' "$WORK/reportsD.jsonl"
check_eq "PXE-D: events stored before the receiver stopped" "start progress" \
    "$(jq -r .body.event "$WORK/reportsD.jsonl" | tr '\n' ' ' | sed 's/ $//')"
live_out_get "$WORK/outD.img" PXE-D.p2v-report.json "$WORK/reportD.json" || fail "no PXE-D.p2v-report.json on P2V-OUT"
echo "--- PXE-D.p2v-report.json:"; cat "$WORK/reportD.json"
check_eq "PXE-D: report status" failed "$(jq -r .status "$WORK/reportD.json")"
check_eq "PXE-D: report serial" PXE-D "$(jq -r .pc.serial "$WORK/reportD.json")"
reason=$(jq -r .reason "$WORK/reportD.json")
grep -q "10.0.2.2:$sinkD_port" <<<"$reason" || fail "PXE-D: the reason does not name the receiver: $reason"
_live_plain "$WORK/D.log" >"$WORK/D.plain"
grep -a -q "p2v-netboot: FAILED.*10.0.2.2:$sinkD_port" "$WORK/D.plain" ||
    fail "PXE-D: the console does not say why it failed"
live_out_get "$WORK/outD.img" PXE-D.img "$WORK/imageD.raw" || fail "PXE-D: the image p2v wrote is not on P2V-OUT"
sfdisk -V "$WORK/imageD.raw" >/dev/null || fail "PXE-D: sfdisk -V"
check_eq "PXE-D: report image" /mnt/target/PXE-D.img "$(jq -r .image "$WORK/reportD.json")"
pass "PXE-D: failed after the retries, the reason on the console and in the report file: $reason"
