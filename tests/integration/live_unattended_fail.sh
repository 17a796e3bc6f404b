#!/bin/bash
# p2v Live, unattended, a plan that cannot run (SeaBIOS, the ISO as a USB
# stick): the plan was saved with both story disks, the PC booted has only
# disk 2. The live system still powers off by itself, and leaves on P2V-OUT a
# report with status "failed" and the reason (disk 1 not found by its
# identity), the log, and no image. No disk is changed.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/live.sh"
live_story_disks plan
log=$WORK/serial.log
LIVE_SOURCES=disk2.img live_qemu bios "$log" 1500 file "if=virtio,format=raw,file=$WORK/out.img"
if ! live_wait_exit 1500; then
    _live_plain "$log" | tail -n 60 >&2
    fail "p2v Live did not power off by itself after a failed plan"
fi
pass "p2v Live ($LIVE_ACCEL) powered off in ${LIVE_SECONDS}s"
_live_plain "$log" | grep -a 'p2v-unattended' || true
sha256sum -c sources.sum || fail "a source disk changed"
live_out_get "$WORK/out.img" p2v-report.json "$WORK/report.json" || fail "no p2v-report.json on P2V-OUT"
live_out_get "$WORK/out.img" p2v-log.txt "$WORK/log.txt" || fail "no p2v-log.txt on P2V-OUT"
echo "--- p2v-report.json:"; cat "$WORK/report.json"
check_eq "report status" failed "$(jq -r .status "$WORK/report.json")"
check_eq "report exit code" 1 "$(jq -r .exit_code "$WORK/report.json")"
check_eq "report image" null "$(jq -r .image "$WORK/report.json")"
jq -r .reason "$WORK/report.json" | grep -q "no disk with this identity" ||
    fail "the reason does not say that disk 1 was not found: $(jq -r .reason "$WORK/report.json")"
pass "reason: $(jq -r .reason "$WORK/report.json")"
if live_out_get "$WORK/out.img" image.qcow2 "$WORK/image.qcow2"; then fail "an image was left after a failure"; fi
pass "no image left on P2V-OUT"
