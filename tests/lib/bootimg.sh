# Builders of bootable source PCs and a qemu boot harness for the boot tests.
# Source after tests/lib/common.sh (needs $WORK, need, fail).
#
# Everything comes from Debian packages at test time (scripts/deps installs
# them): the kernel from linux-image-amd64 (/boot/vmlinuz-*), a tiny
# initramfs of busybox-static whose /init prints a marker on the serial
# console and powers off, SYSLINUX for BIOS, systemd-boot for UEFI, SeaBIOS
# and OVMF as firmware. No image is stored in git.
#
#   bootimg_need_bios / bootimg_need_uefi   skip (77) when a tool is missing
#   bootimg_kernel                          path of the kernel to boot
#   bootimg_initramfs OUT MARKER            busybox initramfs printing MARKER
#   bootimg_bios_pc OUT KERNEL INITRD       MBR disk, data partition first,
#                                           FAT boot partition (active) at 10 MiB
#   bootimg_uefi_pc OUT KERNEL INITRD       GPT disk, data partition first,
#                                           ESP with systemd-boot at 10 MiB
#   bootimg_fill_esp FAT KERNEL INITRD      systemd-boot, entry, kernel into a FAT
#   bootimg_convert_pc FIRMWARE     $WORK/pc.img's boot partition (2) first,
#                                           then its data (1), into $WORK/conv.qcow2
#                                           and $WORK/conv.raw; the dry run must
#                                           name FIRMWARE (kept from the source)
#   bootimg_expect_boot WHAT IMAGE FORMAT FW MARKER LOG SOURCE
#                                           require a boot, with the source PC
#                                           as the control on failure
#   bootimg_screen_disk OUT stop|bootmgr|ready
#                                           2 MiB MBR disk whose boot program
#                                           paints a screen of text (VGA only)
#   bootimg_accel                           accelerator tried first (kvm/tcg)
#   bootimg_boot IMAGE FORMAT bios|uefi MARKER LOG [TIMEOUT]
#                                           boot in qemu; 0 when MARKER
#                                           appeared; sets BOOT_SECONDS

# bootimg_convert_pc FIRMWARE: p2v convert of $WORK/pc.img's partitions 2
# (the boot partition, at 10 MiB: it moves to 1 MiB) and 1 into
# $WORK/conv.qcow2, after a dry run (printed) whose output matches FIRMWARE
# (grep: the firmware comes from the source); the image passes qemu-img check
# and is also left as the raw disk $WORK/conv.raw.
bootimg_convert_pc() {
    expect_exit 0 "$P2V" convert --dry-run -o "$WORK/conv.qcow2" "$WORK/pc.img:2" "$WORK/pc.img:1"
    cat "$WORK/last.out"
    grep -q "$1" "$WORK/last.out" || fail "dry-run does not say the firmware comes from the source"
    expect_exit 0 "$P2V" convert -o "$WORK/conv.qcow2" "$WORK/pc.img:2" "$WORK/pc.img:1"
    qemu-img check "$WORK/conv.qcow2" >/dev/null || fail "qemu-img check"
    qemu-img convert -O raw "$WORK/conv.qcow2" "$WORK/conv.raw"
}

BOOTIMG_SYSLINUX_MBR=${BOOTIMG_SYSLINUX_MBR:-/usr/lib/syslinux/mbr/mbr.bin}
BOOTIMG_SDBOOT=${BOOTIMG_SDBOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}
BOOTIMG_OVMF_CODE=${BOOTIMG_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE.fd}
BOOTIMG_OVMF_VARS=${BOOTIMG_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS.fd}
BOOTIMG_CMDLINE="console=ttyS0,115200 panic=-1 quiet"
export MTOOLS_SKIP_CHECK=1

_bootimg_need_files() {
    local f
    for f in "$@"; do
        if [ ! -r "$f" ]; then
            echo "SKIP: $f not found" >&2
            exit 77
        fi
    done
}

bootimg_need_common() {
    need qemu-system-x86_64 qemu-img cpio gzip busybox sfdisk sgdisk mkfs.fat mcopy mmd mkfs.ext4 timeout
    [ -n "$(bootimg_kernel)" ] || { echo "SKIP: no /boot/vmlinuz-* (linux-image-amd64)" >&2; exit 77; }
    _bootimg_need_files /bin/busybox
}
bootimg_need_bios() {
    bootimg_need_common
    need syslinux
    _bootimg_need_files "$BOOTIMG_SYSLINUX_MBR"
}
bootimg_need_uefi() {
    bootimg_need_common
    _bootimg_need_files "$BOOTIMG_SDBOOT" "$BOOTIMG_OVMF_CODE" "$BOOTIMG_OVMF_VARS"
}

# The newest kernel of linux-image-amd64.
bootimg_kernel() {
    ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1
}

# bootimg_initramfs OUT MARKER: a gzip'd newc cpio holding only a static
# busybox and /init. /init prints MARKER (and the kernel's uptime, the boot
# time seen from inside) on ttyS0 and powers the machine off at once.
bootimg_initramfs() {
    local out=$1 marker=$2 root
    root=$(mktemp -d "$WORK/initramfs.XXXXXX")
    mkdir -p "$root/bin" "$root/dev" "$root/proc"
    cp /bin/busybox "$root/bin/busybox"
    cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t proc proc /proc
read up idle </proc/uptime
echo "$marker kernel \$(/bin/busybox uname -r) up \${up}s" >/dev/ttyS0
/bin/busybox poweroff -f
EOF
    chmod 755 "$root/init"
    (cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$out"
    rm -rf "$root"
}

# _bootimg_put DISK OFFSET_MIB PARTFILE: place a partition image in a disk.
_bootimg_put() {
    dd if="$3" of="$1" bs=1M seek="$2" conv=notrunc,sparse status=none
}

# _bootimg_data_fs FILE MIB: a small ext4 data filesystem with a file in it.
_bootimg_data_fs() {
    local d
    d=$(mktemp -d "$WORK/data.XXXXXX")
    echo "p2v boot test data partition" >"$d/README"
    truncate -s "$2M" "$1"
    mkfs.ext4 -q -F -L p2vdata -d "$d" "$1"
    rm -rf "$d"
}

# bootimg_bios_pc OUT KERNEL INITRD
# A 48 MiB MBR disk as an old BIOS PC has it:
#   1: 8 MiB ext4 data at 1 MiB (type 0x83)
#   2: 24 MiB FAT16 boot partition at 10 MiB (type 0x0e, active), holding
#      SYSLINUX, the kernel and the initramfs
# and SYSLINUX's MBR boot code in the first 440 bytes.
bootimg_bios_pc() {
    local out=$1 kernel=$2 initrd=$3 part cfg
    part=$(mktemp "$WORK/bootpart.XXXXXX")
    cfg=$(mktemp "$WORK/syslinux.XXXXXX")
    rm -f "$out" "$part"
    truncate -s 48M "$out"
    sfdisk -q "$out" <<EOF
label: dos
start=2048, size=16384, type=83
start=20480, size=49152, type=e, bootable
EOF
    _bootimg_data_fs "$part" 8
    _bootimg_put "$out" 1 "$part"
    rm -f "$part"
    # Hidden sectors = the partition's start, as a partitioning tool sets it.
    mkfs.fat -F 16 -n P2VBOOT -h 20480 -C "$part" $((24 * 1024)) >/dev/null
    cat >"$cfg" <<EOF
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT linux
LABEL linux
    KERNEL /vmlinuz
    INITRD /initrd.img
    APPEND $BOOTIMG_CMDLINE
EOF
    mcopy -i "$part" "$kernel" ::/vmlinuz
    mcopy -i "$part" "$initrd" ::/initrd.img
    mcopy -i "$part" "$cfg" ::/syslinux.cfg
    syslinux --install "$part"
    _bootimg_put "$out" 10 "$part"
    dd if="$BOOTIMG_SYSLINUX_MBR" of="$out" bs=440 count=1 conv=notrunc status=none
    rm -f "$part" "$cfg"
}

# bootimg_uefi_pc OUT KERNEL INITRD
# A 64 MiB GPT disk as a UEFI PC has it:
#   1: 8 MiB ext4 data at 1 MiB (Linux filesystem)
#   2: 40 MiB FAT32 ESP at 10 MiB, holding systemd-boot as the removable-media
#      loader \EFI\BOOT\BOOTX64.EFI, a loader entry, the kernel and initramfs.
bootimg_uefi_pc() {
    local out=$1 kernel=$2 initrd=$3 part
    part=$(mktemp "$WORK/esp.XXXXXX")
    rm -f "$out" "$part"
    truncate -s 64M "$out"
    sgdisk -n 1:2048:+8M -t 1:8300 -c 1:data \
              -n 2:20480:+40M -t 2:ef00 -c 2:"EFI system partition" "$out" >/dev/null
    _bootimg_data_fs "$part" 8
    _bootimg_put "$out" 1 "$part"
    rm -f "$part"
    mkfs.fat -F 32 -S 512 -s 1 -n ESP -h 20480 -C "$part" $((40 * 1024)) >/dev/null
    bootimg_fill_esp "$part" "$kernel" "$initrd"
    _bootimg_put "$out" 10 "$part"
    rm -f "$part"
}

# bootimg_fill_esp FAT KERNEL INITRD: put systemd-boot (as the removable-media
# loader \EFI\BOOT\BOOTX64.EFI), a loader entry for KERNEL + INITRD with a
# serial console, and both files into the FAT filesystem FAT (an image file,
# or IMAGE@@OFFSET as mtools takes it).
bootimg_fill_esp() {
    local fat=$1 kernel=$2 initrd=$3 d
    d=$(mktemp -d "$WORK/espfiles.XXXXXX")
    printf 'timeout 0\ndefault p2v.conf\n' >"$d/loader.conf"
    printf 'title p2v boot test\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' \
        "$BOOTIMG_CMDLINE" >"$d/p2v.conf"
    mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
    mcopy -i "$fat" "$BOOTIMG_SDBOOT" ::/EFI/BOOT/BOOTX64.EFI
    mcopy -i "$fat" "$d/loader.conf" ::/loader/loader.conf
    mcopy -i "$fat" "$d/p2v.conf" ::/loader/entries/p2v.conf
    mcopy -i "$fat" "$kernel" ::/vmlinuz
    mcopy -i "$fat" "$initrd" ::/initrd.img
    rm -rf "$d"
}

# bootimg_accel: the accelerator to try first: "kvm" when /dev/kvm is
# usable, unless an earlier boot found that KVM fails on this host (cached in
# $BOOTIMG_ACCEL_CACHE, default $P2V_BUILD/bootimg-accel); else "tcg".
# BOOTIMG_ACCEL=tcg|kvm forces one.
_bootimg_accel_cache() { echo "${BOOTIMG_ACCEL_CACHE:-${P2V_BUILD:-$WORK}/bootimg-accel}"; }
bootimg_accel() {
    local cache
    cache=$(_bootimg_accel_cache)
    if [ -n "${BOOTIMG_ACCEL:-}" ]; then
        echo "$BOOTIMG_ACCEL"
    elif [ -s "$cache" ]; then
        cat "$cache"
    elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        echo kvm
    else
        echo tcg
    fi
}

# _bootimg_run ACCEL LIMIT LOG ARGS...: run qemu in the background until it
# exits, the limit passes, or KVM reports an internal error (on some hosts
# /dev/kvm is there but SeaBIOS/OVMF stop at once with "KVM internal error
# ... emulation failure" and qemu then hangs), or, when BOOTIMG_STOP_ON is
# set, that text appears in LOG (for boots that end in a halt): returns 0 on
# exit or stop, 3 on a KVM failure, 124 on timeout; sets BOOT_SECONDS.
_bootimg_run() {
    local accel=$1 limit=$2 log=$3 pid start now rc=0
    shift 3
    # Both logs are emptied here, before qemu starts: the redirection below
    # happens in the child, and the loop's first look at "$log.qemu" can come
    # before it; a KVM try's "emulation failure" left in it then ended the
    # TCG retry at once (status 3 after 0.0 s; CI met it in boot_uefi).
    : >"$log"
    : >"$log.qemu"
    start=$(date +%s.%N)
    # timeout bounds qemu's life even if this shell dies before it can kill it
    timeout -k 5 $((limit + 5)) qemu-system-x86_64 -accel "$accel" "$@" -serial "file:$log" \
        >"$log.qemu" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        now=$(date +%s.%N)
        if grep -q -e "KVM internal error" -e "emulation failure" "$log.qemu" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            rc=3
            break
        fi
        if [ -n "${BOOTIMG_STOP_ON:-}" ] && grep -q -- "$BOOTIMG_STOP_ON" "$log" 2>/dev/null; then
            sleep 0.3 # let the rest of the line arrive
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            break
        fi
        if awk -v a="$start" -v b="$now" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            rc=124
            break
        fi
        sleep 0.2
    done
    if [ "$rc" = 0 ]; then
        wait "$pid" || true
    fi
    now=$(date +%s.%N)
    BOOT_SECONDS=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
    return "$rc"
}

# bootimg_boot IMAGE FORMAT bios|uefi MARKER LOG [TIMEOUT]
# Boot IMAGE in qemu with its serial console in LOG; 0 when MARKER appears,
# 1 otherwise (the serial log and qemu's messages are shown on stderr).
# KVM when it works here, TCG otherwise: a KVM boot that fails (30 s limit)
# is retried under TCG (150 s limit), and when TCG boots, the cache sends the
# next boots straight to TCG.
# Sets BOOT_SECONDS (qemu start to power-off, wall clock) and BOOT_ACCEL.
bootimg_boot() {
    local img=$1 fmt=$2 fw=$3 marker=$4 log=$5 limit=${6:-} accel rc=0
    local -a args
    args=(-m 512 -display none -monitor none -nodefaults -no-reboot
          -drive "file=$img,format=$fmt,if=virtio")
    if [ "$fw" = uefi ]; then
        cp "$BOOTIMG_OVMF_VARS" "$WORK/OVMF_VARS.fd"
        args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$BOOTIMG_OVMF_CODE"
               -drive "if=pflash,format=raw,unit=1,file=$WORK/OVMF_VARS.fd")
    fi
    accel=$(bootimg_accel)
    # A KVM try only has to show whether KVM works; a TCG boot gets the long
    # limit (a loaded 2-core machine has taken 25 s for a UEFI boot).
    local first_limit=${limit:-150}
    [ "$accel" = kvm ] && first_limit=${limit:-30}
    _bootimg_run "$accel" "$first_limit" "$log" "${args[@]}" || rc=$?
    if [ "$accel" = kvm ] && ! grep -q -- "$marker" "$log"; then
        if [ "$rc" = 3 ]; then
            echo "KVM fails on this host (emulation failure); using TCG" >&2
            echo tcg >"$(_bootimg_accel_cache)" 2>/dev/null || true
        else
            echo "no marker under KVM (status $rc); trying TCG" >&2
        fi
        accel=tcg
        [ "$fw" = uefi ] && cp "$BOOTIMG_OVMF_VARS" "$WORK/OVMF_VARS.fd"
        rc=0
        _bootimg_run tcg "${limit:-150}" "$log" "${args[@]}" || rc=$?
        # KVM failed where TCG boots: later boots go straight to TCG.
        if grep -q -- "$marker" "$log"; then
            echo tcg >"$(_bootimg_accel_cache)" 2>/dev/null || true
        fi
    fi
    BOOT_ACCEL=$accel
    if grep -q -- "$marker" "$log"; then
        return 0
    fi
    echo "no marker after ${BOOT_SECONDS}s (status $rc, accel $accel); serial log:" >&2
    tail -n 40 "$log" >&2
    echo "--- qemu:" >&2
    tail -n 20 "$log.qemu" >&2
    return 1
}

# bootimg_bios_screen IMAGE TEXT LOG: boot IMAGE under SeaBIOS with its
# serial console ("sercon") mirroring the screen, so what a boot program
# prints with INT 10h lands in LOG; 0 when TEXT appears within 90 s.
bootimg_bios_screen() {
    local img=$1 text=$2 log=$3 rc=0
    printf '\xf8\x03' >"$WORK/sercon-port" # COM1, 0x3f8, as a little-endian integer
    BOOTIMG_STOP_ON=$text _bootimg_run tcg 90 "$log" -m 64 -display none -monitor none \
        -nodefaults -no-reboot -vga std -fw_cfg "name=etc/sercon-port,file=$WORK/sercon-port" \
        -drive "file=$img,format=raw,if=virtio" 2>/dev/null || rc=$?
    BOOT_ACCEL=tcg
    if grep -q -- "$text" "$log"; then
        return 0
    fi
    echo "'$text' not on screen after ${BOOT_SECONDS}s (status $rc):" >&2
    tr -d '\r' <"$log" | tail -n 10 >&2
    return 1
}

# bootimg_expect_boot WHAT IMAGE FORMAT FW MARKER LOG SOURCE
# Require IMAGE to boot (marker on the serial console) and print its serial
# lines. SOURCE is the raw source PC it came from, the control: when IMAGE
# fails, SOURCE is booted too, so the failure says whether p2v or the test
# machinery is at fault (BOOTIMG_CONTROL=1 boots SOURCE first every time).
bootimg_expect_boot() {
    local what=$1 img=$2 fmt=$3 fw=$4 marker=$5 log=$6 src=$7
    if [ "${BOOTIMG_CONTROL:-0}" = 1 ] && [ -z "${_bootimg_control_done:-}" ]; then
        bootimg_boot "$src" raw "$fw" "$marker" "$log.control" || fail "the source PC does not boot"
        bootimg_report "source PC (control)" "$log.control"
        _bootimg_control_done=1
    fi
    if bootimg_boot "$img" "$fmt" "$fw" "$marker" "$log"; then
        bootimg_report "$what" "$log"
        return 0
    fi
    if bootimg_boot "$src" raw "$fw" "$marker" "$log.control"; then
        fail "$what: does not boot, although the source PC does (${BOOT_SECONDS}s)"
    fi
    fail "$what: does not boot, and neither does the source PC: the test machinery is at fault"
}

# bootimg_report NAME LOG MARKER: print the serial lines of a boot for the log.
bootimg_report() {
    echo "--- $1: serial output (${BOOT_SECONDS}s, accel ${BOOT_ACCEL})"
    tr -d '\r' <"$2" | sed 's/\x1b\[[0-9;=?]*[A-Za-z]//g; s/\x1bc//g' | grep -v '^ *$' | tail -n 15
}

# bootimg_screen_disk OUT stop|bootmgr|ready: a 2 MiB MBR disk (one active
# partition at 1 MiB) whose boot code, tests/lib/bootscreen.asm assembled
# here, paints a fake Windows stop screen, a Windows Boot Manager error
# screen (0xc000000e), or "P2V TEST DESKTOP READY", and halts. Needs nasm.
bootimg_screen_disk() {
    local out=$1 kind=$2 bin
    bin=$(mktemp "$WORK/bootscreen.XXXXXX")
    nasm -f bin -DSCREEN_"${kind^^}" -o "$bin" "$P2V_SRC/tests/lib/bootscreen.asm"
    [ "$(stat -c %s "$bin")" = 440 ] || fail "bootscreen.asm: not 440 bytes of boot code"
    rm -f "$out"
    truncate -s 2M "$out"
    printf 'label: dos\nstart=2048, size=2048, type=7, bootable\n' | sfdisk -q "$out"
    dd if="$bin" of="$out" bs=440 count=1 conv=notrunc status=none
    rm -f "$bin"
}
