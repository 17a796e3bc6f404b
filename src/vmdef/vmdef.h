/* The VM around the disk: a definition for libvirt, plain qemu, Proxmox or
 * OpenStack, with the firmware, disk bus and NIC the image was prepared for
 * and, where the PC itself is at hand (p2v running on it), its identity:
 * SMBIOS strings, MAC addresses, memory, CPUs and the OEM activation table
 * (ACPI MSDM). One file per format (vmdef_libvirt.c, ...), one row each in
 * vmdef.c's table. docs/vm-definition.md. */
#ifndef P2V_VMDEF_H
#define P2V_VMDEF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

#define VM_STR 256
#define VM_MACS 8

/* What this machine tells of itself (read from a sysfs root: "/" normally,
 * a directory tree in tests). Empty strings where a file is missing. */
struct vm_machine {
    char vendor[VM_STR];   /* /sys/class/dmi/id/sys_vendor */
    char product[VM_STR];  /* product_name */
    char version[VM_STR];  /* product_version */
    char serial[VM_STR];   /* product_serial */
    char uuid[VM_STR];     /* product_uuid */
    char family[VM_STR];   /* product_family */
    char macs[VM_MACS][18]; /* wired NICs with a device, sorted by name */
    unsigned nmacs;
    uint64_t memory;       /* bytes, from /proc/meminfo MemTotal (0: unknown) */
    unsigned cpus;         /* online CPUs (0: unknown) */
    bool msdm;             /* /sys/firmware/acpi/tables/MSDM exists */
    char msdm_path[VM_STR * 2];
};

/* Fill m from root (e.g. "/"); never fails for a missing file, only for
 * unreadable ones it needed. */
int vm_machine_read(const char *root, struct vm_machine *m, p2v_err *err);

/* m as one JSON object (`p2v disks --json`'s "machine"): vendor, product,
 * version, serial, uuid, family (null when unknown), macs, memory (bytes)
 * and cpus (null when unknown), msdm (whether the table exists). */
struct json_writer;
void vm_machine_json(const struct vm_machine *m, struct json_writer *j);
/* Its "memory" and "cpus" (null when 0: unknown) and "msdm", the keys the
 * fleet reports' "pc" has as well. */
void vm_machine_hw_json(struct json_writer *j, uint64_t memory, unsigned cpus, bool msdm);

enum vm_disk_format { VM_DISK_QCOW2 = 0, VM_DISK_RAW };
enum vm_bus { VM_BUS_VIRTIO_BLK = 0, VM_BUS_VIRTIO_SCSI, VM_BUS_SATA, VM_BUS_IDE };
enum vm_nic { VM_NIC_E1000E = 0, VM_NIC_VIRTIO };

struct vmdef_in {
    const char *name;          /* the VM's name (from OUTPUT) */
    const char *disk;          /* OUTPUT as written: a path, rbd:..., nbd://... */
    enum vm_disk_format format;
    uint64_t disk_bytes;
    bool uefi;
    bool secure_boot;
    enum vm_bus bus;
    enum vm_nic nic;
    bool windows;              /* a Windows was converted */
    char os_version[64];       /* e.g. "10.0" or "" */
    uint64_t memory;           /* bytes */
    unsigned cpus;
    const char *mac;           /* NULL: the platform picks one */
    const struct vm_machine *smbios; /* NULL: no SMBIOS strings carried over */
    const char *msdm_file;     /* a copy of the PC's MSDM table, or NULL */
    bool tpm;                  /* the source used a TPM (BitLocker) */
};

struct vmdef_format {
    const char *name;          /* "libvirt", "qemu", "proxmox", "openstack" */
    const char *ext;           /* file name ending of the default FILE */
    int (*write)(const struct vmdef_in *in, FILE *out, p2v_err *err);
    bool executable;           /* the file is a script to run (mode 0755) */
};

/* The format called name, or NULL. */
const struct vmdef_format *vmdef_format_find(const char *name);
/* "libvirt, qemu, proxmox, openstack" for messages and help. */
const char *vmdef_format_names(void);

/* Parse "FORMAT[:FILE]"; *file is NULL when not given. -EINVAL with a message. */
int vmdef_parse_spec(const char *spec, const struct vmdef_format **f, const char **file,
                     p2v_err *err);

/* Write the definition of in to path (atomically: a temporary file renamed). */
int vmdef_write_file(const struct vmdef_format *f, const struct vmdef_in *in, const char *path,
                     p2v_err *err);

const char *vm_bus_name(enum vm_bus b); /* "virtio-blk", ... */

/* Escaping shared by the formats. */
void vm_put_xml(FILE *out, const char *s);   /* XML text and attribute values */
void vm_put_shell(FILE *out, const char *s); /* one single-quoted shell word */
/* A value safe in one comma-separated qemu option (',' doubled, no control chars). */
void vm_put_qemu_opt(FILE *out, const char *s);

extern const struct vmdef_format vmdef_libvirt;
extern const struct vmdef_format vmdef_qemu;
extern const struct vmdef_format vmdef_proxmox;
extern const struct vmdef_format vmdef_openstack;

#endif
