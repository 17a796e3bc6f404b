#!/bin/bash
# The picking screen writing into Ceph: `p2v tui` driven through tmux, the
# output field set to rbd:rbd/tui (typed in with the o key), format raw, the
# story picked and written. Afterwards the cluster holds the image tui (and no
# partial image), and it equals the same selection converted by
# `p2v convert -o rbd:...` except the disk signature.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/ceph.sh"
need tmux rbd cmp
mkpc_setup
source "$P2V_SRC/tests/lib/tui.sh"
# both exit traps: the tmux server and the cluster
trap '_tui_tmux kill-server 2>/dev/null || true; ceph_stop; _p2v_cleanup' EXIT
ceph_start
trap '_tui_tmux kill-server 2>/dev/null || true; ceph_stop; _p2v_cleanup' EXIT
story=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)
out="rbd:rbd/tui:conf=$CEPH_CONF"

tui_start 120 30 NO_COLOR=1 -- tui disk1.img disk2.img
tui_wait "disk2.img  128.0 MiB  GPT"
tui_keys o C-u; tui_type "$out"; tui_keys Enter
tui_pick_story
# qcow2 is the screen's default format: an RBD image takes the disk itself
tui_wait "use -O raw"
tui_keys f
tui_wait "Plan ok: 5 partitions, MBR table"
pass "output field set to $out; raw asked for, then the plan is ok"

tui_keys p
tui_wait "Preview: the new disk $out"
tui_keys g
tui_wait "Written: $out" 180
tui_screen | tee result.txt
grep -q "Check: written into the RBD image: nothing to check here" result.txt ||
    fail "the result screen does not say where it wrote"
cmdline=$(sed -n '/The same from a shell:/,$p' result.txt | sed -n '2,5p' | awk 'NF { $1 = $1; print }' | paste -sd' ')
case "$cmdline" in
    "p2v convert -O raw -o $out "*) ;;
    *) fail "command line shown: $cmdline" ;;
esac
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi
pass "written through the picking screen"

# the cluster holds the image, and only it
rbd -c "$CEPH_CONF" ls rbd >images.txt
grep -qx tui images.txt || fail "no image 'tui' in the pool: $(cat images.txt)"
if grep -q p2v-partial images.txt; then fail "a partial image is left: $(cat images.txt)"; fi
rbd -c "$CEPH_CONF" info rbd/tui
rbd -c "$CEPH_CONF" export rbd/tui tui.raw >/dev/null 2>&1
expect_exit 0 "$P2V" convert -O raw -o "rbd:rbd/cli:conf=$CEPH_CONF" "${story[@]}"
rbd -c "$CEPH_CONF" export rbd/cli cli.raw >/dev/null 2>&1
check_eq "image sizes" "$(stat -c %s cli.raw)" "$(stat -c %s tui.raw)"
bad=$({ cmp -l tui.raw cli.raw || true; } | awk '$1 < 441 || $1 > 444' | wc -l)
check_eq "bytes differing outside the disk signature" 0 "$bad"
mkpc_check_output tui.raw 1:1 1:5 2:1 1:2 1:3
sha256sum -c sources.sum >/dev/null || fail "a source image changed"
pass "the image in the cluster is the CLI's image"
