# Helpers for the qcow2 / p2v img integration tests. Source after common.sh.
# Sanitizer reports must not pass for ordinary failures (ASan exits 1 by default).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=98:print_stacktrace=1"
POKE="python3 $P2V_SRC/tests/lib/qcow2_poke.py"

# json_same WHAT JQFILTER CMD_A -- CMD_B: both commands must exit alike and
# print equal JSON once passed through the filter (sorted keys).
json_same() {
    local what=$1 filter=$2 a b
    shift 2
    local cmd_a=() cmd_b=()
    while [ "$1" != "--" ]; do cmd_a+=("$1"); shift; done
    shift
    cmd_b=("$@")
    local ra=0 rb=0
    "${cmd_a[@]}" >"$WORK/json_a.out" 2>"$WORK/json_a.err" || ra=$?
    "${cmd_b[@]}" >"$WORK/json_b.out" 2>"$WORK/json_b.err" || rb=$?
    if [ "$ra" != "$rb" ]; then
        cat "$WORK/json_a.err" "$WORK/json_b.err" >&2
        fail "$what: exit codes differ: ${cmd_a[*]} -> $ra, ${cmd_b[*]} -> $rb"
    fi
    a=$(jq -S "$filter" "$WORK/json_a.out") || fail "$what: ${cmd_a[*]}: no JSON (exit $ra)"
    b=$(jq -S "$filter" "$WORK/json_b.out") || fail "$what: ${cmd_b[*]}: no JSON (exit $rb)"
    if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") | head -20 >&2
        fail "$what: JSON differs"
    fi
}

# The info fields qemu-img and p2v share.
INFO_FIELDS='{"virtual-size", "format", "cluster-size", "backing-filename", "full-backing-filename", "backing-filename-format", "dirty-flag", "format-specific"}'

# json_same_as_qemu WHAT IMG: p2v img info, check and map --output=json print
# what qemu-img's do (info: the fields both have; check: but the file name).
json_same_as_qemu() {
    local what=$1 img=$2
    json_same "$what info" "$INFO_FIELDS" qemu-img info --output=json "$img" -- \
        "$P2V" img info --output=json "$img"
    json_same "$what check" 'del(.filename)' qemu-img check --output=json "$img" -- \
        "$P2V" img check --output=json "$img"
    json_same "$what map" '.' qemu-img map --output=json "$img" -- \
        "$P2V" img map --output=json "$img"
}

# mkdata FILE SIZE KIND: reproducible test data. KIND dense = random and
# text blocks with some zero blocks; sparse = a few blocks in a sea of zeros.
mkdata() {
    python3 - "$1" "$2" "$3" <<'PY'
import random, sys
path, size, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(42)
with open(path, "wb") as f:
    f.truncate(size)
    blk = 4096
    for off in range(0, size, blk):
        n = min(blk, size - off)
        r = rnd.random()
        if kind == "sparse" and r > 0.04:
            continue
        if kind == "dense" and r < 0.25:
            continue
        f.seek(off)
        if r < 0.6 and kind == "dense":
            f.write(("block %d of p2v test data " % off).encode().ljust(n, b"."))
        else:
            f.write(rnd.randbytes(n))
PY
}

# nonzero_clusters FILE CLUSTER_SIZE: how many clusters hold a non-zero byte.
nonzero_clusters() {
    python3 - "$1" "$2" <<'PY'
import sys
path, cs = sys.argv[1], int(sys.argv[2])
n = 0
with open(path, "rb") as f:
    while True:
        b = f.read(cs)
        if not b:
            break
        if b.count(0) != len(b):
            n += 1
print(n)
PY
}
