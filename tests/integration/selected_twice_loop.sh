#!/bin/bash
# The same partition selected through an image file and through a loop
# device over that file is refused as "selected twice" (exit 1, nothing
# written), as selecting it twice under one name is; a loop device over a
# copy of the file is another disk and converts.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk losetup
[ "$(id -u)" = 0 ] || { echo "SKIP: loop devices need root" >&2; exit 77; }

cd "$WORK"
truncate -s 16M d.img
printf 'start=2048, size=8192, type=83\nstart=10240, size=8192, type=83\n' | sfdisk -q d.img
cp d.img copy.img
loop=$(losetup_attach d.img)
other=$(losetup_attach copy.img)
expect_exit 1 "$P2V" convert -O raw -o out.raw d.img:1 "$loop:1"
grep -q "^p2v: d.img:1 and $loop:1 are the same partition, selected twice (selections 1 and 2" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "message"; }
[ ! -e out.raw ] || fail "output written"
expect_exit 1 "$P2V" convert -O raw -o out.raw "$loop:2" d.img:1 d.img:2
grep -q "d.img:2 are the same partition, selected twice" "$WORK/last.err" || fail "message (2)"
pass "a partition selected through a loop device and its backing file: selected twice"
expect_exit 0 "$P2V" convert -O raw -o out.raw d.img:1 "$loop:2" "$other:1"
pass "different partitions of the same disk through both names, and a copy: converted"
