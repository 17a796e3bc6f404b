/* --vm-def libvirt: a domain XML for `virsh define`. q35 (i440fx for an IDE
 * disk: q35 has no IDE controller), SeaBIOS or OVMF chosen by libvirt's
 * firmware auto-selection (a fresh NVRAM from the distribution's template;
 * Secure Boot and SMM when asked), the disk as written on the bus Windows was
 * prepared for, the NIC, the PC's SMBIOS strings and its ACPI MSDM table. */
#include "vmdef/vmdef.h"

#include <inttypes.h>
#include <string.h>

#include "vmdef/vmdef_disk.h"

static void entry(FILE *o, const char *name, const char *v)
{
    if (!v || !*v)
        return;
    fprintf(o, "      <entry name='%s'>", name);
    vm_put_xml(o, v);
    fputs("</entry>\n", o);
}

static void sysinfo(const struct vmdef_in *in, FILE *o)
{
    const struct vm_machine *m = in->smbios;
    fputs("  <sysinfo type='smbios'>\n    <system>\n", o);
    entry(o, "manufacturer", m->vendor);
    entry(o, "product", m->product);
    entry(o, "version", m->version);
    entry(o, "serial", m->serial);
    entry(o, "uuid", m->uuid);
    entry(o, "family", m->family);
    fputs("    </system>\n  </sysinfo>\n", o);
}

static void os_block(const struct vmdef_in *in, FILE *o)
{
    fprintf(o, "  <os%s>\n", in->uefi ? " firmware='efi'" : "");
    fprintf(o, "    <type arch='x86_64' machine='%s'>hvm</type>\n",
            in->bus == VM_BUS_IDE ? "pc" : "q35");
    if (in->uefi) {
        fputs("    <firmware>\n", o);
        fprintf(o, "      <feature enabled='%s' name='secure-boot'/>\n",
                in->secure_boot ? "yes" : "no");
        if (in->secure_boot)
            fputs("      <feature enabled='yes' name='enrolled-keys'/>\n", o);
        fputs("    </firmware>\n", o);
    }
    if (in->smbios)
        fputs("    <smbios mode='sysinfo'/>\n", o);
    fputs("  </os>\n", o);
}

static void features(const struct vmdef_in *in, FILE *o)
{
    fputs("  <features>\n    <acpi/>\n    <apic/>\n", o);
    if (in->windows)
        fputs("    <hyperv mode='custom'>\n      <relaxed state='on'/>\n"
              "      <vapic state='on'/>\n      <spinlocks state='on' retries='8191'/>\n"
              "    </hyperv>\n", o);
    if (in->secure_boot)
        fputs("    <smm state='on'/>\n", o);
    fputs("  </features>\n", o);
}

static void disk_source(const struct vm_disk *d, FILE *o)
{
    switch (d->kind) {
    case VM_DISK_FILE:
        fputs("      <source file='", o);
        vm_put_xml(o, d->path);
        fputs("'/>\n", o);
        break;
    case VM_DISK_RBD:
        fputs("      <source protocol='rbd' name='", o);
        vm_put_xml(o, d->path);
        fputs("'/>\n", o);
        break;
    case VM_DISK_NBD:
        fputs("      <source protocol='nbd' name='", o);
        vm_put_xml(o, d->path);
        fputs("'>\n", o);
        if (d->socket[0]) {
            fputs("        <host transport='unix' socket='", o);
            vm_put_xml(o, d->socket);
        } else {
            fputs("        <host name='", o);
            vm_put_xml(o, d->host);
            fputs("' port='", o);
            vm_put_xml(o, d->port);
        }
        fputs("'/>\n      </source>\n", o);
        break;
    }
}

static void disk(const struct vmdef_in *in, const struct vm_disk *d, FILE *o)
{
    static const char *const bus[] = { "virtio", "scsi", "sata", "ide" };
    static const char *const dev[] = { "vda", "sda", "sda", "hda" };
    fprintf(o, "    <disk type='%s' device='disk'>\n", d->kind == VM_DISK_FILE ? "file" : "network");
    fprintf(o, "      <driver name='qemu' type='%s' discard='unmap'/>\n",
            in->format == VM_DISK_QCOW2 ? "qcow2" : "raw");
    disk_source(d, o);
    fprintf(o, "      <target dev='%s' bus='%s'/>\n", dev[in->bus], bus[in->bus]);
    fputs("      <boot order='1'/>\n    </disk>\n", o);
    if (in->bus == VM_BUS_VIRTIO_SCSI)
        fputs("    <controller type='scsi' index='0' model='virtio-scsi'/>\n", o);
}

static void devices(const struct vmdef_in *in, const struct vm_disk *d, FILE *o)
{
    fputs("  <devices>\n", o);
    disk(in, d, o);
    fputs("    <controller type='usb' model='qemu-xhci'/>\n", o);
    fputs("    <interface type='network'>\n      <source network='default'/>\n", o);
    if (in->mac) {
        fputs("      <mac address='", o);
        vm_put_xml(o, in->mac);
        fputs("'/>\n", o);
    }
    fprintf(o, "      <model type='%s'/>\n    </interface>\n",
            in->nic == VM_NIC_VIRTIO ? "virtio" : "e1000e");
    fputs("    <channel type='unix'>\n"
          "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n", o);
    fputs("    <input type='tablet' bus='usb'/>\n", o);
    fputs("    <graphics type='spice' autoport='yes'>\n      <listen type='address'/>\n"
          "    </graphics>\n    <video>\n      <model type='qxl'/>\n    </video>\n", o);
    if (in->tpm)
        fputs("    <tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>\n"
              "    </tpm>\n", o);
    if (in->nic == VM_NIC_VIRTIO)
        fputs("    <memballoon model='virtio'/>\n", o);
    fputs("  </devices>\n", o);
}

static int write_libvirt(const struct vmdef_in *in, FILE *o, p2v_err *err)
{
    struct vm_disk d;
    int r = vm_disk_parse(in->disk, &d, err);
    if (r < 0)
        return r;
    fprintf(o, "<!-- written by p2v for %s; define with: virsh define FILE -->\n",
            in->windows ? "a converted Windows PC" : "a converted PC");
    fprintf(o, "<domain type='kvm'%s>\n",
            in->msdm_file ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "");
    fputs("  <name>", o);
    vm_put_xml(o, in->name);
    fputs("</name>\n", o);
    if (in->smbios && in->smbios->uuid[0]) {
        fputs("  <uuid>", o);
        vm_put_xml(o, in->smbios->uuid);
        fputs("</uuid>\n", o);
    }
    fprintf(o, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", in->memory / 1024);
    fprintf(o, "  <currentMemory unit='KiB'>%" PRIu64 "</currentMemory>\n", in->memory / 1024);
    fprintf(o, "  <vcpu placement='static'>%u</vcpu>\n", in->cpus);
    if (in->smbios)
        sysinfo(in, o);
    os_block(in, o);
    features(in, o);
    fputs("  <cpu mode='host-passthrough'/>\n", o);
    fprintf(o, "  <clock offset='%s'>\n", in->windows ? "localtime" : "utc");
    if (in->windows)
        fputs("    <timer name='hypervclock' present='yes'/>\n", o);
    fputs("    <timer name='rtc' tickpolicy='catchup'/>\n  </clock>\n", o);
    fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
          "  <on_crash>destroy</on_crash>\n", o);
    devices(in, &d, o);
    if (in->msdm_file) {
        /* the OEM key table as the PC's firmware gave it (signature MSDM kept) */
        fputs("  <qemu:commandline>\n    <qemu:arg value='-acpitable'/>\n"
              "    <qemu:arg value='file=", o);
        for (const char *c = in->msdm_file; *c; c++) { /* a ',' is doubled in a qemu option */
            char one[2] = { *c, 0 };
            vm_put_xml(o, *c == ',' ? ",," : one);
        }
        fputs("'/>\n  </qemu:commandline>\n", o);
    }
    fputs("</domain>\n", o);
    return 0;
}

const struct vmdef_format vmdef_libvirt = { "libvirt", ".xml", write_libvirt };
