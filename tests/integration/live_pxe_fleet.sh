#!/bin/bash
# p2v Live booted from `p2v fleet serve`: qemu's DHCP hands the NIC's iPXE
# the server's http://10.0.2.2:PORT/boot.ipxe as its boot file; the script
# the server writes loads the live system from the server, with the plan,
# the output template and the report URL and token on the kernel command
# line. The PC (the synthetic UEFI Windows on GPT) converts into
# nbd://10.0.2.2:PORT/{serial} (nbdkit here) and reports back: the server's
# /api/pcs has it done, with its serial, model and image.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/livepxe.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
livepxe_need
need mkntfs ntfs-3g ntfsfix ntfscat sgdisk hivexregedit
t_all=$(date +%s)

mkwin_gpt_uefi "$WORK/pc.img"
sha256sum "$WORK/pc.img" >"$WORK/sources.sum"
mkdir -p "$WORK/exports"
truncate -s 160M "$WORK/exports/FLEET-1"
livepxe_nbd "$WORK/exports"
nbd_port=$LIVEPXE_NBD_PORT

livepxe_plan "$WORK/plan.json"
head -c 24 /dev/urandom | base64 >"$WORK/token"
"$P2V" fleet serve --dir "$WORK/fleet" --token-file "$WORK/token" --listen 127.0.0.1:0 \
    --live "$(live_iso)" --plan "$WORK/plan.json" --output "nbd://10.0.2.2:$nbd_port/{serial}" \
    2>"$WORK/serve.err" &
track_pid $!
for _ in $(seq 600); do grep -q 'listening on http' "$WORK/serve.err" && break; sleep 0.2; done
url=$(sed -n 's|.*listening on \(http://[0-9.:]*\)/.*|\1|p' "$WORK/serve.err" | head -n 1)
[ -n "$url" ] || fail "p2v fleet serve did not start: $(cat "$WORK/serve.err")"
port=${url##*:}
echo "--- the boot script as the guest will get it:"
curl -fsS -H "Host: 10.0.2.2:$port" "$url/boot.ipxe" | sed 's/p2v.token=[^ ]*/p2v.token=(hidden)/'

t_vm=$(date +%s)
mkdir -p "$WORK/tftp-empty"
livepxe_vm F FLEET-1 "$WORK/tftp-empty" "http://10.0.2.2:$port/boot.ipxe" "$WORK/pc.img"
livepxe_wait F 1500 || fail "the PC did not power off by itself"
pass "the PC booted from p2v fleet serve and powered off by itself after ${LIVEPXE_SECONDS}s"
echo "--- serial console (p2v lines):"
_live_plain "$WORK/F.log" | grep -a -e 'p2v-netboot' -e 'Linux version' | head -n 30
sha256sum -c "$WORK/sources.sum" >/dev/null || fail "the source disk changed"

"$P2V" fleet status --json "$url" >"$WORK/pcs.json"
echo "--- /api/pcs:"; jq . "$WORK/pcs.json"
check_eq "PCs known to the server" 1 "$(jq length "$WORK/pcs.json")"
check_eq "serial" FLEET-1 "$(jq -r '.[0].serial' "$WORK/pcs.json")"
check_eq "model" "PXE PC" "$(jq -r '.[0].model' "$WORK/pcs.json")"
check_eq "status" "done" "$(jq -r '.[0].status' "$WORK/pcs.json")"
check_eq "output" "nbd://10.0.2.2:$nbd_port/FLEET-1" "$(jq -r '.[0].output' "$WORK/pcs.json")"
"$P2V" fleet status "$url"

img=$WORK/exports/FLEET-1
v=$(sgdisk -v "$img")
grep -q 'No problems found' <<<"$v" || fail "sgdisk -v: $v"
win=$(sgdisk -p "$img" | awk '$6 == "0700" { print $1 }' | tail -n 1)
mkwin_part_img "$img" "$win" "$WORK/new.c"
mkwin_part_img "$WORK/pc.img" 3 "$WORK/old.c"
ntfsfix -n "$WORK/new.c" >/dev/null 2>&1 || fail "ntfsfix -n C:"
check_eq "C: report.docx" "$(ntfscat "$WORK/old.c" /Users/staff/Documents/report.docx | sha256sum)" \
    "$(ntfscat "$WORK/new.c" /Users/staff/Documents/report.docx | sha256sum)"
pass "the image in the export named by the serial: GPT clean, C: intact"
echo "live_pxe_fleet: $(( $(date +%s) - t_vm ))s of VM time, $(( $(date +%s) - t_all ))s in all"
