#!/bin/bash
# p2v fleet serve --live/--plan/--output: the iPXE script names the server as
# the client reached it and carries p2v.plan, p2v.output, p2v.report and
# p2v.token; the three live files and the plan are served byte for byte, from
# a folder and from an ISO (copied out with xorriso); nothing else is served
# (other names, traversal, a server without --live).
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/fleet.sh"
need curl xorriso cmp

cd "$WORK"
mkdir -p tree/live
head -c 300000 /dev/urandom >tree/live/vmlinuz
head -c 200000 /dev/urandom >tree/live/initrd.img
head -c 700000 /dev/urandom >tree/live/filesystem.squashfs
echo secret >tree/live/other
echo '{"p2v_plan": 1}' >plan.json
echo "boot-token" >token

start_server() { fleet_start http --listen 127.0.0.1:0 "$@"; }
stop_server() { kill "$srv_pid"; wait "$srv_pid" || true; srv_pid=; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check_files() {
    local f
    for f in vmlinuz initrd.img filesystem.squashfs; do
        curl -sf "$base/live/$f" -o "got.$f" || fail "GET /live/$f"
        cmp -s "got.$f" "tree/live/$f" || fail "/live/$f differs from the file"
    done
    for u in /live/other /live/../live/other /live/%2e%2e/plan.json /live/ /live/vmlinuz/x \
             /../tree/live/vmlinuz /state/fleet.sqlite; do
        c=$(code --path-as-is "$base$u")
        [ "$c" = 404 ] || fail "GET $u answered $c"
    done
}

# --- from a folder
start_server --live tree --plan plan.json --output 'nbd://10.0.2.2:10809/{serial}'
curl -sf "$base/boot.ipxe" >boot.ipxe
head -1 boot.ipxe | grep -qx '#!ipxe' || fail "not an iPXE script: $(cat boot.ipxe)"
kernel=$(grep '^kernel ' boot.ipxe)
for want in "kernel $base/live/vmlinuz " " boot=live " " fetch=$base/live/filesystem.squashfs " \
            " p2v.plan=$base/plan.json " " p2v.output=nbd://10.0.2.2:10809/{serial} " \
            " p2v.report=$base/api/report " " p2v.token=boot-token"; do
    grep -qF -- "$want" <<<"$kernel " || fail "the kernel line lacks '$want': $kernel"
done
grep -qx "initrd $base/live/initrd.img" boot.ipxe || fail "no initrd line: $(cat boot.ipxe)"
grep -qx boot boot.ipxe || fail "no boot line"
# the name the client used (10.0.2.2 from a qemu guest) is the one in the script
curl -sf -H 'Host: 10.0.2.2:8080' "$base/boot.ipxe" | grep -q '^kernel http://10.0.2.2:8080/live/vmlinuz ' ||
    fail "the script does not follow the Host header"
curl -sf -H 'Host: evil" x=<y>' "$base/boot.ipxe" | grep -q "^kernel http://127.0.0.1:$port/live/vmlinuz " ||
    fail "a hostile Host header reached the script"
curl -sf "$base/plan.json" | cmp -s - plan.json || fail "/plan.json differs"
check_files
stop_server

# --- from an ISO
xorriso -as mkisofs -quiet -V P2V_LIVE -o live.iso tree 2>/dev/null
start_server --live live.iso
check_files
check_eq "no plan without --plan" 404 "$(code "$base/plan.json")"
grep -q ' p2v.plan=' <(curl -sf "$base/boot.ipxe") && fail "p2v.plan without --plan"
stop_server

# --- without --live there is no boot at all
start_server
for u in /boot.ipxe /live/vmlinuz /plan.json; do
    check_eq "GET $u without --live" 404 "$(code "$base$u")"
done
stop_server
expect_exit 2 "$P2V" fleet serve --dir state --token-file token --plan plan.json
expect_exit 1 "$P2V" fleet serve --dir state --token-file token --live nonexistent
grep -q "not an ISO image or a folder" "$WORK/last.err" || fail "no reason for a missing --live"
pass "fleet serve's network boot"
