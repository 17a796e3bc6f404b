#!/bin/bash
# p2v img convert never writes over its source (by any name, nor a file of
# the source's backing chain), never replaces anything but a regular file,
# and is all or nothing: on an error or a signal no DST and no temporary file
# is left, and an existing DST replaced with -f survives a failed run.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need qemu-img sha256sum mknod jq

cd "$WORK"
truncate -s 64M src.img
head -c 8M /dev/urandom | dd of=src.img bs=1M seek=4 conv=notrunc status=none
sum=$(sha256sum <src.img)

# The source itself, by its name, a symlink and a hard link: refused even with -f.
ln -s src.img link.img
ln src.img hard.img
for dst in src.img ./src.img link.img hard.img; do
    expect_exit 1 "$P2V" img convert -f src.img "$dst"
    grep -q "OUTPUT is one of the sources" "$WORK/last.err" || fail "img convert -f src.img $dst: $(cat "$WORK/last.err")"
done
check_eq "source unchanged" "$sum" "$(sha256sum <src.img)"
pass "the source is refused as DST by every name"

# A file of the source's backing chain.
qemu-img create -q -f qcow2 -b src.img -F raw top.qcow2
expect_exit 1 "$P2V" img convert -f top.qcow2 src.img
grep -q "in the backing chain of top.qcow2" "$WORK/last.err" || fail "backing file as DST: $(cat "$WORK/last.err")"
check_eq "backing file unchanged" "$sum" "$(sha256sum <src.img)"
pass "a backing file of the source is refused as DST"

# Something other than a regular file: refused, and still there.
mknod null.dev c 1 3
expect_exit 1 "$P2V" img convert -f src.img null.dev
grep -q "is not a regular file" "$WORK/last.err" || fail "device node as DST: $(cat "$WORK/last.err")"
[ -c null.dev ] || fail "the device node was removed"
pass "a device node is refused as DST and left alone"

# A failed run with -f leaves the existing DST as it was.
"$P2V" img convert src.img good.qcow2
cp good.qcow2 bad.qcow2
truncate -s 1M bad.qcow2              # its tables are at the end: now cut off
echo precious >keep.qcow2
expect_exit 1 "$P2V" img convert -f bad.qcow2 keep.qcow2
check_eq "existing DST after a failed run" precious "$(cat keep.qcow2)"
[ -z "$(ls -A | grep p2v-)" ] || fail "temporary file left: $(ls -A)"
pass "a failed run keeps the existing DST"

# A signal mid-write: nothing left under DST or a temporary name.
truncate -s 512M big.img
head -c 256M /dev/urandom | dd of=big.img conv=notrunc status=none
"$P2V" img convert --compress=zlib big.img sig.qcow2 2>sig.err &
pid=$!
wait_temp sig.qcow2 400 || true # a run already past its copy is signalled all the same
interrupt_run TERM "$pid" sig.qcow2 sig.err "interrupted by a signal"
pass "SIGTERM mid-write leaves nothing"

# And a normal run still gives an image qemu-img accepts and finds equal.
qemu-img check -q good.qcow2
qemu-img compare -q src.img good.qcow2
pass "img convert output checks clean and equals its source"

# "-c zstd SRC DST" takes zstd as the method, like "-czstd".
"$P2V" img convert -c zstd src.img z.qcow2
check_eq "img convert -c zstd" zstd "$("$P2V" img info --output=json z.qcow2 | jq -r '."format-specific".data."compression-type"')"
qemu-img compare -q src.img z.qcow2
pass "img convert -c zstd"
