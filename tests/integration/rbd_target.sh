#!/bin/bash
# -o rbd:POOL/IMAGE against a real one-node Ceph (tests/lib/ceph.sh): the
# story PC written into RBD equals the file output; only the used extents are
# sent; --verify reads back through librbd; an RBD image is a source and
# `p2v img` reads it; an existing image is refused and untouched; the OSD
# killed mid-copy gives exit 1 naming the partial image it could not remove; a wrong pool and an
# unreachable monitor each give one line and exit 1 within --rbd-timeout.
# (A pool quota is not tested: on this one-node cluster without a mgr, Ceph
# took 75 MB past an 8 MiB quota without refusing a write.)
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

# --- the OSD killed mid-copy: exit 1, nothing under IMAGE; the partial image
# removed once the OSD is back, or named
truncate -s 1G big.img
sfdisk -q big.img <<<'label: dos
start=2048, type=83'
head -c 700M /dev/urandom | dd of=big.img bs=1M seek=1 conv=notrunc status=none
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
t0=$SECONDS
rc=0
wait "$pid" || rc=$?
took=$((SECONDS - t0))
echo "p2v ended $took s after the OSD died, exit $rc: $(grep '^p2v: rbd' big.err)"
[ "$rc" = 1 ] || fail "exit $rc after the OSD died"
[ "$took" -le 180 ] || fail "p2v took $took s to give up with --io-timeout 5"
grep -q "write error at offset .* in big.p2v-partial: the cluster did not answer within --io-timeout" big.err ||
    fail "the error does not say what happened: $(cat big.err)"
# the memstore OSD cannot come back with its data, so the partial image cannot
# be removed: it must be named with the command that removes it
grep -q "the partial image rbd/big.p2v-partial could not be removed .*remove it with 'rbd rm rbd/big.p2v-partial'" big.err ||
    fail "the partial image is not named: $(cat big.err)"
pass "OSD killed mid-copy: exit 1 after $took s, the write error and the partial image named"
