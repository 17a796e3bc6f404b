#!/bin/bash
# Sizes per selection on the picking screen: `n` gives the picked NTFS
# partition a size of its own (SIZE or min, as DISK:N=SIZE|min takes it);
# the row shows old -> new, a size that is not one or is below the data is
# refused with the planner's reason, the saved plan keeps
# selections[].new_size and loads back, and the image written from the
# screen holds the shrunk volume: ntfsfix -n clean, every file's sha256 the
# source's, and the command line shown is the CLI's.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need tmux sfdisk jq mkntfs ntfscp ntfscat ntfsfix qemu-img sha256sum
source "$P2V_SRC/tests/lib/tui.sh"
cd "$WORK"

# A 2 GiB NTFS partition (sparse; 4 KiB clusters) with a few files, so that
# min (used + 1 GiB) is smaller than the source.
truncate -s 2050M pc.img
echo "start=2048, size=$((2048 * 2048)), type=7" | sfdisk -q pc.img
truncate -s 2G part.img
mkntfs -q -F -Q -c 4096 -p 2048 -H 255 -S 63 -L C part.img >/dev/null 2>&1
mkdir files
for i in 1 2 3; do head -c $((i * 700000)) /dev/urandom >"files/f$i.bin"; done
for f in files/*; do ntfscp -q part.img "$f" "$(basename "$f")" >/dev/null; done
dd if=part.img of=pc.img bs=1M seek=1 conv=notrunc,sparse status=none
rm part.img
# p2v opens its sources read-only: the image's modification time stays.
stamp=$(stat -c %y pc.img)

tui_start 120 30 NO_COLOR=1 -- tui -o t.qcow2 pc.img
# wait_order TEXT: the order line is exactly TEXT.
wait_order() {
    local i
    for i in $(seq 1 300); do
        if tui_screen | grep -qxF "Order: $1"; then return 0; fi
        sleep 0.1
    done
    tui_screen >&2
    fail "the order line is not 'Order: $1'"
}

tui_wait "pc.img  2.0 GiB  MBR"
tui_keys n
tui_wait "pick the partition first (Space)"
tui_keys Space
tui_wait "Plan ok: 1 partition"

# not a size: the parser's refusal; the pick keeps its size
tui_keys n; tui_type 12Q; tui_keys Enter
tui_wait "pc.img:1: '12Q' is not a size"
wait_order pc.img:1
# below the data: the planner's refusal, on the status line
tui_keys n; tui_type 1M; tui_keys Enter
wait_order pc.img:1=1M
tui_wait "bytes the NTFS volume uses"
pass "sizes that are not one or too small are refused with the reason"

# min: the row shows old -> the planned size
tui_keys n C-u; tui_type min; tui_keys Enter
wait_order pc.img:1=min
tui_wait "Plan ok: 1 partition"
row=$(tui_screen | grep -F "[1]" | head -1)
grep -qE '2\.0 GiB .*-> 1\.0[0-9]? GiB \(min\)' <<<"$row" || fail "the row does not show old -> new: $row"
pass "min shown as old -> new: $(sed 's/  */ /g' <<<"$row")"

# the saved plan keeps the size; loaded back, the pick has it again
tui_keys s C-u; tui_type plan.json; tui_keys Enter
tui_wait "Plan saved to plan.json"
check_eq "plan new_size" '"min"' "$(jq -c '.selections[0].new_size' plan.json)"
tui_keys n C-u Enter
wait_order pc.img:1
tui_keys l Enter
tui_wait "Plan loaded from plan.json"
wait_order pc.img:1=min
pass "the plan file keeps new_size min and loads it back"

# 1 GiB: the preview says what happens, then the image is written
tui_keys n C-u; tui_type 1G; tui_keys Enter
wait_order pc.img:1=1G
tui_wait "Plan ok: 1 partition"
tui_screen | grep -F "[1]" | grep -qE '2\.0 GiB .*-> 1\.0 GiB' || fail "no 2.0 GiB -> 1.0 GiB row"
tui_keys s C-u; tui_type plan1g.json; tui_keys Enter
tui_wait "Plan saved to plan1g.json"
check_eq "plan new_size in bytes" $((1 << 30)) "$(jq -c '.selections[0].new_size' plan1g.json)"
tui_keys p
tui_wait "Preview: the new disk t.qcow2"
tui_wait "2.0 GiB -> 1.0 GiB; NTFS shrunk"
[ ! -e t.qcow2 ] || fail "the preview wrote the image"
tui_keys g
tui_wait "Written: t.qcow2" 120
tui_screen >result.txt
cmdline=$(sed -n '/The same from a shell:/,$p' result.txt | sed -n '2,4p' | awk 'NF { $1 = $1; print }' | paste -sd' ')
check_eq "command line shown" "p2v convert -o t.qcow2 pc.img:1=1G" "$cmdline"
tui_keys q
check_eq "p2v tui exit status" 0 "$(tui_wait_exit)"
if grep -q "Sanitizer" "$WORK/tui.stderr"; then cat "$WORK/tui.stderr" >&2; fail "sanitizer report"; fi

qemu-img check t.qcow2 >/dev/null || fail "qemu-img check"
qemu-img convert -O raw t.qcow2 t.raw
start=$(sfdisk --json t.raw | jq '.partitiontable.partitions[0].start')
size=$(sfdisk --json t.raw | jq '.partitiontable.partitions[0].size')
check_eq "partition bytes" $((1 << 30)) $((size * 512))
dd if=t.raw of=out.part bs=64K iflag=skip_bytes,count_bytes skip=$((start * 512)) \
    count=$((size * 512)) conv=sparse status=none
ntfsfix -n out.part >fix.out 2>&1 || { cat fix.out >&2; fail "ntfsfix -n"; }
for f in files/*; do
    [ "$(ntfscat out.part "$(basename "$f")" | sha256sum)" = "$(sha256sum <"$f")" ] ||
        fail "$f differs"
done
check_eq "source not written (mtime)" "$stamp" "$(stat -c %y pc.img)"
pass "the screen's 1 GiB image: ntfsfix -n clean, 3 files equal"
