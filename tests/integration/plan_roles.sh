#!/bin/bash
# Plans by role (schema 2) and names per PC, through the binary:
#  - one role plan resolved (`p2v plan show`, text and --json) and converted
#    on two different synthetic PCs: a BIOS Windows on MBR (System Reserved,
#    C:, D:, WinRE) and a UEFI Windows on GPT (ESP, MSR, C:, WinRE), each
#    standing for a PC of its own through P2V_MACHINE_ROOT (two serials), so
#    `-o {serial}-{computername}.qcow2` gives two names; the images pass
#    qemu-img check, sfdisk/sgdisk and ntfsfix, the sources stay unchanged;
#    the same template names an NBD export (nbdkit ondemand: one file per
#    export name);
#  - WinRE on a partition of a plain data type (MBR 0x07, GPT Basic Data)
#    is recovery because C:'s ReAgent.xml names it (MBR and GPT), and data
#    on the same disk without ReAgent.xml;
#  - PCs that do not fit: the story PC (no Windows) and both Windows disks
#    at once (two boot partitions where one is meant): exit 1 naming what
#    was found, nothing written;
#  - a field the PC lacks: exit 1 naming it, nothing written;
#  - --report-url: the report carries the PC's serial, model, MAC and
#    computername, the resolved selection with its roles, the image's final
#    name and its template, and timings; a PC that does not fit sends a
#    `failed` report with the reason.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkwin.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
need sfdisk sgdisk jq mkntfs mkfs.vfat mkfs.ext4 mcopy ntfs-3g ntfsfix hivexregedit qemu-img \
    python3
cd "$WORK"
# the servers this test starts: nbdkit (od.pid) and the report receiver
stop_servers() {
    [ -s "$WORK/od.pid" ] && kill "$(cat "$WORK/od.pid")" 2>/dev/null
    [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null
    return 0
}
trap 'stop_servers; _p2v_cleanup' EXIT

MKWIN_COMPUTERNAME="ACCT-PC 7" mkwin_mbr_bios mbr.img
MKWIN_COMPUTERNAME="../Buero 3" mkwin_gpt_uefi gpt.img
mkpc_disk1 story.img
sha256sum mbr.img gpt.img story.img >sources.sum

# Two PCs: SMBIOS strings and one wired NIC each.
mkpc_machine() {
    local d=$1 serial=$2 mac=$3
    mkdir -p "$d/sys/class/dmi/id" "$d/sys/class/net/eth0/device"
    echo "$serial" >"$d/sys/class/dmi/id/product_serial"
    echo "LENOVO" >"$d/sys/class/dmi/id/sys_vendor"
    echo "ThinkCentre M720" >"$d/sys/class/dmi/id/product_name"
    echo "$mac" >"$d/sys/class/net/eth0/address"
}
mkpc_machine pcA SER-A1 52:54:00:00:00:0a
mkpc_machine pcB SER-B2 52:54:00:00:00:0b
# pcB also has RAM, CPUs and an OEM key table, which its report carries
mkdir -p pcB/proc pcB/sys/devices/system/cpu pcB/sys/firmware/acpi/tables
printf 'MemTotal:       16384256 kB\nMemFree:         1024 kB\n' >pcB/proc/meminfo
echo 0-3 >pcB/sys/devices/system/cpu/online
{ printf 'MSDM'; head -c 81 /dev/zero; } >pcB/sys/firmware/acpi/tables/MSDM  # 36-byte ACPI header + key data
mkdir -p noserial/sys/class/dmi/id

cat >fleet.json <<'JSON'
{"p2v_plan": 2,
 "output": "{serial}-{computername}.qcow2",
 "select": [{"role": "boot"}, {"role": "recovery", "optional": true},
            {"role": "data", "label": "D*", "optional": true},
            {"role": "windows", "version": "10.*"}],
 "options": {"copy": "used"}}
JSON

# ---- how it resolves on each PC
# plan_shows WHAT PLAN DISK SELECTION: p2v plan show PLAN DISK (printed, and
# left in $WORK/last.out) ends with the selection SELECTION.
plan_shows() {
    expect_exit 0 "$P2V" plan show "$2" "$3"
    cat "$WORK/last.out"
    check_eq "$1" "selection (target order): $4" "$(tail -1 "$WORK/last.out")"
}
plan_shows "MBR PC selection" fleet.json mbr.img "mbr.img:1 mbr.img:4 mbr.img:3 mbr.img:2"
grep -Eq '^  1\. boot .*-> mbr\.img:1  ntfs  "System Reserved"  16\.0 MiB$' "$WORK/last.out" ||
    fail "boot line"
grep -Eq '^  3\. data, label D\*, optional .*-> mbr\.img:3  ntfs  "Data"' "$WORK/last.out" ||
    fail "data line"
plan_shows "GPT PC selection" fleet.json gpt.img "gpt.img:1 gpt.img:4 gpt.img:3"
grep -Eq '^  3\. data, label D\*, optional +-> optional, nothing matched$' "$WORK/last.out" ||
    fail "an optional entry that matched nothing is not said"
expect_exit 0 "$P2V" plan show --json fleet.json gpt.img
check_eq "--json roles" "boot recovery data windows" \
    "$(jq -r '[.entries[].role] | join(" ")' "$WORK/last.out")"
check_eq "--json picks" "gpt.img:1 gpt.img:4 - gpt.img:3" \
    "$(jq -r '[.entries[] | (.picked[0].selection // "-")] | join(" ")' "$WORK/last.out")"
check_eq "--json windows size" 50331648 "$(jq '.entries[3].picked[0].size' "$WORK/last.out")"
# convert --dry-run shows the same resolution, writes nothing
P2V_MACHINE_ROOT=pcA expect_exit 0 "$P2V" convert --plan fleet.json --dry-run mbr.img
grep -q "selection (target order): mbr.img:1 mbr.img:4 mbr.img:3 mbr.img:2" "$WORK/last.out" ||
    fail "dry run lacks the resolution"
[ ! -e SER-A1-ACCT-PC_7.qcow2 ] || fail "the dry run wrote an image"
# a plan by identity shows where its disks are; usage errors exit 2
expect_exit 0 "$P2V" convert --dry-run --save-plan v1.json -o v1.qcow2 mbr.img:1 mbr.img:2
expect_exit 0 "$P2V" plan show v1.json
check_eq "plan show of a version 1 plan" "plan disk 1 (mbr $MKWIN_SIG) -> mbr.img|selection (target order): mbr.img:1 mbr.img:2" \
    "$(paste -sd'|' "$WORK/last.out")"
expect_exit 2 "$P2V" plan
expect_exit 2 "$P2V" plan show
expect_exit 2 "$P2V" plan list fleet.json
pass "plan show and --dry-run resolve the plan on both PCs"

# ---- a recovery partition of a plain data type (0x07 / Basic Data, as OEM
# installs leave it), found because C:'s ReAgent.xml names it: recovery, not
# data; the same disk without ReAgent.xml has it as data
MKWIN_REAGENT=1 mkwin_mbr_bios mbr-re.img
sfdisk -q --part-type mbr-re.img 4 7
MKWIN_REAGENT=1 mkwin_gpt_uefi gpt-re.img
sgdisk -t 4:0700 gpt-re.img >/dev/null
cp --sparse=always mbr.img mbr-plain.img
sfdisk -q --part-type mbr-plain.img 4 7
check_eq "plain types (sfdisk)" "7 7 7 7|7 7 7 7" \
    "$(for f in mbr-re.img mbr-plain.img; do sfdisk --json "$f" |
        jq -r '[.partitiontable.partitions[].type] | join(" ")'; done | paste -sd'|')"
sgdisk -i 4 gpt-re.img | grep -q "^Partition GUID code: EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" ||
    fail "gpt-re.img:4 is not Basic Data: $(sgdisk -i 4 gpt-re.img)"
sha256sum mbr-re.img gpt-re.img mbr-plain.img >re.sum
cat >re.json <<'JSON'
{"p2v_plan": 2,
 "select": [{"role": "boot"}, {"role": "recovery", "optional": true},
            {"role": "data", "optional": true}, {"role": "windows"}]}
JSON
plan_shows "MBR, WinRE by ReAgent.xml" re.json mbr-re.img \
    "mbr-re.img:1 mbr-re.img:4 mbr-re.img:3 mbr-re.img:2"
grep -Eq '^  2\. recovery, optional +-> mbr-re\.img:4  ntfs  "Recovery"  16\.0 MiB$' \
    "$WORK/last.out" || fail "ReAgent.xml's partition is not recovery (MBR)"
expect_exit 0 "$P2V" plan show --json re.json gpt-re.img
check_eq "GPT, WinRE by ReAgent.xml" "gpt-re.img:4|-|gpt-re.img:1 gpt-re.img:4 gpt-re.img:3" \
    "$(jq -r '"\(.entries[1].picked[0].selection)|\(.entries[2].picked[0].selection // "-")|\(.selection | join(" "))"' "$WORK/last.out")"
plan_shows "MBR, no ReAgent.xml: data" re.json mbr-plain.img \
    "mbr-plain.img:1 mbr-plain.img:3 mbr-plain.img:4 mbr-plain.img:2"
grep -Eq '^  2\. recovery, optional +-> optional, nothing matched$' "$WORK/last.out" ||
    fail "without ReAgent.xml a 0x07 partition was taken for recovery"
# a required recovery entry: found on the ReAgent.xml PC, refused without
cat >re-need.json <<'JSON'
{"p2v_plan": 2, "select": [{"role": "recovery"}, {"role": "windows"}]}
JSON
plan_shows "required recovery" re-need.json gpt-re.img "gpt-re.img:4 gpt-re.img:3"
expect_exit 1 "$P2V" plan show re-need.json mbr-plain.img
grep -q "select entry 1 (recovery) matches no partition on this PC" "$WORK/last.err" ||
    fail "no recovery: $(cat "$WORK/last.err")"
sha256sum -c --quiet re.sum || fail "a ReAgent.xml source changed"
rm -f mbr-re.img gpt-re.img mbr-plain.img
pass "a plain-type partition ReAgent.xml names is recovery (MBR and GPT), data without it"

# ---- converted on both PCs: two names from one template
P2V_MACHINE_ROOT=pcA expect_exit 0 "$P2V" convert --plan fleet.json mbr.img
P2V_MACHINE_ROOT=pcB expect_exit 0 "$P2V" convert --plan fleet.json gpt.img
grep -q "OUTPUT {serial}-{computername}.qcow2 is SER-B2-_.._Buero_3.qcow2" "$WORK/last.err" ||
    fail "name notice: $(cat "$WORK/last.err")"
a=SER-A1-ACCT-PC_7.qcow2 b=SER-B2-_.._Buero_3.qcow2
for f in "$a" "$b"; do qemu-img check -q "$f" || fail "$f: qemu-img check"; done
qemu-img convert -O raw "$a" a.raw
qemu-img convert -O raw "$b" b.raw
check_eq "MBR image types" "7 27 7 7" "$(sfdisk --json a.raw | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
check_eq "MBR image active" "true" "$(sfdisk --json a.raw | jq -r '.partitiontable.partitions[0].bootable')"
sgdisk -v b.raw | grep -q "No problems found" || fail "sgdisk -v b.raw"
check_eq "GPT image partitions" 3 "$(sgdisk -p b.raw | grep -cE '^ +[0-9]+ ')"
check_eq "GPT image: C: last" "$MKWIN_GP3" \
    "$(sgdisk -i 3 b.raw | sed -n 's/^Partition unique GUID: //p' | tr A-Z a-z)"
for n in 1 2 3 4; do mkwin_part_img a.raw "$n" "a$n"; done
for n in 1 2 3 4; do ntfsfix -n "a$n" >/dev/null || fail "ntfsfix -n a$n"; done
mkwin_part_img b.raw 3 b3
ntfsfix -n b3 >/dev/null || fail "ntfsfix -n b3"
pass "one role plan, two PCs, two images named by serial and computername"

# ---- an NBD export named by the template: nbdkit's ondemand plugin keeps
# each export in a file named after it, so the file's name is the export's
if command -v nbdkit >/dev/null; then
    mkdir exports
    nbdkit -U "$WORK/od.sock" -P "$WORK/od.pid" ondemand dir="$WORK/exports" size=200M
    for _ in $(seq 100); do [ -s od.pid ] && [ -S od.sock ] && break; sleep 0.1; done
    P2V_MACHINE_ROOT=pcA expect_exit 0 "$P2V" convert --plan fleet.json \
        -o "nbd+unix:///{serial}-{computername}?socket=$WORK/od.sock" mbr.img
    kill "$(cat od.pid)" && rm od.pid
    check_eq "export named by the template" "SER-A1-ACCT-PC_7" "$(ls exports)"
    check_eq "export's types" "7 27 7 7" \
        "$(sfdisk --json exports/SER-A1-ACCT-PC_7 | jq -r '[.partitiontable.partitions[].type] | join(" ")')"
    mkwin_part_img exports/SER-A1-ACCT-PC_7 3 nbd3
    cmp a3 nbd3 || fail "D: in the NBD export differs from D: in the file"
    pass "-o nbd://.../{serial}-{computername}"
else
    echo "SKIP part: nbdkit not found"
fi

# ---- PCs the plan does not fit: exit 1, the reason, nothing written
P2V_MACHINE_ROOT=pcA expect_exit 1 "$P2V" convert --plan fleet.json -o nofit.qcow2 story.img
grep -q "plan: on story.img: select entry 1 (boot) matches no partition on this PC" "$WORK/last.err" ||
    fail "no-fit reason: $(cat "$WORK/last.err")"
expect_exit 1 "$P2V" plan show fleet.json story.img
grep -q "matches no partition" "$WORK/last.err" || fail "plan show: no reason"
P2V_MACHINE_ROOT=pcA expect_exit 1 "$P2V" convert --plan fleet.json -o two.qcow2 mbr.img gpt.img
grep -q "select entry 1 (boot) matches 2 partitions where one is meant: mbr.img:1 and gpt.img:1" \
    "$WORK/last.err" || fail "two-boot reason: $(cat "$WORK/last.err")"
[ ! -e nofit.qcow2 ] && [ ! -e two.qcow2 ] || fail "an image was written for a PC that does not fit"
ls | grep -q p2vtmp && fail "a temporary file was left"
pass "PCs that do not fit: exit 1 naming what was found, nothing written"

# ---- a field the PC lacks; an unknown field
P2V_MACHINE_ROOT=noserial expect_exit 1 "$P2V" convert --plan fleet.json mbr.img
grep -q "{serial} is not known on this PC" "$WORK/last.err" || fail "empty field: $(cat "$WORK/last.err")"
P2V_MACHINE_ROOT=pcA expect_exit 1 "$P2V" convert -o "{computername}.qcow2" story.img:1
grep -q "{computername} is not known on this PC: no Windows among the selected partitions" \
    "$WORK/last.err" || fail "no Windows: $(cat "$WORK/last.err")"
P2V_MACHINE_ROOT=pcA expect_exit 2 "$P2V" convert -o "{hostname}.qcow2" mbr.img:1
grep -q "hostname" "$WORK/last.err" || fail "unknown field: $(cat "$WORK/last.err")"
[ -z "$(ls | grep -E '^(\{|\.qcow2)')" ] || fail "an image was written: $(ls)"
pass "a missing or unknown field fails before anything is written"

# ---- the report
python3 "$P2V_SRC/tests/lib/report_sink.py" sink.port sink.log &
sink_pid=$!
for _ in $(seq 100); do [ -s sink.port ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat sink.port)/api/report"
P2V_MACHINE_ROOT=pcB expect_exit 0 "$P2V" convert --report-url "$url" --plan fleet.json \
    -o "rep-{serial}.qcow2" gpt.img
jq -c 'select(.body.event == "finish") | .body' sink.log >finish.json
[ -s finish.json ] || fail "no finish report: $(cat sink.log)"
check_eq "report pc" "SER-B2 ThinkCentre M720 52:54:00:00:00:0b ../Buero 3" \
    "$(jq -r '.pc | "\(.serial) \(.model) \(.mac) \(.computername)"' finish.json)"
check_eq "report machine" "16777478144 4 true" \
    "$(jq -r '.pc | "\(.memory) \(.cpus) \(.msdm)"' finish.json)"
check_eq "report image name" "rep-SER-B2.qcow2 rep-{serial}.qcow2" \
    "$(jq -r '"\(.output) \(.output_template)"' finish.json)"
check_eq "report selection" "gpt.img:1 gpt.img:4 gpt.img:3" "$(jq -r '.selection | join(" ")' finish.json)"
check_eq "report roles" "boot recovery windows" "$(jq -r '.roles | join(" ")' finish.json)"
jq -e '(.started | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and (.elapsed | type == "number")' \
    finish.json >/dev/null || fail "report timings: $(cat finish.json)"
check_eq "start has the same selection" "gpt.img:1 gpt.img:4 gpt.img:3" \
    "$(jq -r 'select(.body.event == "start") | .body.selection | join(" ")' sink.log)"
: >sink.log
P2V_MACHINE_ROOT=pcA expect_exit 1 "$P2V" convert --report-url "$url" --plan fleet.json \
    -o nofit2.qcow2 story.img
check_eq "failed report" "failed" "$(jq -r .body.event sink.log | tail -1)"
jq -r 'select(.body.event == "failed") | .body.error' sink.log | grep -q "matches no partition" ||
    fail "failed report's reason: $(cat sink.log)"
[ ! -e nofit2.qcow2 ] || fail "nofit2.qcow2 written"
pass "reports carry the PC, the resolved selection, the image's name and timings"

sha256sum -c --quiet sources.sum || fail "a source changed"
pass "sources unchanged"
