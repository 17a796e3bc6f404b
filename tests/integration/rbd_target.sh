#!/bin/bash
# -o rbd:POOL/IMAGE against a real one-node Ceph (tests/lib/ceph.sh): the
# story PC written into RBD equals the file output; only the used extents are
# sent; --verify reads back through librbd; an RBD image is a source and
# `p2v img` reads it; an existing image is refused and untouched; the OSD
# killed mid-copy gives exit 1 and no image under IMAGE; a pool quota smaller
# than the data gives "no space"; a wrong pool, an unknown user and an
# unreachable monitor each give one line and exit 1 within --rbd-timeout.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/ceph.sh"
need sfdisk sgdisk mkntfs mkfs.vfat mkfs.ext4 qemu-img cmp rbd timeout
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
[ "$(wc -l <"$WORK/last.err")" = 1 ] || fail "more than one line: $(cat "$WORK/last.err")"
pass "wrong pool and unreachable monitor (${took} s) each give one line and exit 1"

# --- a pool quota smaller than the data: "no space", nothing left
ceph_cli osd pool create small 8 8 >/dev/null 2>&1
rbd -c "$CEPH_CONF" pool init small
ceph_cli osd pool set-quota small max_bytes $((8 << 20)) >/dev/null
sleep 2
expect_exit 1 timeout 120 "$P2V" convert --io-timeout 20 -o "rbd:small/q$conf" "${sels[@]}"
grep -qi "no space\|quota" "$WORK/last.err" || fail "no 'no space': $(cat "$WORK/last.err")"
rbd -c "$CEPH_CONF" ls small | grep -q . && fail "an image is left in the full pool: $(rbd -c "$CEPH_CONF" ls small)"
pass "a pool quota below the data: $(tail -1 "$WORK/last.err")"

# --- the OSD killed mid-copy: exit 1, nothing under IMAGE; the partial image
# removed once the OSD is back, or named
truncate -s 1G big.img
sfdisk -q big.img <<<'label: dos
start=2048, type=83'
head -c 700M /dev/urandom | dd of=big.img bs=1M seek=1 conv=notrunc status=none
"$P2V" convert -O raw --copy all --io-timeout 10 -o "rbd:rbd/big$conf" big.img:1 >big.out 2>big.err &
pid=$!
sleep 3
ceph_osd_kill
t0=$SECONDS
rc=0
wait "$pid" || rc=$?
echo "p2v ended $((SECONDS - t0)) s after the OSD died, exit $rc: $(cat big.err)"
[ "$rc" = 1 ] || fail "exit $rc after the OSD died"
ceph_osd_start
rbd -c "$CEPH_CONF" ls rbd | grep -qx big && fail "an image is left under the final name"
if rbd -c "$CEPH_CONF" ls rbd | grep -qx 'big.p2v-partial'; then
    grep -q "rbd rm rbd/big.p2v-partial" big.err || fail "the partial image is left and not named"
    pass "OSD killed: exit 1, the partial image named for removal"
else
    pass "OSD killed: exit 1, no image left"
fi
