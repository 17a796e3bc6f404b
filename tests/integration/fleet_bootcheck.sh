#!/bin/bash
# p2v fleet serve --boot-check: finished images whose names match --output's
# template are booted with `p2v boot-check`, one at a time, from a queue in
# the server's database. Three `p2v convert --report-url` runs of the BIOS
# test PC: the whole PC (its guest powers itself off -> booted), the data
# partition alone (SYSLINUX's MBR finds no boot sector -> did not boot, with
# the reason), and one written outside the template (never opened), plus a
# report of a missing image (error, with boot-check's reason). The server is
# stopped (SIGTERM) while the whole PC's check runs and started again: the
# check is done again; then killed (-9) during that second attempt: the one
# started next waits for the orphaned boot-check before it boots the image
# itself. The verdicts and the last screenshots
# in /api/pcs, on the page (escaped, a thumbnail served from the server's
# folder only: same bytes as boot-check's file) and in `fleet status`; the
# images unchanged by their checks (sha256).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
bootimg_need_bios
need jq qemu-img curl sha256sum
export TMPDIR=$WORK
cd "$WORK"

marker=P2V-BOOT-OK-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
bootimg_initramfs "$WORK/initrd.img" "$marker"
bootimg_bios_pc "$WORK/pc.img" "$(bootimg_kernel)" "$WORK/initrd.img"
echo "bc-token-$RANDOM$RANDOM" >token
mkdir images

srv_pid=
stop_server() { [ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true; }
trap 'stop_server; _p2v_cleanup' EXIT
start_server() {
    [ ! -s srv.log ] || cat srv.log >>srv-all.log    # every server's log, in order
    : >srv.log
    "$P2V" fleet serve --dir state --token-file token --listen "127.0.0.1:${1:-0}" \
        --output "$WORK/images/{serial}.qcow2" --boot-check --boot-check-timeout 240 2>>srv.log &
    srv_pid=$!
    for _ in $(seq 100); do grep -q "listening on" srv.log && break; sleep 0.1; done
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' srv.log)
    [ -n "$port" ] || fail "the server did not start: $(cat srv.log)"
    base=http://127.0.0.1:$port
}

expect_exit 2 "$P2V" fleet serve --dir state --token-file token --boot-check
grep -q "boot-check needs --output TEMPLATE" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" fleet serve --dir state --token-file token --boot-check-timeout 5
grep -q "boot-check-timeout goes with --boot-check" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 2 "$P2V" fleet serve --dir state --token-file token --output "$WORK/{serial}.img" \
    --boot-check --boot-check-timeout 0

start_server
# convert_pc SERIAL OUTPUT ARGS...: a run reported as the PC with that serial
convert_pc() {
    local serial=$1 out=$2
    shift 2
    mkdir -p "$WORK/m-$serial/sys/class/dmi/id"
    echo "$serial" >"$WORK/m-$serial/sys/class/dmi/id/product_serial"
    P2V_MACHINE_ROOT=$WORK/m-$serial "$P2V" convert --report-url "$base/api/report" \
        --report-token-file token -o "$out" "$@" >"conv-$serial.out" 2>"conv-$serial.err" ||
        fail "convert $serial: $(cat "conv-$serial.err")"
}
# pc SERIAL: the PC's JSON
pc() { curl -s "$base/api/pcs" | jq --arg s "$1" '.[] | select(.serial == $s)'; }
# wait_state SERIAL STATE...: until the PC's check is in one of the states
wait_state() {
    local serial=$1 st
    shift
    for _ in $(seq 1200); do
        st=$(pc "$serial" | jq -r .boot_check.state)
        for want in "$@"; do [ "$st" = "$want" ] && return 0; done
        sleep 0.1
    done
    fail "$serial's check: $st, not $*"
}

convert_pc BC-2 "$WORK/images/BC-2.qcow2" --boot bios "$WORK/pc.img:1"
convert_pc BC-3 "$WORK/elsewhere.qcow2" "$WORK/pc.img:2" "$WORK/pc.img:1"
check_eq "outside the template: no check" null "$(pc BC-3 | jq -c .boot_check)"
wait_state BC-2 done error
# the whole PC last, so that its check is the one running now
convert_pc BC-1 "$WORK/images/BC-1.qcow2" "$WORK/pc.img:2" "$WORK/pc.img:1"
sha256sum images/*.qcow2 >images.sha256
wait_state BC-1 running
sleep 1
kill -TERM "$srv_pid"
wait "$srv_pid" || fail "the server did not stop cleanly: $(tail -3 srv.log)"
if pgrep -f "$WORK/images/BC-1.qcow2" >/dev/null; then fail "boot-check or qemu left running"; fi
grep -q "boot-check $WORK/images/BC-1.qcow2: started" srv.log || fail "no start in the log"
start_server "$port"
pass "stopped during BC-1's check"

# the check again at once; killed during it, its boot-check lives on
for _ in $(seq 300); do grep -q "boot-check $WORK/images/BC-1.qcow2: started" srv.log && break; sleep 0.1; done
grep -q "boot-check $WORK/images/BC-1.qcow2: started" srv.log || fail "BC-1 not checked again: $(cat srv.log)"
check_eq "BC-1 after the restart" running "$(pc BC-1 | jq -r .boot_check.state)"
kill -9 "$srv_pid"; wait "$srv_pid" 2>/dev/null || true
orphan=$(pgrep -f -- "boot-check --json --screenshots [^ ]*checks/[0-9]* .*BC-1.qcow2" || true)
start_server "$port"
if [ -n "$orphan" ]; then
    for _ in $(seq 100); do grep -q "waiting for the boot-check an earlier server left running" srv.log && break; sleep 0.1; done
    grep -q "BC-1.qcow2: waiting for the boot-check an earlier server left running" srv.log ||
        fail "the restarted server did not wait for the orphaned check: $(cat srv.log)"
    pass "killed during BC-1's second attempt: the orphaned boot-check ($orphan) waited for"
else
    echo "note: the orphaned boot-check had already ended; nothing to wait for" >&2
fi

# a finish naming an image of the template that is not there: "error", why
curl -sf -o /dev/null -H "Authorization: Bearer $(cat token)" -d '{"p2v_report":1,"event":"finish",
    "run":"9e0e","time":"2026-12-07T15:00:00Z","pc":{"serial":"BC-GONE"},
    "output":"'"$WORK"'/images/BC-GONE.qcow2"}' "$base/api/report" || fail "report of BC-GONE"

for _ in $(seq 1200); do
    states=$(curl -s "$base/api/pcs" | jq -r '[.[].boot_check.state // empty] | join(" ")')
    grep -qw 'queued\|running' <<<"$states" || break
    sleep 0.5
done
curl -s "$base/api/pcs" >pcs.json
check_eq "BC-1 checked again after the restart" "done true" \
    "$(jq -r '.[] | select(.serial == "BC-1") | .boot_check | "\(.state) \(.booted)"' pcs.json)"
check_eq "BC-2" "done false" \
    "$(jq -r '.[] | select(.serial == "BC-2") | .boot_check | "\(.state) \(.booted)"' pcs.json)"
jq -r '.[] | select(.serial == "BC-2") | .boot_check.reason' pcs.json | grep -q 'Missing operating system' ||
    fail "BC-2's reason: $(jq -c '.[] | select(.serial == "BC-2") | .boot_check' pcs.json)"
cat srv.log >>srv-all.log
grep -q "boot-check $WORK/images/BC-1.qcow2: booted" srv.log || fail "log: $(cat srv.log)"
grep -q "boot-check $WORK/images/BC-2.qcow2: did not boot" srv-all.log || fail "log: $(cat srv-all.log)"
check_eq "a missing image" "error null" \
    "$(jq -r '.[] | select(.serial == "BC-GONE") | .boot_check | "\(.state) \(.booted)"' pcs.json)"
jq -r '.[] | select(.serial == "BC-GONE") | .boot_check.reason' pcs.json |
    grep -q "^boot-check could not run: boot-check $WORK/images/BC-GONE.qcow2: .*No such file or directory" ||
    fail "BC-GONE's reason: $(jq -c '.[] | select(.serial == "BC-GONE") | .boot_check' pcs.json)"
sha256sum -c --quiet images.sha256 || fail "an image changed during its boot check"
pass "verdicts: BC-1 boots, BC-2 does not (Missing operating system), images unchanged"

# the screenshots: served from the server's folder, the same bytes
for s in BC-1 BC-2; do
    url=$(jq -r --arg s "$s" '.[] | select(.serial == $s) | .boot_check.screenshot' pcs.json)
    [[ "$url" =~ ^/checks/[0-9]+\.png$ ]] || fail "$s: screenshot $url"
    id=${url#/checks/}; id=${id%.png}
    curl -sf -D shot.hdr "$base$url" >shot.png || fail "GET $url"
    grep -qi '^content-type: image/png' shot.hdr || fail "$url type"
    check_eq "$s: PNG" '89504e470d0a1a0a' "$(head -c 8 shot.png | od -An -tx1 | tr -d ' \n')"
    last=$(ls state/checks/"$id"/shot-*.png | sort | tail -1)
    check_eq "$s: the last screenshot" "$(sha256sum <"$last")" "$(sha256sum <shot.png)"
done
code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }
for u in /checks/ /checks/1 /checks/1.png/.. /checks/../fleet.sqlite /checks/%2e%2e/fleet.sqlite \
         /checks/1/shot-001.png /checks/1/report.json /checks/99.png /checks/-1.png /checks/1.PNG \
         /state/checks/1/shot-001.png; do
    check_eq "GET $u" 404 "$(code "$base$u")"
done

curl -s "$base/" >page.html
grep -q '&#10003; boots' page.html || fail "no ✓ on the page"
grep -q '&#10007; does not boot</span>: a boot loader stopped with an error: &quot;Missing operating system&quot;' page.html ||
    fail "no ✗ with its reason: $(grep -o '<div class="boot">[^/]*' page.html)"
check_eq "thumbnails" 2 "$(grep -o '<img class="shot" src="checks/[0-9]*.png"' page.html | wc -l)"
"$P2V" fleet status "$base" >status.txt
grep -q "BC-1 .* done *ok " status.txt || fail "status: $(cat status.txt)"
grep -q "BC-2 .* done *failed " status.txt || fail "status: $(cat status.txt)"
grep -q "BC-3 .* done *- " status.txt || fail "status: $(cat status.txt)"
grep -q "BC-GONE .* done *error " status.txt || fail "status: $(cat status.txt)"

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
    prof=$(mktemp -d)
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        "--user-data-dir=$prof" --window-size=1200,700 --virtual-time-budget=3000 \
        --screenshot="$WORK/fleet-bootcheck.png" "$base/" >/dev/null 2>&1 || true
    [ -s fleet-bootcheck.png ] || fail "no screenshot of the page"
    cp fleet-bootcheck.png "$(dirname "$P2V")/fleet-bootcheck.png"   # the test's artifact
    rm -rf "$prof"
fi
kill -0 "$srv_pid" || fail "the server died"
pass "fleet serve --boot-check"
