#!/bin/bash
# What a conversion leaves behind, and what it finds left behind:
#  - a temporary file that cannot be removed after a failure (OUTPUT in an
#    append-only directory, the failure a bad sector served by faultfs): the
#    error says so and names the file;
#  - a temporary file of a killed run to the same OUTPUT (no process has it
#    open): named in a notice, removed with -f; one a live process holds is
#    left alone;
#  - --dry-run into a directory that cannot take a file (a read-only mount): exit 1
#    naming the directory, as the real run would.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need sfdisk mkfs.ext4 chattr fusermount3
: "${P2V_FAULTFS:?P2V_FAULTFS must point at the faultfs test tool (ctest sets it)}"
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting needs root" >&2; exit 77; }
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse" >&2; exit 77; }

cd "$WORK"
truncate -s 24M disk.img
echo 'start=2048, size=40960, type=83' | sfdisk -q disk.img
head -c 8M /dev/urandom | dd of=disk.img bs=1M seek=2 conv=notrunc status=none

# --- killed run: a stale temporary file beside OUTPUT ---
stale=.out.raw.p2v-AbC123
head -c 4096 /dev/urandom >"$stale"
expect_exit 0 "$P2V" convert -O raw -o out.raw disk.img:1
grep -q "notice: ./$stale is the temporary file of an interrupted conversion to out.raw (no process has it open); remove it, or pass --force to have it removed" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "stale temporary file not named"; }
[ -e "$stale" ] || fail "removed without -f"
# held open by a live process (a conversion in progress): left alone, not named
sleep 60 <"$stale" &
holder=$!
expect_exit 0 "$P2V" convert -O raw -f -o out.raw disk.img:1
kill "$holder"; wait "$holder" 2>/dev/null || true
grep -q "$stale" "$WORK/last.err" && fail "a temporary file in use was named"
[ -e "$stale" ] || fail "a temporary file in use was removed"
expect_exit 0 "$P2V" convert -O raw -f -o out.raw disk.img:1
grep -q "notice: removed ./$stale, the temporary file of an interrupted conversion to out.raw" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "-f: not removed"; }
[ ! -e "$stale" ] || fail "-f: still there"
pass "a killed run's temporary file: named, removed with -f, left alone while open"

# --- --dry-run checks that the output directory takes a file ---
mkdir ro
mount -t tmpfs -o ro,size=1M tmpfs ro
track_mount "$WORK/ro"
expect_exit 1 "$P2V" convert --dry-run -O raw -o ro/out.raw disk.img:1
grep -q "^p2v: ro/out.raw: cannot write into its directory ro: Read-only file system$" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "dry run into a read-only directory"; }
expect_exit 1 "$P2V" convert -O raw -o ro/out.raw disk.img:1
grep -q "cannot write into its directory ro" "$WORK/last.err" || fail "real run into a read-only directory"
pass "--dry-run into a read-only directory: exit 1 naming it"

# --- a temporary file that cannot be removed ---
truncate -s 64M ext.img
mkfs.ext4 -q -F ext.img
mkdir ext
mount -o loop ext.img ext
track_mount "$WORK/ext"
mkdir ext/out
mkdir ff
"$P2V_FAULTFS" --bad $(((2048 + 8192) * 512)):512 disk.img ff
track_mount "$WORK/ff"
chattr +a ext/out
expect_exit 1 "$P2V" convert -O raw --copy all -o ext/out/x.raw ff/disk.img:1
chattr -a ext/out
grep -q "unreadable sectors .*: 10240; .*; the temporary file ext/out/.x.raw.p2v-...... cannot be removed (Operation not permitted); remove it by hand" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "undeletable temporary file not named"; }
[ ! -e ext/out/x.raw ] || fail "OUTPUT exists after a failure"
pass "a temporary file that cannot be removed is named"
fusermount3 -u ff
umount ext
