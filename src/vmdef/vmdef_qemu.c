/* --vm-def qemu: a shell script that starts the VM with qemu-system-x86_64.
 * Extra arguments are passed on to qemu; ACCEL=tcg runs it without KVM, and
 * OVMF_CODE / OVMF_VARS name other firmware files than Debian's. */
#include "vmdef/vmdef.h"

#include <inttypes.h>
#include <string.h>

#include "vmdef/vmdef_disk.h"

/* The -drive value as one shell word. */
static void drive_arg(const struct vmdef_in *in, const struct vm_disk *d, FILE *o)
{
    char buf[8192];
    FILE *m = fmemopen(buf, sizeof buf, "w");
    if (!m)
        return;
    fputs("file=", m);
    if (d->kind == VM_DISK_FILE) {
        vm_put_qemu_opt(m, d->path);
    } else if (d->kind == VM_DISK_RBD) {
        fputs("rbd:", m);
        vm_put_qemu_opt(m, d->path);
        if (d->conf[0]) {
            fputs(":conf=", m);
            vm_put_qemu_opt(m, d->conf);
        }
        if (d->id[0]) {
            fputs(":id=", m);
            vm_put_qemu_opt(m, d->id);
        }
    } else {
        vm_put_qemu_opt(m, in->disk);
    }
    fprintf(m, ",format=%s,if=none,id=disk0,discard=unmap",
            in->format == VM_DISK_QCOW2 ? "qcow2" : "raw");
    fclose(m);
    vm_put_shell(o, buf);
}

static void smbios_arg(const struct vm_machine *m, FILE *o)
{
    static const char *const keys[] = { "manufacturer", "product", "version", "serial", "uuid",
                                        "family" };
    const char *vals[] = { m->vendor, m->product, m->version, m->serial, m->uuid, m->family };
    char buf[4096];
    FILE *b = fmemopen(buf, sizeof buf, "w");
    if (!b)
        return;
    fputs("type=1", b);
    for (size_t i = 0; i < 6; i++) {
        if (!vals[i][0])
            continue;
        fprintf(b, ",%s=", keys[i]);
        vm_put_qemu_opt(b, vals[i]);
    }
    fclose(b);
    fputs("    -smbios ", o);
    vm_put_shell(o, buf);
    fputs(" \\\n", o);
}

static void firmware(const struct vmdef_in *in, FILE *o)
{
    if (!in->uefi)
        return;
    fprintf(o, "code=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M%s.fd}\n",
            in->secure_boot ? ".secboot" : "");
    fprintf(o, "template=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M%s.fd}\n",
            in->secure_boot ? ".ms" : "");
    fputs("vars=\"$here/$name.OVMF_VARS.fd\"\n", o);
    fputs("[ -e \"$vars\" ] || cp \"$template\" \"$vars\"\n", o);
    fputs("fw=(-drive \"if=pflash,format=raw,unit=0,readonly=on,file=$code\" "
          "-drive \"if=pflash,format=raw,unit=1,file=$vars\")\n", o);
}

static void disk_device(const struct vmdef_in *in, FILE *o)
{
    static const char *const dev[] = {
        "-device virtio-blk-pci,drive=disk0,bootindex=1",
        "-device virtio-scsi-pci,id=scsi0 -device scsi-hd,drive=disk0,bus=scsi0.0,bootindex=1",
        "-device ide-hd,drive=disk0,bus=ide.0,bootindex=1",
        "-device ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=1",
    };
    fprintf(o, "    %s \\\n", dev[in->bus]);
}

static int write_qemu(const struct vmdef_in *in, FILE *o, p2v_err *err)
{
    struct vm_disk d;
    int r = vm_disk_parse(in->disk, &d, err);
    if (r < 0)
        return r;
    fputs("#!/bin/bash\n# Written by p2v: starts the converted PC with qemu. Arguments are "
          "passed on to qemu;\n# ACCEL=tcg runs it without KVM; OVMF_CODE/OVMF_VARS name other "
          "firmware files.\nset -euo pipefail\n", o);
    fputs("here=$(cd \"$(dirname \"$0\")\" && pwd)\nname=", o);
    vm_put_shell(o, in->name);
    fputs("\naccel=${ACCEL:-kvm:tcg}\n", o);
    fprintf(o, "cpu=max\n");
    if (in->windows)
        fputs("# Hyper-V enlightenments need KVM\n"
              "[ \"$accel\" = tcg ] || cpu=max,hv_relaxed,hv_vapic,hv_spinlocks=0x1fff\n", o);
    fputs("fw=()\n", o);
    firmware(in, o);
    if (in->tpm)
        fputs("# The PC used a TPM (BitLocker): start swtpm and add\n"
              "#   -chardev socket,id=chrtpm,path=SOCK -tpmdev emulator,id=tpm0,chardev=chrtpm "
              "-device tpm-crb,tpmdev=tpm0\n", o);
    fputs("exec qemu-system-x86_64 \\\n", o);
    fprintf(o, "    -name \"$name\" -machine %s,accel=\"$accel\"%s -cpu \"$cpu\" \\\n",
            in->bus == VM_BUS_IDE ? "pc" : "q35", in->secure_boot ? ",smm=on" : "");
    fprintf(o, "    -m %" PRIu64 "M -smp %u \\\n", in->memory >> 20, in->cpus);
    fputs("    \"${fw[@]}\" \\\n", o);
    if (in->secure_boot)
        fputs("    -global driver=cfi.pflash01,property=secure,value=on \\\n", o);
    fputs("    -drive ", o);
    drive_arg(in, &d, o);
    fputs(" \\\n", o);
    disk_device(in, o);
    fprintf(o, "    -netdev user,id=net0 -device %s,netdev=net0",
            in->nic == VM_NIC_VIRTIO ? "virtio-net-pci" : "e1000e");
    if (in->mac) {
        fputs(",mac=", o);
        vm_put_qemu_opt(o, in->mac);
    }
    fputs(" \\\n", o);
    if (in->smbios) {
        smbios_arg(in->smbios, o);
        if (in->smbios->uuid[0]) {
            fputs("    -uuid ", o);
            vm_put_shell(o, in->smbios->uuid);
            fputs(" \\\n", o);
        }
    }
    if (in->msdm_file) {
        char buf[4096];
        FILE *b = fmemopen(buf, sizeof buf, "w");
        if (b) {
            fputs("file=", b);
            vm_put_qemu_opt(b, in->msdm_file);
            fclose(b);
            fputs("    -acpitable ", o);
            vm_put_shell(o, buf);
            fputs(" \\\n", o);
        }
    }
    if (in->windows)
        fputs("    -rtc base=localtime \\\n", o);
    fputs("    -device virtio-serial-pci -chardev socket,id=qga0,path=\"$here/$name.qga\","
          "server=on,wait=off \\\n"
          "    -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \\\n", o);
    fputs("    -device qemu-xhci -device usb-tablet \\\n", o);
    fputs("    \"$@\"\n", o);
    return 0;
}

const struct vmdef_format vmdef_qemu = { "qemu", ".sh", write_qemu, .executable = true };
