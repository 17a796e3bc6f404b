#!/bin/bash
# p2v fleet serve with a simulated fleet on 127.0.0.1: 20 `p2v convert
# --report-url` runs at once (processes, each with a PC identity of its own
# through P2V_MACHINE_ROOT), the server killed (-9) and restarted in the
# middle -> every run finishes and nothing stored is lost; then the page (in
# headless Chromium when installed: its DOM and a screenshot kept in
# build-test/), /api/pcs and `p2v fleet status` agree; the chart counts the
# 20 PCs done; the page's script updates a row in place while a PC reports
# (the DOM after Chromium's virtual time has passed); hostile input (markup
# in a PC's strings, a 10 MB body, bad tokens, malformed JSON, a half-sent
# request, path traversal) -> 4xx, no markup on the page, the server alive.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/fleet.sh"
fleet_setup python3
N=20

# start_server [PORT]: p2v fleet serve on 127.0.0.1; $port, $base set.
start_server() { fleet_start http --listen "127.0.0.1:${1:-0}"; }

# mkpc_identity I: a sysfs tree for PC number I.
mkpc_identity() {
    local d=$WORK/pc$1
    mkdir -p "$d/sys/class/dmi/id" "$d/sys/class/net/eth0/device"
    printf 'SN-%04d\n' "$1" >"$d/sys/class/dmi/id/product_serial"
    echo "Acme" >"$d/sys/class/dmi/id/sys_vendor"
    echo "Desk $(( $1 % 3 ))" >"$d/sys/class/dmi/id/product_name"
    printf '52:54:00:00:10:%02x\n' "$1" >"$d/sys/class/net/eth0/address"
}

start_server
[ "$(ss -Htln "sport = :$port" | awk '{print $4}')" = "127.0.0.1:$port" ] ||
    fail "the server listens elsewhere than 127.0.0.1:$port"

# --- the fleet: 20 runs at once, the server killed and restarted among them
run_pc() {
    P2V_MACHINE_ROOT=$WORK/pc$1 "$P2V" convert --report-url "$base/api/report" \
        --report-token-file token -o "img$1.qcow2" disk2.img:1 disk2.img:2 \
        >"run$1.out" 2>"run$1.err"
    echo $? >"run$1.rc"
}
pids=()
for i in $(seq 1 $N); do
    mkpc_identity "$i"
    run_pc "$i" &
    pids+=($!)
    if [ "$i" = 10 ]; then
        # wait for a few to be stored, then kill the server mid-fleet; runs
        # 11-15 start while it is down (their start is retried), the server
        # comes back on the same port 2 s later
        for _ in $(seq 100); do
            [ "$(curl -s "$base/api/pcs" | jq length)" -ge 5 ] && break; sleep 0.1
        done
        before=$(curl -s "$base/api/pcs" | jq -c '[.[] | .serial] | sort')
        kill -9 "$srv_pid"; wait "$srv_pid" 2>/dev/null || true
    fi
    if [ "$i" = 15 ]; then
        sleep 2
        start_server "$port"
        after=$(curl -s "$base/api/pcs" | jq -c '[.[] | .serial] | sort')
        # runs waiting for their retries may have come in meanwhile: a superset
        jq -en --argjson b "$before" --argjson a "$after" '$b - $a == []' >/dev/null ||
            fail "PCs lost across kill -9: before $before, after $after"
        pass "$(jq length <<<"$before") PCs kept across kill -9"
    fi
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 1 $N); do
    [ "$(cat "run$i.rc")" = 0 ] || fail "run $i failed: $(cat "run$i.err")"
    qemu-img check -q "img$i.qcow2" || fail "img$i.qcow2 is damaged"
done
pass "20 runs through a server restart"

curl -s "$base/api/pcs" >pcs.json
check_eq "PCs" $N "$(jq length pcs.json)"
check_eq "all done" "done" "$(jq -r '[.[].status] | unique | join(",")' pcs.json)"
check_eq "serials" "$(seq -f 'SN-%04g' 1 $N | sort | tr '\n' ' ')" \
    "$(jq -r '.[].serial' pcs.json | sort | tr '\n' ' ')"
jq -e 'all(.[]; .image_bytes > 0 and .copied_bytes > 0 and (.output | test("^img[0-9]+\\.qcow2$")))' \
    pcs.json >/dev/null || fail "a PC without its image: $(jq -c . pcs.json | head -c 600)"
# each image's size as the server has it, against the file
for i in 1 7 20; do
    id=$(jq -r --arg s "$(printf 'SN-%04d' "$i")" '.[] | select(.serial == $s) | .id' pcs.json)
    check_eq "PC $i image size" "$(stat -c %s "img$i.qcow2")" \
        "$(curl -s "$base/api/pcs/$id" | jq .image_bytes)"
done
"$P2V" fleet status "$base" >status.txt
check_eq "status rows" $N "$(grep -c ' done ' status.txt)"
"$P2V" fleet status --json "$base" | jq -e "length == $N" >/dev/null || fail "status --json"

# --- hostile input
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
auth=(-H "Authorization: Bearer $(cat token)")
evil='<script>document.title="pwned"</script><img src=x onerror=alert(1)>'
body=$(jq -cn --arg e "$evil" '{p2v_report:1, event:"failed", run:"ffff0000",
    time:"2026-12-07T15:00:00Z", pc:{serial:"EVIL-1", computername:$e, model:$e},
    output:$e, error:$e}')
check_eq "hostile strings stored" 200 "$(code "${auth[@]}" -d "$body" "$base/api/report")"
check_eq "bad token" 401 "$(code -H 'Authorization: Bearer nope' -d "$body" "$base/api/report")"
check_eq "no token" 401 "$(code -d "$body" "$base/api/report")"
check_eq "malformed JSON" 400 "$(code "${auth[@]}" -d '{"p2v_report":1,' "$base/api/report")"
reason=$(curl -s "${auth[@]}" -d '{"p2v_report":1,"event":"boom","run":"aa"}' "$base/api/report")
grep -q '"event" is not start, progress, finish or failed' <<<"$reason" || fail "no reason: $reason"
check_eq "not a report" 400 "$(code "${auth[@]}" -d '[1,2]' "$base/api/report")"
head -c $((10 << 20)) /dev/zero | tr '\0' 'a' >big
check_eq "10 MB body" 413 "$(code "${auth[@]}" --data-binary @big "$base/api/report")"
check_eq "10 MB body, chunked" 413 "$(code "${auth[@]}" -H 'Transfer-Encoding: chunked' \
    --data-binary @big "$base/api/report")"
for u in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /api/pcs/../../etc/passwd /api/pcs/1/.. \
         /api/pcs/-1 /api/pcs/99999 /state/fleet.sqlite /fleet.sqlite /api/report/../pcs; do
    c=$(code --path-as-is "$base$u")
    [ "$c" = 404 ] || fail "GET $u answered $c"
done
check_eq "PUT" 405 "$(code -X PUT -d x "$base/api/report")"
# half-sent requests: a body promised and never sent, headers never finished
python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
held = []
for i in range(30):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(b"POST /api/report HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"p2v")
    else:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    held.append(s)
for s in held[:10]:
    s.close()
PY
check_eq "after half-sent requests" 200 "$(code "$base/api/pcs")"
check_eq "PCs after hostile input" $((N + 1)) "$(curl -s "$base/api/pcs" | jq length)"
kill -0 "$srv_pid" || fail "the server died"

curl -s "$base/" >page.html
# the page's only script is its own file (which the CSP allows, and no inline one)
own_script() { check_eq "$1: scripts" "<script src=\"app.js\" $3>" "$(grep -o '<script[^>]*>' "$2")"; }
own_script page page.html defer
if grep -q '<img' page.html; then fail "markup from a PC reached the page"; fi
grep -q '<noscript><meta http-equiv="refresh" content="5"></noscript>' page.html ||
    fail "no refresh for a browser without JavaScript"
grep -q '<svg id="chart"' page.html || fail "no chart"
grep -q '>20 done</text>' page.html || fail "the chart does not count 20 PCs done"
[ "$(grep -o '<rect x="[0-9.]*" y="[0-9.]*" width' page.html | wc -l)" -ge 1 ] ||
    fail "no throughput bar in the chart"
curl -s -D app.hdr "$base/app.js" >app.js
grep -qi '^content-type: text/javascript' app.hdr || fail "app.js type: $(cat app.hdr)"
grep -q "DOMParser" app.js || fail "app.js is not the page's script"
grep -qi "^content-security-policy: default-src 'none'; style-src 'unsafe-inline'; script-src 'self'" app.hdr ||
    fail "CSP: $(grep -i content-security app.hdr)"

grep -q '&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;' page.html ||
    fail "the hostile name is not on the page, escaped"
check_eq "page rows" $((N + 1)) "$(grep -c '<tr id="pc-' page.html)"
grep -q '<span>done: 20</span>' page.html || fail "totals: $(grep totals page.html)"

# --- the page in a browser, when there is one
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
    prof=$(mktemp -d)
    flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
           --disable-component-update --disable-sync --no-first-run "--user-data-dir=$prof")
    timeout 60 "$browser" "${flags[@]}" --dump-dom "$base/" >dom.html 2>/dev/null
    check_eq "rows in the browser" $((N + 1)) "$(grep -o '<tr id="pc-[0-9]*"' dom.html | wc -l)"
    check_eq "done rows in the browser" $N "$(grep -o '<tr id="pc-[0-9]*" class="st-done"' dom.html | wc -l)"
    grep -q '<title>p2v fleet</title>' dom.html || fail "the page's title changed: a script ran"
    own_script dom dom.html 'defer=""'
    if grep -q '<img' dom.html; then fail "markup from a PC in the browser's DOM"; fi
    # live updates: a PC reports progress every 0.1 s while the page is open;
    # the script (polling every 2 s of Chromium's virtual time) replaces rows
    live_body() { jq -cn --argjson d "$1" '{p2v_report:1, event:"progress", run:"11ee0000",
        time:"2026-12-07T15:00:00Z", pc:{serial:"LIVE-1", computername:"live-pc"},
        progress:{stage:"copy", bytes_done:$d, bytes_total:100000000, rate:1000000, eta:60}}'; }
    ( for d in $(seq 1000000 1000000 99000000); do
          curl -s -o /dev/null "${auth[@]}" -d "$(live_body "$d")" "$base/api/report"; sleep 0.1
      done ) &
    poster=$!
    sleep 0.5
    timeout 90 "$browser" "${flags[@]}" --virtual-time-budget=120000 --dump-dom "$base/" >live.html 2>/dev/null
    kill "$poster" 2>/dev/null || true; wait "$poster" 2>/dev/null || true
    updates=$(sed -n 's/.*<body data-updates="\([0-9]*\)".*/\1/p' live.html)
    [ "${updates:-0}" -ge 1 ] || fail "the script updated nothing: $(grep -o '<body[^>]*>' live.html)"
    grep -q '<small id="live">live</small>' live.html || fail "the page does not say it is live"
    shown=$(grep -o '<tr id="pc-[0-9]*" class="st-converting"><td class="name"><a href="api/pcs/[0-9]*">live-pc</a>.*</tr>' live.html |
            grep -o '[0-9.]* MiB of' | head -1)
    now=$(curl -s "$base/api/pcs" | jq '.[] | select(.serial == "LIVE-1") | .bytes_done')
    [ -n "$shown" ] || fail "the live PC's row is not in the DOM"
    pass "the page updated itself $updates times; the live PC shows $shown (server: $now bytes)"

    timeout 60 "$browser" "${flags[@]}" --window-size=1400,1000 --screenshot="$WORK/fleet-page.png" \
        "$base/" >/dev/null 2>&1
    [ -s fleet-page.png ] || fail "no screenshot"
    cp fleet-page.png "$(dirname "$P2V")/fleet-page.png"   # kept as the test's artifact
    rm -rf "$prof"
    pass "the page in headless Chromium"
else
    echo "note: no chromium; the page was checked as HTML only" >&2
fi
pass "fleet serve"
