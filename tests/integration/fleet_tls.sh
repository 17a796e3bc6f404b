#!/bin/bash
# p2v fleet serve --tls-cert/--tls-key: HTTPS with a self-signed certificate
# made here by openssl. curl --cacert (an independent client) posts a report
# and reads the page and /api/pcs over TLS; a client that does not trust the
# certificate, and plain HTTP to the TLS port, get nothing. `p2v convert
# --report-url https://…` with --report-ca delivers its run, and `p2v fleet
# status --ca` reads it; without the CA status refuses the certificate. A
# key that is not the certificate's, a missing key and a file that is not
# PEM are refused with one line before anything listens.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/fleet.sh"
fleet_setup openssl
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
    -keyout other-key.pem -out other-cert.pem 2>/dev/null

# refusals: one line each, exit 1 or 2, nothing left listening
expect_exit 2 "$P2V" fleet serve --dir st --token-file token --tls-cert cert.pem
grep -q "tls-cert and --tls-key go together" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 1 "$P2V" fleet serve --dir st --token-file token --listen 127.0.0.1:0 \
    --tls-cert cert.pem --tls-key token
grep -q "^p2v: fleet serve: --tls-key token: not a PEM file" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 1 "$P2V" fleet serve --dir st --token-file token --listen 127.0.0.1:0 \
    --tls-cert cert.pem --tls-key missing.pem
grep -q "^p2v: fleet serve: --tls-key missing.pem: No such file" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
expect_exit 1 "$P2V" fleet serve --dir st --token-file token --listen 127.0.0.1:0 \
    --tls-cert cert.pem --tls-key other-key.pem
grep -q "are not a certificate and its key" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
pass "bad certificates and keys refused"

fleet_start https --listen 127.0.0.1:0 --tls-cert cert.pem --tls-key key.pem

# an independent client: curl with the certificate as its only CA
auth=(-H "Authorization: Bearer $(cat token)")
body='{"p2v_report":1,"event":"start","run":"7150","time":"2026-12-07T15:00:00Z","pc":{"serial":"TLS-CURL"}}'
check_eq "report over TLS" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert cert.pem \
    "${auth[@]}" -d "$body" "$base/api/report")"
curl -sf --cacert cert.pem "$base/" >page.html || fail "no page over TLS"
grep -q '>TLS-CURL</a>' page.html || fail "the PC is not on the page"
curl -sf --cacert cert.pem "$base/api/pcs" | jq -e '.[0].serial == "TLS-CURL"' >/dev/null ||
    fail "/api/pcs over TLS"
# the TLS version and the certificate curl saw
curl -sv --cacert cert.pem "$base/api/pcs" -o /dev/null 2>curl.log
grep -q "SSL connection using TLSv1.[23]" curl.log || fail "no TLS 1.2/1.3: $(grep SSL curl.log)"
grep -q "subject: CN=127.0.0.1" curl.log || fail "not our certificate: $(grep subject curl.log)"
pass "curl --cacert: report stored, page and JSON read over TLS"

rc=0; curl -s -o /dev/null "$base/" 2>/dev/null || rc=$?
check_eq "curl without the CA" 60 "$rc"        # peer certificate cannot be authenticated
rc=0; curl -s -o /dev/null --cacert other-cert.pem "$base/" 2>/dev/null || rc=$?
check_eq "curl with another CA" 60 "$rc"
plain=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/" || true)
[ "$plain" != 200 ] || fail "plain HTTP answered on the TLS port"
pass "an untrusted certificate and plain HTTP get nothing"

# p2v's own client: convert reports over TLS with --report-ca
mkdir -p pc/sys/class/dmi/id
echo TLS-P2V >pc/sys/class/dmi/id/product_serial
P2V_MACHINE_ROOT=$WORK/pc expect_exit 0 "$P2V" convert --report-url "$base/api/report" \
    --report-token-file token --report-ca cert.pem -o img.qcow2 disk2.img:1 disk2.img:2
qemu-img check -q img.qcow2 || fail "img.qcow2 is damaged"
"$P2V" fleet status --ca cert.pem --json "$base" >status.json
check_eq "run over TLS" "done img.qcow2" \
    "$(jq -r '.[] | select(.serial == "TLS-P2V") | "\(.status) \(.output)"' status.json)"
"$P2V" fleet status --ca cert.pem "$base" | grep -q "TLS-P2V .* done" || fail "fleet status table"
expect_exit 1 "$P2V" fleet status "$base"
grep -qi "certificate" "$WORK/last.err" || fail "no word of the certificate: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" convert --report-url "$base/api/report" --report-token-file token \
    --report-ca missing.pem -o img2.qcow2 disk2.img:1
grep -q "missing.pem: No such file" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ ! -e img2.qcow2 ] || fail "an image was written without its report"
expect_exit 2 "$P2V" convert --report-ca cert.pem -o img3.qcow2 disk2.img:1
pass "p2v convert --report-ca and fleet status --ca over TLS"

kill -0 "$srv_pid" || fail "the server died"
pass "fleet serve over TLS"
