# p2v Live booted over the network in qemu: qemu's own DHCP/TFTP (slirp's
# -netdev user,tftp=,bootfile=) hands the NIC's iPXE ROM (qemu's pxe-*.rom
# IS iPXE) an iPXE script, which fetches the live system's kernel, initrd
# and squashfs over HTTP from a server on this machine's 127.0.0.1 (10.0.2.2
# as the guest sees it; nothing else is ever contacted). Source after
# common.sh; it sources bootimg.sh and live.sh, which it builds on.
#
#   livepxe_need                 skip unless root and the tools are here
#   livepxe_accel                kvm if SeaBIOS runs under KVM here, else tcg
#                                (probed once, cached like bootimg_accel)
#   livepxe_http DIR             serve DIR on 127.0.0.1 (a free port); sets
#                                LIVEPXE_HTTP_PORT and LIVEPXE_HTTP_PID
#   livepxe_files DIR            the ISO's kernel, initrd and squashfs into DIR/live
#   livepxe_nbd DIR              nbdkit serving the files in DIR as NBD exports
#                                on 127.0.0.1 (a free port); sets LIVEPXE_NBD_PORT
#   livepxe_plan FILE            the plan by roles both PXE tests give their PCs
#   livepxe_script FILE ARGS     an iPXE script booting DIR/live from the HTTP
#                                server with the kernel arguments ARGS added
#   livepxe_vm NAME SERIAL TFTPDIR BOOTFILE DISK...
#                                boot a PC from the network: SMBIOS serial
#                                SERIAL, DISK... as its SATA disks (writable
#                                by the guest, so that a check that they did
#                                not change means something), serial
#                                console in $WORK/NAME.log; in the background,
#                                LIVEPXE_PID_<NAME> holds qemu's pid
#   livepxe_wait NAME LIMIT      wait for NAME's qemu to power off; sets
#                                LIVEPXE_SECONDS

source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/live.sh"

# qemu loads the NIC's ROM from its own search path (Debian: ipxe-qemu's
# /usr/lib/ipxe/qemu/efi-virtio.rom, iPXE for BIOS and UEFI); a romfile=
# path given by hand was not run by SeaBIOS here.
LIVEPXE_ROM=/usr/lib/ipxe/qemu/efi-virtio.rom
LIVEPXE_MEM=${LIVEPXE_MEM:-768}

livepxe_need() {
    live_need
    need python3 xorriso curl nbdkit
    [ -r "$LIVEPXE_ROM" ] || { echo "SKIP: no iPXE ROM for qemu ($LIVEPXE_ROM, Debian: ipxe-qemu)" >&2; exit 77; }
    # One probe for all the VMs of a test (KVM that works once may not the
    # next time on a loaded host; they all get the same answer).
    LIVEPXE_ACCEL=$(livepxe_accel)
}

# livepxe_accel: SeaBIOS under KVM stops at once with an emulation failure
# on some hosts although /dev/kvm is there: try 8 s of it, else TCG.
livepxe_accel() {
    local cache
    [ -z "${LIVEPXE_ACCEL:-}" ] || { echo "$LIVEPXE_ACCEL"; return; }
    cache=$(_bootimg_accel_cache)
    if [ -n "${BOOTIMG_ACCEL:-}" ]; then echo "$BOOTIMG_ACCEL"; return; fi
    if [ -s "$cache" ]; then cat "$cache"; return; fi
    if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then echo tcg; return; fi
    # SeaBIOS logs to the debug port as it goes: under a KVM that cannot run
    # it, the log stops half-way (or KVM reports an error) instead of ending
    # with "No bootable device" (this machine has no disk) within 8 s.
    : >"$WORK/kvm-probe.dbg"
    timeout -k 2 8 qemu-system-x86_64 -accel kvm -m 64 -display none -nodefaults \
        -monitor none -serial none -chardev "file,id=dbg,path=$WORK/kvm-probe.dbg" \
        -device isa-debugcon,iobase=0x402,chardev=dbg >"$WORK/kvm-probe.log" 2>&1 || true
    if grep -q -e "KVM internal error" -e "emulation failure" -e "failed to initialize" "$WORK/kvm-probe.log" ||
       ! grep -q "No bootable device" "$WORK/kvm-probe.dbg"; then
        echo tcg | tee "$cache"
    else
        echo kvm
    fi
}

livepxe_http() {
    local dir=$1 t=0
    python3 -u -m http.server --bind 127.0.0.1 --directory "$dir" 0 >"$WORK/http.log" 2>&1 &
    LIVEPXE_HTTP_PID=$!
    while ! grep -q "port [0-9]" "$WORK/http.log"; do
        t=$((t + 1))
        [ $t -lt 100 ] || fail "the HTTP server did not start: $(cat "$WORK/http.log")"
        sleep 0.1
    done
    LIVEPXE_HTTP_PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$WORK/http.log" | head -n 1)
}

livepxe_nbd() {
    LIVEPXE_NBD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    nbdkit -i 127.0.0.1 -p "$LIVEPXE_NBD_PORT" -P "$WORK/nbdkit.pid" file dir="$1"
    wait_until 100 test -s "$WORK/nbdkit.pid" || fail "nbdkit did not start"
    track_pid "$(cat "$WORK/nbdkit.pid")"
}

livepxe_plan() {
    cat >"$1" <<'EOF'
{"p2v_plan": 2,
 "select": [{"role": "boot"}, {"role": "recovery", "optional": true},
            {"role": "data", "optional": true}, {"role": "windows"}],
 "options": {"format": "raw"}}
EOF
}

livepxe_files() {
    local dir=$1
    mkdir -p "$dir/live"
    xorriso -osirrox on -indev "$(live_iso)" -extract /live/vmlinuz "$dir/live/vmlinuz" \
        -extract /live/initrd.img "$dir/live/initrd.img" \
        -extract /live/filesystem.squashfs "$dir/live/filesystem.squashfs" >/dev/null 2>&1 ||
        fail "cannot extract /live from $(live_iso)"
}

# livepxe_script FILE ARGS: what p2v fleet serve's /boot.ipxe says, by hand,
# plus no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
# check can fail ("IO-APIC + timer doesn't work!", a panic).
livepxe_script() {
    local file=$1 args=$2 url=http://10.0.2.2:$LIVEPXE_HTTP_PORT/live
    cat >"$file" <<EOF
#!ipxe
echo p2v-test: iPXE is running the boot script
kernel $url/vmlinuz boot=live fetch=$url/filesystem.squashfs systemd.gpt_auto=0 console=ttyS0,115200n8 no_timer_check $args
initrd $url/initrd.img
boot
EOF
}

livepxe_vm() {
    local name=$1 serial=$2 tftp=$3 bootfile=$4 accel log=$WORK/$1.log port=0 d
    shift 4
    local -a args=(-m "$LIVEPXE_MEM" -smp 1 -display none -monitor none -nodefaults -no-reboot
        -smbios "type=1,manufacturer=p2v test,product=PXE PC,serial=$serial"
        -netdev "user,id=n0,tftp=$tftp,bootfile=$bootfile"
        -device "virtio-net-pci,netdev=n0,bootindex=0"
        -device ahci,id=ahci)
    for d in "$@"; do
        args+=(-drive "if=none,id=src$port,format=raw,file=$d" -device "ide-hd,drive=src$port,bus=ahci.$port")
        port=$((port + 1))
    done
    # LIVEPXE_WRITABLE: a disk qemu lets the guest write (a local target).
    [ -z "${LIVEPXE_WRITABLE:-}" ] ||
        args+=(-drive "if=none,id=out,format=raw,file=$LIVEPXE_WRITABLE" -device "ide-hd,drive=out,bus=ahci.5")
    accel=${LIVEPXE_ACCEL:-$(livepxe_accel)}
    : >"$log"
    timeout -k 5 "${LIVEPXE_LIMIT:-1500}" qemu-system-x86_64 -accel "$accel" "${args[@]}" \
        -serial "file:$log" >"$log.qemu" 2>&1 &
    printf -v "LIVEPXE_PID_$name" '%s' $!
    printf -v "LIVEPXE_START_$name" '%s' "$(date +%s)"
    echo "$name: qemu ($accel, ${LIVEPXE_MEM} MiB), SMBIOS serial $serial, disks: $*"
}

livepxe_wait() {
    local name=$1 limit=$2 pidv=LIVEPXE_PID_$1 startv=LIVEPXE_START_$1 rc=0
    wait "${!pidv}" || rc=$?
    LIVEPXE_SECONDS=$(( $(date +%s) - ${!startv} ))
    if [ "$rc" != 0 ]; then
        echo "$name: qemu ended with status $rc after ${LIVEPXE_SECONDS}s (limit $limit s)" >&2
        _live_plain "$WORK/$name.log" | tail -n 40 >&2
        tail -n 5 "$WORK/$name.log.qemu" >&2
        return 1
    fi
}
