# Helpers for the partition-table integration tests (source after common.sh).

# p2v_parts DISK [p2v disks options]: "number start size type" per partition,
# MBR types as sfdisk writes them (lower-case hex, no 0x, no leading zero).
p2v_parts() {
    local disk=$1
    shift
    "$P2V" disks --json "$@" "$disk" | jq -r '.disks[0].partitions[] |
        "\(.number) \(.start) \(.size) \(.type | ascii_downcase |
           if startswith("0x") then .[2:] | ltrimstr("0") else . end)"'
}

# sfdisk_parts DEV: the same lines from sfdisk --json (the oracle).
sfdisk_parts() {
    sfdisk --json "$1" | jq -r '.partitiontable.partitions[] |
        "\(.node | capture("(?<n>[0-9]+)$").n) \(.start) \(.size) \(.type | ascii_downcase)"'
}

# same_parts WHAT DISK [p2v options] -- SFDISK_DEV: compare both listings.
same_parts() {
    local what=$1 disk=$2 dev
    shift 2
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    dev=$2
    local a b
    a=$(p2v_parts "$disk" "${opts[@]}")
    b=$(sfdisk_parts "$dev")
    if [ "$a" != "$b" ]; then
        echo "--- p2v disks"; echo "$a"; echo "--- sfdisk"; echo "$b"
        fail "$what: p2v disks and sfdisk disagree"
    fi
    [ -n "$a" ] || fail "$what: no partitions listed"
    pass "$what: $(echo "$a" | wc -l) partitions agree with sfdisk --json"
}

# expect_msg CODE 'stderr substring' CMD...: exit status and message.
expect_msg() {
    local code=$1 msg=$2
    shift 2
    expect_exit "$code" "$@"
    if ! grep -qF -- "$msg" "$WORK/last.err"; then
        echo "--- stderr" >&2; cat "$WORK/last.err" >&2
        fail "'$*': stderr lacks '$msg'"
    fi
    if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$WORK/last.err"; then
        cat "$WORK/last.err" >&2
        fail "'$*': sanitizer report"
    fi
    pass "exit $code, '$msg'"
}

# put_bytes FILE OFFSET HEX...: overwrite bytes in place (e.g. put_bytes f 446 00 ee).
put_bytes() {
    local f=$1 off=$2 hex
    shift 2
    hex=$(printf '\\x%s' "$@")
    printf "$hex" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# put_le32 FILE OFFSET VALUE
put_le32() {
    local v=$3
    put_bytes "$1" "$2" "$(printf %02x $((v & 255)))" "$(printf %02x $(((v >> 8) & 255)))" \
        "$(printf %02x $(((v >> 16) & 255)))" "$(printf %02x $(((v >> 24) & 255)))"
}

# mark_bitlocker DISK SECTOR: the boot sector of a BitLocker volume at SECTOR
# as far as p2v looks ("-FVE-FS-" at byte 3, the 0x55 0xAA signature).
mark_bitlocker() {
    printf '\xeb\x58\x90-FVE-FS-' | dd of="$1" bs=1 seek=$(($2 * 512)) conv=notrunc status=none
    put_bytes "$1" $(($2 * 512 + 510)) 55 aa
}
