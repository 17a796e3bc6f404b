# p2v Live in qemu: the ISO scripts/live-image built, booted under SeaBIOS or
# OVMF with the story PC's disks. Source after common.sh, mkpc.sh, bootimg.sh.
#
#   live_iso                       the ISO (built by the live_iso test, the
#                                  fixture the other live tests require)
#   live_need                      skip unless root and the tools are here
#   live_out_disk IMG [PLAN]       a 512 MiB GPT disk whose one partition holds
#                                  an ext4 filesystem labelled P2V-OUT, with PLAN
#                                  in it as p2v-plan.json (if given)
#   live_out_get IMG NAME DEST     copy a file out of that filesystem
#   live_qemu FW LOG LIMIT SERIAL DRIVE...
#                                  boot the ISO (bios: SeaBIOS, the ISO as a USB
#                                  stick; bios-cd: SeaBIOS, as a CD; uefi: OVMF,
#                                  as a CD), the story disks as SATA disks 1 and 2
#                                  (LIVE_SOURCES="disk2.img": only that one),
#                                  DRIVE... as extra -drive specs (virtio);
#                                  SERIAL: "file" (log only) or a unix socket
#                                  path (log and keys); runs in the background,
#                                  sets LIVE_PID
#   live_wait_exit LIMIT           wait for qemu to power off; sets LIVE_SECONDS
#   live_wait_text LOG TEXT LIMIT  wait for TEXT on the serial console
#   live_keys SOCKET TEXT          type TEXT on the serial console
#   live_check_story_image RAW     the convert story's checks of an MBR image
#   live_story_disks plan|none     the story PC's disks and $WORK/out.img, a
#                                  P2V-OUT disk with the story's plan or none

live_iso() { echo "${P2V_LIVE_ISO:-$P2V_BUILD/p2v-live.iso}"; }

live_need() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: p2v Live tests build and inspect disks as root" >&2; exit 77; }
    need qemu-system-x86_64 qemu-img sfdisk mkfs.ext4 debugfs python3 timeout jq
    _bootimg_need_files "$BOOTIMG_OVMF_CODE" "$BOOTIMG_OVMF_VARS"
    [ -s "$(live_iso)" ] || fail "$(live_iso) missing: the live_iso test builds it (ctest -R live)"
}

live_out_disk() {
    local img=$1 plan=${2:-} d
    d=$(mktemp -d "$WORK/p2vout.XXXXXX")
    [ -z "$plan" ] || cp "$plan" "$d/p2v-plan.json"
    rm -f "$img"
    truncate -s 512M "$img"
    sfdisk -q "$img" <<'SF'
label: gpt
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="p2v output"
SF
    truncate -s 510M "$WORK/p2vout.fs"
    mkfs.ext4 -q -F -L P2V-OUT -d "$d" "$WORK/p2vout.fs"
    dd if="$WORK/p2vout.fs" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -rf "$d" "$WORK/p2vout.fs"
}

live_out_get() {
    local img=$1 name=$2 dest=$3
    dd if="$img" of="$WORK/p2vout.fs" bs=1M skip=1 count=510 conv=sparse status=none
    rm -f "$dest"
    debugfs -R "dump /$name $dest" "$WORK/p2vout.fs" >/dev/null 2>&1
    rm -f "$WORK/p2vout.fs"
    [ -e "$dest" ]
}

live_qemu() {
    local fw=$1 log=$2 limit=$3 serial=$4 iso accel
    shift 4
    iso=$(live_iso)
    local -a args=(-m 1024 -smp 2 -display none -monitor none -nodefaults -no-reboot
        -device ahci,id=ahci)
    local src port=0
    for src in ${LIVE_SOURCES:-disk1.img disk2.img}; do
        args+=(-drive "if=none,id=src$port,format=raw,file=$WORK/$src" -device "ide-hd,drive=src$port,bus=ahci.$port")
        port=$((port + 1))
    done
    if [ "$fw" = bios-cd ]; then
        args+=(-drive "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=$iso"
               -device ide-cd,drive=cd,bus=ahci.2,bootindex=0)
    elif [ "$fw" = uefi ]; then
        cp "$BOOTIMG_OVMF_VARS" "$WORK/OVMF_VARS.fd"
        args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$BOOTIMG_OVMF_CODE"
               -drive "if=pflash,format=raw,unit=1,file=$WORK/OVMF_VARS.fd"
               -drive "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=$iso"
               -device ide-cd,drive=cd,bus=ahci.2,bootindex=0)
    else
        args+=(-device qemu-xhci
               -drive "if=none,id=stick,readonly=on,format=raw,file=$iso"
               -device usb-storage,drive=stick,bootindex=0)
    fi
    local d
    for d in "$@"; do args+=(-drive "$d"); done
    if [ "$serial" = file ]; then
        args+=(-serial "file:$log")
    else
        args+=(-chardev "socket,id=s0,path=$serial,server=on,wait=off,logfile=$log" -serial chardev:s0)
    fi
    accel=$(bootimg_accel)
    : >"$log"
    : >"$log.qemu" # the KVM check below may read it before qemu's redirection empties it
    LIVE_START=$(date +%s)
    LIVE_ACCEL=$accel
    timeout -k 5 $((limit + 5)) qemu-system-x86_64 -accel "$accel" "${args[@]}" >"$log.qemu" 2>&1 &
    LIVE_PID=$!
    # KVM that cannot run the firmware here fails at once ("emulation
    # failure") or stays silent: the boot loaders print on the serial port
    # within seconds, so no output after 40 s under KVM means TCG instead.
    if [ "$accel" = kvm ]; then
        local t=0
        while [ $t -lt 40 ] && [ ! -s "$log" ] && kill -0 "$LIVE_PID" 2>/dev/null &&
              ! grep -q -e "KVM internal error" -e "emulation failure" "$log.qemu" 2>/dev/null; do
            sleep 1
            t=$((t + 1))
        done
        if [ ! -s "$log" ]; then
            kill "$LIVE_PID" 2>/dev/null || true
            wait "$LIVE_PID" 2>/dev/null || true
            echo tcg >"$(_bootimg_accel_cache)" 2>/dev/null || true
            echo "KVM cannot run the firmware on this host (no serial output in ${t}s); using TCG" >&2
            [ "$fw" = uefi ] && cp "$BOOTIMG_OVMF_VARS" "$WORK/OVMF_VARS.fd"
            rm -f "$serial"
            : >"$log"
            LIVE_START=$(date +%s)
            LIVE_ACCEL=tcg
            timeout -k 5 $((limit + 5)) qemu-system-x86_64 -accel tcg "${args[@]}" >"$log.qemu" 2>&1 &
            LIVE_PID=$!
        fi
    fi
}

live_wait_exit() {
    local limit=$1 rc=0
    wait "$LIVE_PID" || rc=$?
    LIVE_SECONDS=$(( $(date +%s) - LIVE_START ))
    [ "$rc" = 0 ] || { echo "qemu ended with status $rc after ${LIVE_SECONDS}s (limit $limit s)" >&2; return 1; }
}

# _live_plain LOG: the serial log without colours, cursor moves and CRs.
_live_plain() {
    sed 's/\x1b\[[0-9;?=]*[A-Za-z]/ /g; s/\x1b[()][A-Z0-9]//g; s/\x1b[=>c78]//g' "$1" | tr -d '\r\000\017\016'
}

live_wait_text() {
    local log=$1 text=$2 limit=$3 t0
    t0=$(date +%s)
    while [ $(( $(date +%s) - t0 )) -lt "$limit" ]; do
        _live_plain "$log" | grep -q -- "$text" && return 0
        kill -0 "$LIVE_PID" 2>/dev/null || break
        sleep 2
    done
    _live_plain "$log" | grep -q -- "$text"
}

live_keys() {
    python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for ch in sys.argv[2].encode().decode('unicode_escape').encode('latin-1'):
    s.send(bytes([ch]))
    time.sleep(0.05)
time.sleep(0.3)
s.close()
PY
}

live_check_story_image() {
    local raw=$1 id types last_end
    sfdisk -V "$raw" >/dev/null || fail "sfdisk -V"
    id=$(sfdisk --json "$raw" | jq -r .partitiontable.id)
    [ "$id" != 0x1ee7c0de ] && [ "$id" != 0x00000000 ] || fail "disk signature not new: $id"
    pass "new disk signature $id"
    check_eq "active partition" 1 "$(sfdisk --json "$raw" | jq -r '.partitiontable.partitions[] | select(.bootable) | .node' | sed 's/.*raw//')"
    check_eq "boot code carried" P2V-TEST-BOOTCODE "$(head -c 17 "$raw")"
    check_eq "logical partitions" "5 6" "$(sfdisk --json "$raw" | jq -r '[.partitiontable.partitions[].node | sub(".*raw"; "") | tonumber | select(. >= 5)] | join(" ")')"
    types=$(sfdisk --json "$raw" | jq -r '[.partitiontable.partitions[] | select(.type != "f") | .type] | join(" ")')
    check_eq "types (GPT basic data with FAT32 -> 0x0c)" "7 27 c 83 7" "$types"
    mkpc_check_output "$raw" 1:1 1:5 2:1 1:2 1:3
    last_end=$(sfdisk --json "$raw" | jq '[.partitiontable.partitions[] | .start + .size] | max')
    check_eq "C: ends where the disk ends" $(( $(stat -c %s "$raw") / 512 )) "$last_end"
}

# live_save_plan PLAN: on this machine, the story's selection (boot, recovery,
# F:, D:, C:) from the two disks attached as read-only loop devices, saved as
# a plan by p2v convert --save-plan; in the VM the disks are SATA disks with
# other names, found again by their identity.
live_save_plan() {
    local plan=$1 l1 l2
    l1=$(losetup_attach -r "$WORK/disk1.img") || fail "losetup disk1.img"
    l2=$(losetup_attach -r "$WORK/disk2.img") || fail "losetup disk2.img"
    if ! "$P2V" convert --dry-run --save-plan "$plan" -o image.qcow2 \
        "$l1:1" "$l1:5" "$l2:1" "$l1:2" "$l1:3" >"$WORK/save-plan.out" 2>&1; then
        cat "$WORK/save-plan.out" >&2
        fail "p2v convert --save-plan failed: plan files (issue 11) are needed for the unattended mode"
    fi
    losetup -d "$l1" "$l2"
    [ -s "$plan" ] || fail "p2v convert --save-plan wrote no plan"
    grep -q "$l1" "$plan" || fail "the plan does not name the loop device $l1 it was made from"
    echo "--- the plan, made from $l1 and $l2:"
    cat "$plan"
}

# live_story_disks plan|none: skip unless the live tests can run here; the
# story PC's disks (mkpc_setup) and $WORK/out.img, a P2V-OUT disk holding
# the story's plan (saved as $WORK/plan.json: the unattended mode) or no
# plan (the interactive mode).
live_story_disks() {
    live_need
    mkpc_setup
    case $1 in
    plan)
        live_save_plan "$WORK/plan.json"
        live_out_disk "$WORK/out.img" "$WORK/plan.json"
        ;;
    none) live_out_disk "$WORK/out.img" ;;
    *) fail "live_story_disks: plan or none, not '$1'" ;;
    esac
}

# live_unattended FW: the whole unattended story under FW (bios or uefi).
live_unattended() {
    local fw=$1 log=$WORK/serial.log report
    live_story_disks plan
    live_qemu "$fw" "$log" 1500 file "if=virtio,format=raw,file=$WORK/out.img"
    if ! live_wait_exit 1500; then
        _live_plain "$log" | tail -n 60 >&2
        tail -n 20 "$log.qemu" >&2
        fail "p2v Live ($fw) did not power off by itself"
    fi
    pass "p2v Live ($fw, $LIVE_ACCEL) ran the plan and powered off in ${LIVE_SECONDS}s"
    echo "--- serial console (p2v lines):"
    _live_plain "$log" | grep -a -e 'p2v' -e 'Linux version' | tail -n 40
    sha256sum -c sources.sum || fail "a source disk changed"
    pass "source disks byte-identical"
    live_out_get "$WORK/out.img" p2v-report.json "$WORK/report.json" || fail "no p2v-report.json on P2V-OUT"
    live_out_get "$WORK/out.img" p2v-log.txt "$WORK/log.txt" || fail "no p2v-log.txt on P2V-OUT"
    echo "--- p2v-report.json:"; cat "$WORK/report.json"
    echo "--- p2v-log.txt:"; cat "$WORK/log.txt"
    report=$(jq -r .status "$WORK/report.json") || fail "p2v-report.json is not JSON"
    check_eq "report status" ok "$report"
    jq -e '.result.table == "mbr" and (.result.partitions | length) == 5' "$WORK/report.json" >/dev/null ||
        fail "the report's result is not the story's layout"
    live_out_get "$WORK/out.img" image.qcow2 "$WORK/image.qcow2" || fail "no image.qcow2 on P2V-OUT"
    qemu-img check "$WORK/image.qcow2" || fail "qemu-img check"
    qemu-img convert -O raw "$WORK/image.qcow2" "$WORK/image.raw"
    live_check_story_image "$WORK/image.raw"
    pass "p2v Live ($fw): the unattended image passes the story's checks"
}
