#!/bin/bash
# p2v Live's network runner (live/bin/netboot) outside a VM: P2V_NETBOOT_ROOT
# puts its system paths in a folder, and stubs of mount, curl, p2v and
# systemctl record what it asks of them. Checked: the p2v.* parameters become
# the right p2v convert arguments (the template passed as it is, a relative
# output inside the share, the token in a mode-600 file and never on the
# command line, the drivers fetched into memory); NFS and SMB mounts with
# their options and a credentials file of mode 600; a plan that cannot be
# fetched and a share that cannot be mounted end in a `failed` event posted by
# the runner (valid JSON in the report format, with the reason) and in a
# report file on the share; p2v.after. The live_pxe tests boot the real thing.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need jq
runner=$P2V_SRC/live/bin/netboot

# sandbox NAME CMDLINE: a fresh root for one run.
sandbox() {
    R=$WORK/$1
    mkdir -p "$R/bin" "$R/proc" "$R/sys/class/tty/console" "$R/dev" "$R/sys/class/dmi/id" \
        "$R/sys/class/net/eth0/device" "$R/lib/systemd" "$R/usr/lib/p2v-live" "$R/www" "$R/mnt"
    echo "$2" >"$R/proc/cmdline"
    echo ttyS0 >"$R/sys/class/tty/console/active"
    echo 'SER <1>' >"$R/sys/class/dmi/id/product_serial"
    echo 'Desk "9"' >"$R/sys/class/dmi/id/product_name"
    echo 52:54:00:aa:bb:cc >"$R/sys/class/net/eth0/address"
    printf '#!/bin/sh\nexit 0\n' >"$R/lib/systemd/systemd-networkd-wait-online"
    printf '#!/bin/sh\nexit 0\n' >"$R/usr/lib/p2v-live/setro-all"
    echo '{"p2v_plan": 2, "select": [{"role": "windows"}]}' >"$R/www/plan.json"
    echo 'username=fleet' >"$R/www/creds"
    head -c 1000 /dev/urandom >"$R/www/virtio-win.iso"
    # mount: records its arguments; "mounts" by creating the directory and
    # a marker that the mountpoint stub looks for. MOUNT_FAIL=1: refuses.
    cat >"$R/bin/mount" <<EOF
#!/bin/bash
echo "\$*" >>"$R/mount.args"
[ -z "\${MOUNT_FAIL:-}" ] || { echo "mount error(113): No route to host" >&2; exit 32; }
mkdir -p "\${@: -1}" && touch "$R/mounted"
EOF
    printf '#!/bin/sh\n[ -e "%s/mounted" ]\n' "$R" >"$R/bin/mountpoint"
    printf '#!/bin/sh\nrm -f "%s/mounted"\n' "$R" >"$R/bin/umount"
    printf '#!/bin/sh\necho "$*" >>"%s/systemctl.args"\n' "$R" >"$R/bin/systemctl"
    # curl: GET http://server/NAME -> www/NAME; POST -> posted.jsonl (with
    # the Authorization header); a host named "down" cannot be reached.
    cat >"$R/bin/curl" <<EOF
#!/bin/bash
out= body= auth= url=
while [ \$# -gt 0 ]; do
    case \$1 in
    -o) out=\$2; shift 2 ;;
    --data-binary) body=\${2#@}; shift 2 ;;
    -H) case \$2 in Authorization:*) auth=\$2 ;; esac; shift 2 ;;
    --retry|--retry-delay|--retry-max-time|--connect-timeout|--max-time) shift 2 ;;
    --) url=\$2; shift 2 ;;
    -*) shift ;;
    *) url=\$1; shift ;;
    esac
done
echo "\$url" >>"$R/curl.urls"
case \$url in *://down*) echo "curl: (7) Failed to connect to down port 80: Connection refused" >&2; exit 7 ;; esac
if [ -n "\$body" ]; then
    jq -c --arg a "\$auth" '{auth: \$a, body: .}' "\$body" >>"$R/posted.jsonl"
else
    cp "$R/www/\${url##*/}" "\$out" 2>/dev/null || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
fi
EOF
    # p2v: records its arguments and the token file's mode; convert prints
    # a result naming the output with {serial} filled in.
    cat >"$R/bin/p2v" <<EOF
#!/bin/bash
case \$1 in --version) echo "p2v 9.9-test"; exit 0 ;; disks) exit 0 ;; esac
printf '%s\n' "\$@" >"$R/p2v.args"
prev=
for a in "\$@"; do
    [ "\$prev" = --report-token-file ] && stat -c %a "\$a" >"$R/token.mode" && cp "\$a" "$R/token.seen"
    [ "\$prev" = -o ] && o=\${a//\{serial\}/SER__1_}
    prev=\$a
done
[ -z "\${P2V_FAIL:-}" ] || { echo "p2v: plan: select entry 1 (windows) matches no partition on this PC" >&2; exit 1; }
[ -n "\${o:-}" ] && case \$o in /*) echo data >"\$o" ;; esac
printf '{"output": "%s", "table": "mbr"}\n' "\${o:-}"
EOF
    chmod +x "$R"/bin/* "$R/lib/systemd/systemd-networkd-wait-online" "$R/usr/lib/p2v-live/setro-all"
}
run_netboot() { P2V_NETBOOT_ROOT=$R P2V_NETBOOT_TRIES=2 bash "$runner" >"$R/stdout" 2>&1 || fail "netboot exited $?: $(cat "$R/stdout")"; }
arg_after() { awk -v k="$2" 'p { print; exit } $0 == k { p = 1 }' "$1/p2v.args"; }

# --- NBD output with a template, a report URL and a token, drivers
sandbox nbd "boot=live p2v.plan=http://srv/plan.json p2v.output=nbd://10.1.1.5:10809/{serial} p2v.report=http://srv/api/report p2v.token=s3cr=t p2v.drivers=http://srv/virtio-win.iso"
run_netboot
check_eq "plan fetched into memory" "$(cat "$R/www/plan.json")" "$(cat "$R/run/p2v/plan.json")"
check_eq "-o: the template as it is" "nbd://10.1.1.5:10809/{serial}" "$(arg_after "$R" -o)"
check_eq "--plan" "$R/run/p2v/plan.json" "$(arg_after "$R" --plan)"
check_eq "--report-url" "http://srv/api/report" "$(arg_after "$R" --report-url)"
check_eq "--drivers: the ISO fetched into memory" "$R/run/p2v/virtio-win.iso" "$(arg_after "$R" --drivers)"
cmp "$R/www/virtio-win.iso" "$R/run/p2v/virtio-win.iso" || fail "the drivers ISO differs"
check_eq "token file" "s3cr=t" "$(cat "$R/token.seen")"
check_eq "token file mode" 600 "$(cat "$R/token.mode")"
grep -q 's3cr=t' "$R/p2v.args" && fail "the token is on p2v's command line"
grep -q '^--json$' "$R/p2v.args" || fail "no --json"
check_eq "p2v.after default" "--no-block poweroff" "$(cat "$R/systemctl.args")"
grep -q 'p2v-netboot: done: nbd://10.1.1.5:10809/SER__1_' "$R/dev/ttyS0" || fail "console: $(cat "$R/dev/ttyS0")"
[ ! -e "$R/mount.args" ] || fail "something was mounted without p2v.mount"
pass "NBD template, report URL, token file (600), drivers in memory, poweroff"

# --- SMB share with credentials, a relative output: the report file next to the image
sandbox smb "p2v.plan=plan.json p2v.mount=smb://fs1/images p2v.credentials=http://srv/creds p2v.output=pcs/{serial}.qcow2 p2v.after=reboot"
mkdir -p "$R/mnt/target/pcs"
cp "$R/www/plan.json" "$R/mnt/target/plan.json"   # p2v.plan: a path on the share
run_netboot
check_eq "mount.cifs" "-t cifs -o rw,iocharset=utf8,credentials=$R/run/p2v/credentials //fs1/images $R/mnt/target" \
    "$(cat "$R/mount.args")"
check_eq "credentials mode" 600 "$(stat -c %a "$R/run/p2v/credentials")"
check_eq "-o inside the share" "$R/mnt/target/pcs/{serial}.qcow2" "$(arg_after "$R" -o)"
rep=$R/mnt/target/pcs/SER__1_.p2v-report.json
[ -s "$rep" ] || fail "no report file next to the image: $(ls -R "$R/mnt/target")"
jq . "$rep"
check_eq "report status" ok "$(jq -r .status "$rep")"
check_eq "report image" "$R/mnt/target/pcs/SER__1_.qcow2" "$(jq -r .image "$rep")"
check_eq "report pc" 'SER <1>|Desk "9"|52:54:00:aa:bb:cc' "$(jq -r '[.pc.serial, .pc.model, .pc.mac] | join("|")' "$rep")"
check_eq "report result" mbr "$(jq -r .result.table "$rep")"
check_eq "p2v.after=reboot" "--no-block reboot" "$(cat "$R/systemctl.args")"
pass "SMB share with credentials, plan from the share, report file beside the image, reboot"

# --- NFS, p2v convert fails (the plan does not fit): the reason in the report file
sandbox nfs "p2v.plan=http://srv/plan.json p2v.mount=nfs://10.1.1.5/srv/images p2v.output={serial}.img p2v.after=shell"
P2V_FAIL=1 run_netboot
check_eq "mount nfs" "-t nfs -o rw,nolock,soft,timeo=100,retrans=3 10.1.1.5:/srv/images $R/mnt/target" "$(cat "$R/mount.args")"
rep=$R/mnt/target/SER__1_.p2v-report.json
check_eq "failed report" failed "$(jq -r .status "$rep")"
check_eq "its reason" "plan: select entry 1 (windows) matches no partition on this PC" "$(jq -r .reason "$rep")"
check_eq "no image" null "$(jq -r .image "$rep")"
[ ! -e "$R/systemctl.args" ] || fail "p2v.after=shell powered off or rebooted"
pass "NFS; a plan that does not fit: failed, reason in the report file; p2v.after=shell"

# --- the plan cannot be fetched: the runner posts a failed event itself
sandbox noplan "p2v.plan=http://down/plan.json p2v.output=nbd://h/{serial} p2v.report=http://srv/api/report p2v.token=tok"
run_netboot
[ ! -e "$R/p2v.args" ] || fail "p2v ran without a plan"
check_eq "one event posted" 1 "$(wc -l <"$R/posted.jsonl")"
jq . "$R/posted.jsonl"
check_eq "event" "failed|1|Authorization: Bearer tok|SER <1>|nbd://h/{serial}" \
    "$(jq -r '[.body.event, .body.p2v_report, .auth, .body.pc.serial, .body.output] | join("|")' "$R/posted.jsonl")"
jq -e '.body.run | test("^[0-9a-f]{32}$")' "$R/posted.jsonl" >/dev/null || fail "run is not 32 hex digits"
jq -e '.body.time | test("^[0-9-]{10}T[0-9:]{8}Z$")' "$R/posted.jsonl" >/dev/null || fail "time is not ISO 8601"
jq -r .body.error "$R/posted.jsonl" | grep -q 'plan http://down/plan.json: Failed to connect.*(after 2 retries)' ||
    fail "error: $(jq -r .body.error "$R/posted.jsonl")"
grep -q 'p2v-netboot: FAILED: plan http://down/plan.json' "$R/dev/ttyS0" || fail "console: $(cat "$R/dev/ttyS0")"
pass "a plan that cannot be fetched: a failed event with the reason, after the retries"

# --- the share cannot be mounted: failed event, no p2v, bounded tries
sandbox nomount "p2v.plan=x.json p2v.mount=nfs://nas/x p2v.report=http://srv/api/report"
MOUNT_FAIL=1 run_netboot
check_eq "mount tries" 2 "$(wc -l <"$R/mount.args")"
jq -r .body.error "$R/posted.jsonl" | grep -q 'cannot mount nfs://nas/x: mount error(113): No route to host (after 2 tries)' ||
    fail "error: $(jq -r .body.error "$R/posted.jsonl")"
check_eq "no token, no Authorization" "" "$(jq -r .auth "$R/posted.jsonl")"
pass "a share that cannot be mounted: a failed event after the tries"

# --- no p2v.plan: the unattended runner's hand-over does not happen
grep -q "grep -qE '(^| )p2v\\\\.plan=' /proc/cmdline" "$P2V_SRC/live/bin/unattended" ||
    fail "live/bin/unattended does not hand over on p2v.plan="
