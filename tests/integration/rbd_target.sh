#!/bin/bash
# -o rbd:POOL/IMAGE against a real one-node Ceph (tests/lib/ceph.sh): the
# story PC written into RBD equals the file output; only the used extents are
# sent; --verify reads back through librbd; an RBD image is a source and
# `p2v img` reads it; an existing image is refused and untouched; a wrong
# pool and an unreachable monitor each give one line and exit 1 within
# --rbd-timeout; a pool quota smaller than the data gives one "no space" line
# naming the quota, in bounded time, and nothing under IMAGE (a manager runs
# for that case: without one Ceph enforces no quota); the OSD killed mid-copy
# gives exit 1 within one --io-timeout of the stall, naming the partial image
# with its `rbd rm` line.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/ceph.sh"
need sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 qemu-img cmp rbd timeout nbdkit bc
cd "$WORK"
ceph_start
conf=":conf=$CEPH_CONF"
MKPC_FILES=3 MKPC_FILE_KB=2000
mkpc_disk1 disk1.img
mkpc_disk2 disk2.img
sels=(disk1.img:1 disk1.img:5 disk2.img:1 disk1.img:2 disk1.img:3)
want=(1:1 1:5 2:1 1:2 1:3)

same_but_signature() {
    local diff
    diff=$(cmp -l "$1" "$2" | awk '$1 < 441 || $1 > 444' | head -3 || true)
    [ -z "$diff" ] || fail "$1 and $2 differ beyond the disk signature: $diff"
}

# --- the story into RBD, against the same conversion into a file
expect_exit 0 "$P2V" convert -O raw -o file.raw "${sels[@]}"
t0=$SECONDS
expect_exit 0 "$P2V" convert --verify --json -o "rbd:rbd/story$conf" "${sels[@]}"
echo "converted into rbd:rbd/story in $((SECONDS - t0)) s"
grep -q verified "$WORK/last.err" || fail "not verified: $(cat "$WORK/last.err")"
fsid=$(ceph_cli fsid)
jq -e --arg f "$fsid" '.output_target.name == "rbd" and (.output_target.description | contains("Ceph cluster " + $f + ", pool rbd")) and (.output_target.description | contains("features layering,exclusive-lock,object-map,fast-diff,deep-flatten"))' "$WORK/last.out" >/dev/null ||
    fail "JSON does not name the cluster $fsid: $(jq -c .output_target "$WORK/last.out")"
grep -q "rbd:rbd/story.*Ceph cluster $fsid, pool rbd, image story (written as story.p2v-partial" "$WORK/last.err" ||
    fail "no notice naming the cluster: $(cat "$WORK/last.err")"
rbd -c "$CEPH_CONF" ls rbd | grep -qx story || fail "no image 'story'"
rbd -c "$CEPH_CONF" ls rbd | grep -q p2v-partial && fail "a partial image is left"
rbd -c "$CEPH_CONF" info rbd/story
rbd -c "$CEPH_CONF" export rbd/story story.raw >/dev/null 2>&1
same_but_signature story.raw file.raw
mkpc_check_output story.raw "${want[@]}"
pass "rbd:rbd/story equals the file output (but the signature), files identical"

# only the used extents were written: allocated bytes near the data, not the size
rbd -c "$CEPH_CONF" du rbd/story
used=$(rbd -c "$CEPH_CONF" du --format json rbd/story | jq '.images[0].used_size')
vsize=$(stat -c %s file.raw)
fileused=$(( $(stat -c %b file.raw) * 512 ))
echo "rbd du: $used of $vsize bytes used; the raw file holds $fileused"
[ "$used" -lt $(( vsize / 2 )) ] || fail "rbd used $used of $vsize: more than the data"
pass "only the used data was sent ($used of $vsize bytes allocated)"

# --- an RBD image as a source and for p2v img
expect_exit 0 "$P2V" img compare "rbd:rbd/story$conf" story.raw
expect_exit 0 "$P2V" disks --json "rbd:rbd/story$conf"
check_eq "partitions seen through librbd" 6 "$(jq '.disks[0].partitions | length' "$WORK/last.out")"
expect_exit 0 "$P2V" img info --output=json "rbd:rbd/story$conf"
check_eq "img info virtual size" "$vsize" "$(jq '."virtual-size"' "$WORK/last.out")"
pass "an RBD image reads as a disk (p2v disks, img info, img compare)"

# --- a name per PC: -o's {serial} filled from the PC (a sysfs tree stands
# for it), its '/' made '_' so that it stays one image name in the pool
mkdir -p pc/sys/class/dmi/id
echo "SER-R1/x" >pc/sys/class/dmi/id/product_serial
P2V_MACHINE_ROOT=pc expect_exit 0 "$P2V" convert -o "rbd:rbd/pc-{serial}$conf" disk1.img:1
rbd -c "$CEPH_CONF" ls rbd | grep -qx "pc-SER-R1_x" || fail "no image pc-SER-R1_x: $(rbd -c "$CEPH_CONF" ls rbd)"
pass "-o rbd:rbd/pc-{serial} names the image after the PC's serial"

# --- an existing image: refused, untouched; replaced with -f
before=$(sha256sum <story.raw)
expect_exit 1 "$P2V" convert -o "rbd:rbd/story$conf" "${sels[@]}"
grep -q "the image exists" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
rbd -c "$CEPH_CONF" export rbd/story - 2>/dev/null | sha256sum | grep -q "${before% *}" || fail "existing image changed"
expect_exit 0 "$P2V" convert -f -o "rbd:rbd/story$conf" "${sels[@]}"
pass "an existing image is refused and untouched; -f replaces it"

# --- wrong pool, unknown user, unreachable monitor: one line, exit 1, bounded
expect_exit 1 "$P2V" convert -o "rbd:nopool/x$conf" "${sels[@]}"
grep -q "cannot open pool 'nopool': no such pool" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
sed "s/^mon host = .*/mon host = v2:127.0.0.1:9/" "$CEPH_CONF" >dead.conf
t0=$SECONDS
expect_exit 1 timeout 60 "$P2V" convert --rbd-timeout 5 -o "rbd:rbd/x:conf=$WORK/dead.conf" "${sels[@]}"
took=$((SECONDS - t0))
grep -q "cannot connect to the Ceph cluster" "$WORK/last.err" || fail "$(cat "$WORK/last.err")"
[ "$took" -le 30 ] || fail "unreachable monitor took $took s with --rbd-timeout 5"
[ "$(grep -c '^p2v: ' "$WORK/last.err")" = 1 ] || fail "more than one error line: $(cat "$WORK/last.err")"
pass "wrong pool and unreachable monitor (${took} s) each give one line and exit 1"

# --- a pool quota smaller than the data: "no space", exit 1, nothing under IMAGE
# The monitor marks a pool full from the manager's statistics (a few seconds
# behind), so the source is served at 20 MB/s (nbdkit's rate filter) for the
# quota to be reached well before the copy ends.
ceph_mgr_start
truncate -s 1G big.img
sfdisk -q big.img <<<'label: dos
start=2048, type=83'
head -c 700M /dev/urandom | dd of=big.img bs=1M seek=1 conv=notrunc status=none
ceph_cli osd pool set-quota rbd max_bytes $((8 << 20)) >/dev/null
nbdkit -U "$WORK/src.sock" -P "$WORK/src.pid" --filter=rate file big.img rate=160M
t0=$(date +%s.%N)
expect_exit 1 timeout 120 "$P2V" convert -O raw --io-timeout 10 -o "rbd:rbd/quota$conf" \
    "nbd+unix:///?socket=$WORK/src.sock:1"
took=$(echo "$(date +%s.%N) - $t0" | bc)
kill "$(cat "$WORK/src.pid")"
echo "quota: exit 1 after $took s: $(grep '^p2v: rbd' "$WORK/last.err")"
[ "$(grep -c '^p2v: rbd' "$WORK/last.err")" = 1 ] || fail "not one error line: $(cat "$WORK/last.err")"
if grep -q "Sanitizer" "$WORK/last.err"; then cat "$WORK/last.err" >&2; fail "sanitizer report"; fi
grep -q "^p2v: rbd:rbd/quota.*: write error at offset [0-9]* ([0-9]* bytes) in quota.p2v-partial: no space: pool 'rbd' is over its quota (max_bytes 8388608)" "$WORK/last.err" ||
    fail "no 'no space' line naming the quota: $(cat "$WORK/last.err")"
[ "$(echo "$took < 60" | bc)" = 1 ] || fail "the quota case took $took s"
rbd -c "$CEPH_CONF" ls rbd >images.txt
if grep -qx quota images.txt; then fail "an image is left under IMAGE"; fi
# Ceph moves an image to its trash before removing it, which a pool over its
# quota refuses: the partial image is then named, to be removed once there is room
if grep -qx quota.p2v-partial images.txt; then
    grep -q "the partial image rbd/quota.p2v-partial could not be removed (the pool has no room to move it to the trash first): remove it with 'rbd rm rbd/quota.p2v-partial' once the pool has room" "$WORK/last.err" ||
        fail "the partial image is left and not named: $(cat "$WORK/last.err")"
    ceph_cli osd pool set-quota rbd max_bytes 0 >/dev/null
    for _ in $(seq 100); do
        ceph_cli osd pool ls detail | grep "'rbd'" | grep -q full_quota || break
        sleep 0.3
    done
    rbd -c "$CEPH_CONF" rm rbd/quota.p2v-partial >/dev/null 2>&1 || fail "rbd rm as told failed"
    echo "quota: the partial image was named; 'rbd rm' removed it once the quota was lifted"
fi
ceph_cli osd pool set-quota rbd max_bytes 0 >/dev/null
pass "pool quota: exit 1 after $took s, one 'no space' line naming the quota, nothing under IMAGE"

# --- the OSD killed mid-copy: exit 1 within one --io-timeout (5 s) of the stall,
# nothing under IMAGE, the partial image named at once with its 'rbd rm' line
# (the memstore OSD cannot come back with its data, so it cannot be removed)
for _ in $(seq 100); do
    ceph_cli osd pool ls detail | grep "'rbd'" | grep -q full_quota || break
    sleep 0.3
done
# p2v gives the dead cluster's client up instead of waiting it out, and
# LeakSanitizer would count its memory: leaks are not looked for in this run
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
    "$P2V" convert -O raw --copy all --io-timeout 5 -o "rbd:rbd/big$conf" big.img:1 >big.out 2>big.err &
pid=$!
# kill the OSD once the copy has begun: the partial image exists
for _ in $(seq 300); do
    rbd -c "$CEPH_CONF" ls rbd 2>/dev/null | grep -qx 'big.p2v-partial' && break
    sleep 0.1
done
sleep 0.3
kill -0 "$pid" 2>/dev/null || fail "the copy ended before the OSD could be killed: $(cat big.err)"
ceph_osd_kill
t0=$(date +%s.%N)
rc=0
wait "$pid" || rc=$?
took=$(echo "$(date +%s.%N) - $t0" | bc)
echo "p2v ended $took s after the OSD died, exit $rc: $(grep '^p2v: rbd' big.err)"
[ "$rc" = 1 ] || { cat big.err >&2; fail "exit $rc after the OSD died"; }
# one --io-timeout, and a margin for the loaded machine
[ "$(echo "$took <= 9" | bc)" = 1 ] || fail "p2v took $took s to give up with --io-timeout 5"
if grep -q "ERROR: AddressSanitizer" big.err; then cat big.err >&2; fail "sanitizer report"; fi
grep -q "write error at offset .* in big.p2v-partial: the cluster did not answer within --io-timeout (5 s)" big.err ||
    fail "the error does not say what happened: $(cat big.err)"
grep -q "the partial image rbd/big.p2v-partial could not be removed (the cluster did not answer): remove it with 'rbd rm rbd/big.p2v-partial'" big.err ||
    fail "the partial image is not named: $(cat big.err)"
[ "$(grep -c '^p2v: rbd' big.err)" = 1 ] || fail "not one error line: $(cat big.err)"
pass "OSD killed mid-copy: exit 1 after $took s, the write error and the partial image named"
