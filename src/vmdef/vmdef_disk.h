/* Where the disk of a VM definition lives, as each format needs it: a file
 * (absolute path), an RBD image (pool, image, conf, id) or an NBD export
 * (host, port or socket, export). Shared by the formats of src/vmdef/. */
#ifndef P2V_VMDEF_DISK_H
#define P2V_VMDEF_DISK_H

#include "vmdef/vmdef.h"

enum vm_disk_kind { VM_DISK_FILE, VM_DISK_RBD, VM_DISK_NBD };

struct vm_disk {
    enum vm_disk_kind kind;
    char path[4096];   /* file: absolute path; rbd: "pool/[ns/]image"; nbd: export name */
    char host[256];    /* nbd over TCP */
    char port[16];
    char socket[1024]; /* nbd+unix */
    char conf[1024];   /* rbd */
    char id[256];
};

int vm_disk_parse(const char *disk, struct vm_disk *d, p2v_err *err);

#endif
