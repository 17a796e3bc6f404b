#!/bin/bash
# p2v convert --report-url: the events of docs/fleet.md received by an
# independent receiver (tests/lib/report_sink.py, Python's http.server):
# start, progress and finish of one run with the token and the PC's identity
# (a sysfs tree given with P2V_MACHINE_ROOT); a bad token refused at start,
# nothing written; a selection that does not exist -> a failed report with
# the reason, no image; a receiver that is not there -> retried, then the run
# fails before writing; a receiver that goes away mid-run -> progress dropped
# with one warning, the finish retried, exit 1, the image kept; a slow
# receiver that does not slow the copy; the options' refusals.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 qemu-img jq python3

cd "$WORK"
MKPC_FILES=2 MKPC_FILE_KB=400
mkpc_disk1 disk1.img

# start_sink NAME ARGS...: a receiver logging to NAME.log; its URL in $url.
start_sink() {
    local name=$1
    shift
    python3 "$P2V_SRC/tests/lib/report_sink.py" "$name.port" "$name.log" "$@" &
    track_pid $!
    wait_until 100 test -s "$name.port" || fail "receiver $name did not start"
    url="http://127.0.0.1:$(cat "$name.port")/api/report"
}

# A PC of its own: SMBIOS strings and one wired NIC.
pc=$WORK/pc
mkdir -p "$pc/sys/class/dmi/id" "$pc/sys/class/net/eth0/device"
echo "SER-4711" >"$pc/sys/class/dmi/id/product_serial"
echo "4c4c4544-0031-3210-8052-b4c04f4e3232" >"$pc/sys/class/dmi/id/product_uuid"
echo "Dell Inc." >"$pc/sys/class/dmi/id/sys_vendor"
echo "OptiPlex 7010" >"$pc/sys/class/dmi/id/product_name"
echo "18:66:da:aa:bb:cc" >"$pc/sys/class/net/eth0/address"
printf '  s3cret-token \n' >token

# --- one run, every event
start_sink ok --token s3cret-token
P2V_MACHINE_ROOT=$pc expect_exit 0 "$P2V" convert --report-url "$url" \
    --report-token-file token -o out.qcow2 disk1.img:1 disk1.img:3
qemu-img check -q out.qcow2 || fail "the image does not pass qemu-img check"
log=ok.log
check_eq "events" "start progress finish" \
    "$(jq -r .body.event "$log" | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "one run id" 1 "$(jq -r .body.run "$log" | sort -u | wc -l)"
jq -e -r .body.run "$log" | head -1 | grep -Eq '^[0-9a-f]{32}$' || fail "run id not 32 hex digits"
check_eq "token sent" "Bearer s3cret-token" "$(jq -r .auth "$log" | sort -u)"
check_eq "content type" "application/json" "$(jq -r .ctype "$log" | sort -u)"
check_eq "format version" 1 "$(jq -r .body.p2v_report "$log" | sort -u)"
check_eq "serial" "SER-4711" "$(jq -r .body.pc.serial "$log" | sort -u)"
check_eq "model" "Dell Inc./OptiPlex 7010" "$(jq -r '.body.pc | "\(.vendor)/\(.model)"' "$log" | sort -u)"
check_eq "mac" "18:66:da:aa:bb:cc" "$(jq -r .body.pc.mac "$log" | sort -u)"
check_eq "uuid" "4c4c4544-0031-3210-8052-b4c04f4e3232" "$(jq -r .body.pc.uuid "$log" | sort -u)"
check_eq "output" "out.qcow2" "$(jq -r .body.output "$log" | sort -u)"
check_eq "selection" '["disk1.img:1","disk1.img:3"]' "$(jq -c .body.selection "$log" | sort -u)"
jq -e -s '[.[].body.time] | all(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))' \
    "$log" >/dev/null || fail "a time is not ISO 8601 UTC"
# progress: bytes never above the total, the last one complete, partitions of the target
last=$(jq -c 'select(.body.event == "progress") | .body.progress' "$log" | tail -1)
check_eq "last progress complete" true "$(jq '.bytes_done == .bytes_total and .bytes_total > 0' <<<"$last")"
jq -e -s '[.[] | select(.body.event == "progress") | .body.progress |
           (.bytes_done <= .bytes_total) and (.stage == "copy") and
           (.partition == 1 or .partition == 2)] | all' "$log" >/dev/null ||
    fail "a progress event out of range"
# finish carries convert --json's result: the same partitions the image holds
check_eq "result partitions" 2 "$(jq 'select(.body.event == "finish") | .body.result.partitions | length' "$log")"
# the same object convert --json prints for the same selection (but the new
# disk identity, the timings, the name and the file's exact size)
"$P2V" convert --json -o ref.qcow2 disk1.img:1 disk1.img:3 >ref.json
strip='del(.id, .seconds, .output, .image_bytes)'
check_eq "result = convert --json" "$(jq -cS "$strip" ref.json)" \
    "$(jq -cS "select(.body.event == \"finish\") | .body.result | $strip" "$log")"
[ "$(jq 'select(.body.event == "finish") | .body.result.copied_bytes' "$log")" -gt 0 ] ||
    fail "finish reports no bytes copied"

# --- a wrong token: refused at start, nothing written, the reason on the console
echo wrong >badtoken
expect_exit 1 "$P2V" convert --report-url "$url" --report-token-file badtoken -o bad.qcow2 disk1.img:1
grep -q "refused: HTTP 401: bad token; nothing was written" "$WORK/last.err" ||
    fail "no 401 reason: $(cat "$WORK/last.err")"
[ ! -e bad.qcow2 ] || fail "an image was written after the start was refused"

# --- a selection that is not there: start, then failed naming why; no image
: >ok.log
expect_exit 1 "$P2V" convert --report-url "$url" --report-token-file token -o none.qcow2 disk1.img:9
check_eq "failed run's events" "start failed" "$(jq -r .body.event ok.log | tr '\n' ' ' | sed 's/ $//')"
jq -r 'select(.body.event == "failed") | .body.error' ok.log | grep -q "no partition 9" ||
    fail "the failed report does not say why: $(cat ok.log)"
[ ! -e none.qcow2 ] || fail "an image was written for a failed run"

# --- the receiver answers 503: retried 5 times (1+2+4+8 s of waits), then no run
start_sink busy --status 503
t0=$(date +%s)
expect_exit 1 "$P2V" convert --report-url "$url" -o busy.qcow2 disk1.img:1
t=$(( $(date +%s) - t0 ))
grep -q "start report to $url not delivered after 5 attempts: HTTP 503" "$WORK/last.err" ||
    fail "no retry message: $(cat "$WORK/last.err")"
[ "$t" -ge 14 ] && [ "$t" -le 40 ] || fail "5 attempts took ${t}s, expected about 15"
[ ! -e busy.qcow2 ] || fail "an image was written without a receiver"

# --- the receiver goes away after the start: progress dropped with one
# warning, the finish retried, then exit 1 with the reason; the image is kept
start_sink gone --exit-after 1
expect_exit 1 "$P2V" convert --report-url "$url" -o gone.qcow2 disk1.img:1 disk1.img:3
check_eq "events before it went" start "$(jq -r .body.event gone.log)"
check_eq "progress warnings" 1 "$(grep -c "warning: progress report to $url not delivered" "$WORK/last.err")"
grep -q "finish report to $url not delivered after 5 attempts: .*(the image is written)" \
    "$WORK/last.err" || fail "no finish failure: $(cat "$WORK/last.err")"
qemu-img check -q gone.qcow2 || fail "the image written before the finish failed is damaged"

# --- a slow receiver (5 s per progress event) does not hold up the copy:
# the copy's own time (convert's "written" line) stays under the first wait
start_sink slow --slow 5
expect_exit 0 "$P2V" convert --report-url "$url" -o slow.qcow2 disk1.img:1 disk1.img:3
secs=$(sed -n 's/.*slow.qcow2 written: .*, \([0-9.]*\) s$/\1/p' "$WORK/last.err")
[ -n "$secs" ] || fail "no written line: $(cat "$WORK/last.err")"
awk -v s="$secs" 'BEGIN { exit !(s < 4) }' || fail "the copy took ${secs}s behind a slow receiver"
check_eq "slow receiver's events" "start progress finish" \
    "$(jq -r .body.event slow.log | uniq | tr '\n' ' ' | sed 's/ $//')"
jq -e -s '[.[].body | select(.event == "progress") | .progress] | last |
          .bytes_done == .bytes_total' slow.log >/dev/null || fail "slow receiver missed the end"

# --- refusals
expect_exit 2 "$P2V" convert --report-token-file token -o x.qcow2 disk1.img:1
expect_exit 2 "$P2V" convert --report-url "$url" --dry-run -o x.qcow2 disk1.img:1
expect_exit 1 "$P2V" convert --report-url "ftp://127.0.0.1/x" -o x.qcow2 disk1.img:1
grep -q "not an http:// or https:// URL" "$WORK/last.err" || fail "ftp URL not refused"
: >empty
expect_exit 1 "$P2V" convert --report-url "$url" --report-token-file empty -o x.qcow2 disk1.img:1
grep -q "token file empty: empty" "$WORK/last.err" || fail "empty token not refused"
printf 'a\x01b\n' >ctl
expect_exit 1 "$P2V" convert --report-url "$url" --report-token-file ctl -o x.qcow2 disk1.img:1
grep -q "control character" "$WORK/last.err" || fail "control character in token not refused"
[ ! -e x.qcow2 ] || fail "an image was written after a refusal"
pass "convert --report-url"
