#!/bin/bash
# The closing note of issue 14, by hand (not a CTest test; takes minutes and
# a few GiB of scratch space under ${TMPDIR:-/tmp}):
#
#   tests/resize_closing_note.sh [P2V]      (default: build/p2v, the release build)
#
# A 4 GiB NTFS C: (MBR, at 1 MiB) holding about 1 GiB of real files copied
# from /usr through ntfs-3g, converted three ways into qcow2:
#   plain   pc.img:1        the same conversion without resizing
#   min     pc.img:1=min    shrunk to used + the default margin
#   8G      pc.img:1=8G     grown to 8 GiB
# For each: the dry-run lines, the time (/usr/bin/time), and the checks:
# qemu-img check and info, ntfsfix -n, ntfsresize --info --no-action, the
# hidden sectors and both boot sectors, and every file's sha256 against the
# source's (both read through ntfs-3g mounts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
P2V=${1:-$root/build/p2v}
[ -x "$P2V" ] || { echo "no p2v at $P2V (scripts/build release)" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
for t in sfdisk mkntfs ntfs-3g ntfsfix ntfsresize qemu-img sha256sum /usr/bin/time python3; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/p2v-closing.XXXXXX")
mkdir "$W/mnt"
cleanup() { umount "$W/mnt" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"

le() {
    python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(int.from_bytes(f.read(int(sys.argv[3])),"little"))' "$1" "$2" "$3"
}

echo "== $(date -u '+%F %T') UTC on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== p2v: $P2V"

# The source: 4 GiB + 2 MiB disk, one NTFS partition of 4 GiB at 1 MiB.
truncate -s $(( (4 << 30) + (2 << 20) )) pc.img
echo "start=2048, size=$(( (4 << 30) / 512 )), type=7" | sfdisk -q pc.img
truncate -s 4G c.part
mkntfs -q -F -Q -p 2048 -H 255 -S 63 -L C c.part >/dev/null 2>&1
ntfs-3g c.part mnt
# about 1 GiB of real files: whole directories of /usr, in order, until 1 GiB
budget=$((1024 * 1024))   # KiB
for d in /usr/share/* /usr/lib/x86_64-linux-gnu/* /usr/lib/*; do
    [ -d "$d" ] && [ ! -L "$d" ] || continue
    k=$(du -sk "$d" 2>/dev/null | cut -f1)
    [ "$k" -le "$budget" ] || continue
    mkdir -p "mnt/usr$(dirname "$d")"
    cp -a "$d" "mnt/usr$(dirname "$d")/" 2>/dev/null || true
    budget=$((budget - k))
    [ "$budget" -gt 65536 ] || break
done
(cd mnt && find . -type f -print0 | sort -z | xargs -0 sha256sum) >src.sums
nfiles=$(wc -l <src.sums)
used_df=$(df -k --output=used mnt | tail -1)
umount mnt
dd if=c.part of=pc.img bs=1M seek=1 conv=notrunc,sparse status=none
rm c.part
echo "== source: pc.img:1, NTFS 4.0 GiB, $nfiles files, $((used_df / 1024)) MiB used (df)"
echo

# run NAME SEL: dry run, timed conversion, checks.
run() {
    local name=$1 sel=$2 out=$1.qcow2 start size
    echo "== $name: p2v convert -o $out $sel"
    if [ "$sel" != pc.img:1 ]; then
        "$P2V" convert --dry-run -o "$out" "$sel" 2>&1 | sed -n '/^Resized partitions:/,$p'
    fi
    /usr/bin/time -f "time: %e s elapsed, %U s user, %S s system, %M KiB max RSS" \
        "$P2V" convert -o "$out" "$sel" 2>&1 | grep -E "^time:|written|error" || true
    [ -e "$out" ] || { echo "$out was not written"; return 1; }
    echo "qemu-img check: $(qemu-img check "$out" 2>&1 | head -1)"
    echo "qemu-img info: virtual size $(qemu-img info --output=json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') bytes, file $(du -k "$out" | cut -f1) KiB"
    qemu-img convert -O raw "$out" "$name.raw"
    start=$(sfdisk --json "$name.raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')
    size=$(sfdisk --json "$name.raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["size"])')
    dd if="$name.raw" of="$name.part" bs=1M iflag=skip_bytes,count_bytes skip=$((start * 512)) \
        count=$((size * 512)) conv=sparse status=none
    rm "$name.raw"
    echo "partition: start $start, $size sectors ($((size * 512)) bytes)"
    echo "boot sector: hidden sectors $(le "$name.part" 28 4), total sectors $(le "$name.part" 40 8); backup in the last sector: $(cmp -s <(dd if="$name.part" bs=512 count=1 status=none) <(dd if="$name.part" bs=512 skip=$((size - 1)) count=1 status=none) && echo same as the primary || echo DIFFERENT)"
    echo "ntfsfix -n: $(ntfsfix -n "$name.part" 2>&1 | tr '\n' ' ' | sed 's/  */ /g')"
    echo "ntfsresize --info --no-action:"
    ntfsresize --info --no-action -f "$name.part" 2>&1 | grep -E "Current volume size|Space in use|You might resize" | sed 's/^/  /'
    ntfs-3g -o ro "$name.part" mnt
    local bad
    bad=$( (cd mnt && sha256sum --quiet -c "$W/src.sums" 2>&1) | wc -l)
    umount mnt
    echo "sha256: $nfiles files compared with the source's, $bad differ"
    rm "$name.part"
    echo
}

run plain pc.img:1
run min pc.img:1=min
run 8G pc.img:1=8G
echo "== $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
