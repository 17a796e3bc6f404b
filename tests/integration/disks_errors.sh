#!/bin/bash
# What p2v disks says about paths that are not disks, and about usage errors.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/ptable.sh"

expect_msg 1 "p2v: $WORK/missing.img: No such file or directory" "$P2V" disks "$WORK/missing.img"
expect_msg 1 "p2v: $WORK: is a directory, not a disk or image file" "$P2V" disks "$WORK"
expect_msg 1 "p2v: /dev/null: is a character device, not a block device or image file" "$P2V" disks /dev/null
mkfifo "$WORK/fifo"
expect_msg 1 "p2v: $WORK/fifo: not a regular file or block device" "$P2V" disks "$WORK/fifo"

# A file we may not read (as an unprivileged user; root reads everything).
truncate -s 1M "$WORK/secret.img"
chmod 600 "$WORK/secret.img"
chmod 755 "$WORK"
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    expect_msg 1 "p2v: $WORK/secret.img: cannot open for reading: Permission denied" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$P2V" disks "$WORK/secret.img"
else
    echo "note: setpriv unavailable, unreadable-file case not run"
fi

# Sources are opened read-only: a read-only file (mode 0444) lists fine, and
# the image is unchanged afterwards.
truncate -s 8M "$WORK/ro.img"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$WORK/ro.img"
chmod 444 "$WORK/ro.img"
before=$(sha256sum <"$WORK/ro.img")
expect_exit 0 "$P2V" disks "$WORK/ro.img"
check_eq "source unchanged" "$before" "$(sha256sum <"$WORK/ro.img")"

# Usage errors exit 2.
expect_msg 2 "disks: unknown option '--bogus'" "$P2V" disks --bogus x
expect_msg 2 "disks: --sector-size must be 512 or 4096, not '1000'" "$P2V" disks --sector-size 1000 x
expect_msg 2 "disks: option '--sector-size' needs an argument" "$P2V" disks --sector-size
expect_exit 0 "$P2V" disks --help
grep -q "^Usage: p2v disks" "$WORK/last.out" || fail "--help prints no usage"
grep -q -- "--json" "$WORK/last.out" || fail "--help does not document --json"
grep -q -- "--sector-size" "$WORK/last.out" || fail "--help does not document --sector-size"
pass "--help documents the options"

# With no DISK: every disk of the machine, as valid JSON, with zero or more disks.
"$P2V" disks --json >"$WORK/all.json" 2>"$WORK/all.err" || true
jq -e '.disks | type == "array"' "$WORK/all.json" >/dev/null || fail "no-argument listing is not JSON"
if grep -qE 'AddressSanitizer|runtime error' "$WORK/all.err"; then cat "$WORK/all.err"; fail "sanitizer"; fi
pass "no-argument listing: $(jq '.disks | length' "$WORK/all.json") disks"

# Options may follow the disks; "--" ends them.
truncate -s 1M "$WORK/plain.img"
check_eq "option after the disk" 1 "$("$P2V" disks "$WORK/plain.img" --json | jq '.disks | length')"
expect_msg 1 "p2v: --json: No such file or directory" "$P2V" disks -- --json

# Output that cannot be written is a failure, not a silent success.
if [ -w /dev/full ]; then
    rc=0
    "$P2V" disks --json "$WORK/plain.img" >/dev/full 2>"$WORK/full.err" || rc=$?
    check_eq "exit status with stdout on a full device" 1 "$rc"
    grep -q "p2v: error writing to standard output: No space left on device" "$WORK/full.err" ||
        fail "no message for a full stdout: $(cat "$WORK/full.err")"
fi
