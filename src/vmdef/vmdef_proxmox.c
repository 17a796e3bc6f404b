/* --vm-def proxmox: a VM configuration in the form of
 * /etc/pve/qemu-server/VMID.conf, its leading comment lines holding the
 * commands that import the image and attach it (Proxmox shows them as the
 * VM's description). SMBIOS strings are base64 (smbios1: ...,base64=1), so
 * no value can break the line-based format. */
#include "vmdef/vmdef.h"

#include <inttypes.h>
#include <string.h>

#include "vmdef/vmdef_disk.h"

static void put_base64(FILE *o, const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        fputc(tab[v >> 18 & 63], o);
        fputc(tab[v >> 12 & 63], o);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', o);
        fputc(i + 2 < n ? tab[v & 63] : '=', o);
    }
}

/* A comment line: no newline or other control character can end it early. */
static void comment(FILE *o, const char *a, const char *b, const char *c)
{
    fputs("#", o);
    for (const char *const *s = (const char *const[]){ a, b, c, NULL }; *s; s++)
        for (const char *q = *s; *q; q++)
            fputc((unsigned char)*q < 0x20 || *q == 0x7f ? ' ' : *q, o);
    fputc('\n', o);
}

static const char *disk_key(enum vm_bus b)
{
    static const char *const k[] = { "virtio0", "scsi0", "sata0", "ide0" };
    return k[b];
}

static void smbios1(const struct vm_machine *m, FILE *o)
{
    static const char *const keys[] = { "manufacturer", "product", "version", "serial",
                                        "family" };
    const char *vals[] = { m->vendor, m->product, m->version, m->serial, m->family };
    fputs("smbios1: ", o);
    bool any = false;
    if (m->uuid[0]) {
        fputs("uuid=", o);
        for (const char *q = m->uuid; *q; q++) /* only a UUID's characters */
            if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') ||
                *q == '-')
                fputc(*q, o);
        any = true;
    }
    for (size_t i = 0; i < 5; i++) {
        if (!vals[i][0])
            continue;
        fprintf(o, "%s%s=", any ? "," : "", keys[i]);
        put_base64(o, vals[i]);
        any = true;
    }
    fprintf(o, "%sbase64=1\n", any ? "," : "");
}

static int write_proxmox(const struct vmdef_in *in, FILE *o, p2v_err *err)
{
    struct vm_disk d;
    int r = vm_disk_parse(in->disk, &d, err);
    if (r < 0)
        return r;
    const char *key = disk_key(in->bus);
    comment(o, " written by p2v. Save as /etc/pve/qemu-server/VMID.conf, then:", "", "");
    if (d.kind == VM_DISK_FILE) {
        comment(o, "   qm importdisk VMID ", d.path, " STORAGE");
        comment(o, "   qm set VMID --", key, " STORAGE:vm-VMID-disk-0,discard=on");
    } else if (d.kind == VM_DISK_RBD) {
        comment(o, "   (the image is in Ceph: add its pool as RBD storage STORAGE, rename it", "",
                "");
        comment(o, "    to vm-VMID-disk-0 with 'rbd mv ", d.path, " POOL/vm-VMID-disk-0')");
        comment(o, "   qm set VMID --", key, " STORAGE:vm-VMID-disk-0,discard=on");
    } else {
        comment(o, "   qemu-img convert -O raw ", in->disk, " DISK; qm importdisk VMID DISK STORAGE");
        comment(o, "   qm set VMID --", key, " STORAGE:vm-VMID-disk-0,discard=on");
    }
    if (in->uefi)
        comment(o, "   qm set VMID --efidisk0 STORAGE:1,efitype=4m", in->secure_boot ?
                ",pre-enrolled-keys=1" : ",pre-enrolled-keys=0", "");
    if (in->tpm)
        comment(o, "   qm set VMID --tpmstate0 STORAGE:1,version=v2.0", "", "");
    fputs("name: ", o);
    for (const char *q = in->name; *q; q++) /* a DNS name: letters, digits, '-' and '.' */
        fputc((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                      *q == '.' ? *q : '-', o);
    fputc('\n', o);
    fprintf(o, "ostype: %s\n", !in->windows ? "l26" : strncmp(in->os_version, "6.1", 3) ? "win10"
                                                                                    : "win7");
    fprintf(o, "machine: %s\n", in->bus == VM_BUS_IDE ? "pc" : "q35");
    fprintf(o, "bios: %s\n", in->uefi ? "ovmf" : "seabios");
    fprintf(o, "memory: %" PRIu64 "\n", in->memory >> 20);
    fprintf(o, "sockets: 1\ncores: %u\ncpu: host\n", in->cpus);
    if (in->bus == VM_BUS_VIRTIO_SCSI)
        fputs("scsihw: virtio-scsi-single\n", o);
    fprintf(o, "boot: order=%s\n", key);
    fprintf(o, "net0: %s", in->nic == VM_NIC_VIRTIO ? "virtio" : "e1000e");
    if (in->mac) {
        fputc('=', o);
        for (const char *q = in->mac; *q; q++)
            if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                (*q >= 'A' && *q <= 'F') || *q == ':')
                fputc(*q, o);
    }
    fputs(",bridge=vmbr0\n", o);
    fputs("agent: 1\ntablet: 1\nvga: qxl\n", o);
    if (in->windows)
        fputs("localtime: 1\n", o);
    if (in->smbios)
        smbios1(in->smbios, o);
    if (in->msdm_file) {
        fputs("args: -acpitable file=", o);
        for (const char *q = in->msdm_file; *q; q++)
            if (*q == ',')
                fputs(",,", o);
            else if (*q == ' ' || (unsigned char)*q < 0x20)
                fputc('_', o);
            else
                fputc(*q, o);
        fputc('\n', o);
    }
    return 0;
}

const struct vmdef_format vmdef_proxmox = { "proxmox", ".conf", write_proxmox };
