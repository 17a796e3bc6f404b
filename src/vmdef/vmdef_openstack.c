/* --vm-def openstack: the Glance image properties that make Nova build the VM
 * the image was prepared for, as JSON, and the `openstack image create`
 * command line that uploads the image with them. */
#include "vmdef/vmdef.h"

#include <inttypes.h>
#include <string.h>

#include "util/json.h"
#include "vmdef/vmdef_disk.h"

struct prop {
    const char *key, *val;
};

static size_t props(const struct vmdef_in *in, struct prop *p)
{
    static const char *const bus[] = { "virtio", "scsi", "sata", "ide" };
    size_t n = 0;
    p[n++] = (struct prop){ "hw_disk_bus", bus[in->bus] };
    if (in->bus == VM_BUS_VIRTIO_SCSI)
        p[n++] = (struct prop){ "hw_scsi_model", "virtio-scsi" };
    p[n++] = (struct prop){ "hw_firmware_type", in->uefi ? "uefi" : "bios" };
    p[n++] = (struct prop){ "hw_machine_type", in->bus == VM_BUS_IDE ? "pc" : "q35" };
    p[n++] = (struct prop){ "hw_vif_model", in->nic == VM_NIC_VIRTIO ? "virtio" : "e1000e" };
    p[n++] = (struct prop){ "hw_qemu_guest_agent", "yes" };
    p[n++] = (struct prop){ "os_type", in->windows ? "windows" : "linux" };
    if (in->windows) {
        p[n++] = (struct prop){ "os_distro", "windows" };
        if (in->os_version[0])
            p[n++] = (struct prop){ "os_version", in->os_version };
    }
    if (in->secure_boot)
        p[n++] = (struct prop){ "os_secure_boot", "required" };
    if (in->tpm) {
        p[n++] = (struct prop){ "hw_tpm_version", "2.0" };
        p[n++] = (struct prop){ "hw_tpm_model", "tpm-crb" };
    }
    return n;
}

static int write_openstack(const struct vmdef_in *in, FILE *o, p2v_err *err)
{
    struct vm_disk d;
    struct prop p[16];
    char cmd[8192];
    int r = vm_disk_parse(in->disk, &d, err);
    if (r < 0)
        return r;
    size_t n = props(in, p);
    const char *fmt = in->format == VM_DISK_QCOW2 ? "qcow2" : "raw";
    json_writer j;
    json_init(&j, o);
    json_obj_begin(&j);
    json_kstr(&j, "name", in->name);
    json_kstr(&j, "disk_format", fmt);
    json_kstr(&j, "container_format", "bare");
    json_kstr(&j, d.kind == VM_DISK_FILE ? "file" : "source", d.kind == VM_DISK_FILE ? d.path
                                                                                     : in->disk);
    json_ku64(&j, "min_ram", in->memory >> 20);
    json_ku64(&j, "min_disk", (uint64_t)((in->disk_bytes + (1ULL << 30) - 1) >> 30));
    json_key(&j, "properties");
    json_obj_begin(&j);
    for (size_t i = 0; i < n; i++)
        json_kstr(&j, p[i].key, p[i].val);
    json_obj_end(&j);
    FILE *c = fmemopen(cmd, sizeof cmd, "w");
    if (!c)
        return p2v_errf(err, -12, "out of memory");
    fprintf(c, "openstack image create --disk-format %s --container-format bare", fmt);
    fprintf(c, " --min-ram %" PRIu64 " --min-disk %" PRIu64, in->memory >> 20,
            (uint64_t)((in->disk_bytes + (1ULL << 30) - 1) >> 30));
    if (d.kind == VM_DISK_FILE) {
        fputs(" --file ", c);
        vm_put_shell(c, d.path);
    }
    for (size_t i = 0; i < n; i++)
        fprintf(c, " --property %s=%s", p[i].key, p[i].val);
    fputc(' ', c);
    vm_put_shell(c, in->name);
    fclose(c);
    json_kstr(&j, "command", cmd);
    if (d.kind != VM_DISK_FILE)
        json_kstr(&j, "note", "the image is not a file: export it (rbd export, qemu-img convert) "
                              "and pass it with --file, or import it with Glance's RBD store");
    json_obj_end(&j);
    json_end(&j);
    return 0;
}

const struct vmdef_format vmdef_openstack = { "openstack", ".json", write_openstack };
