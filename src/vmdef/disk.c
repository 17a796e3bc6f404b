#include "vmdef/vmdef_disk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/rbdlib.h"

static int parse_nbd(const char *uri, struct vm_disk *d, p2v_err *err)
{
    const char *p;
    d->kind = VM_DISK_NBD;
    if (!strncmp(uri, "nbd+unix:///", 12)) {
        p = uri + 12;
        const char *q = strstr(p, "?socket=");
        if (!q)
            return p2v_errf(err, -EINVAL, "%s: no ?socket= in the NBD URI", uri);
        snprintf(d->path, sizeof d->path, "%.*s", (int)(q - p), p);
        snprintf(d->socket, sizeof d->socket, "%s", q + 8);
        return 0;
    }
    if (strncmp(uri, "nbd://", 6))
        return p2v_errf(err, -EINVAL, "%s: only nbd:// and nbd+unix:// exports can be named in a "
                                      "VM definition", uri);
    p = uri + 6;
    size_t hl = strcspn(p, ":/");
    snprintf(d->host, sizeof d->host, "%.*s", (int)hl, p);
    p += hl;
    snprintf(d->port, sizeof d->port, "10809");
    if (*p == ':') {
        size_t pl = strcspn(++p, "/");
        snprintf(d->port, sizeof d->port, "%.*s", (int)pl, p);
        p += pl;
    }
    snprintf(d->path, sizeof d->path, "%s", *p == '/' ? p + 1 : "");
    return d->host[0] ? 0 : p2v_errf(err, -EINVAL, "%s: no host in the NBD URI", uri);
}

int vm_disk_parse(const char *disk, struct vm_disk *d, p2v_err *err)
{
    memset(d, 0, sizeof *d);
    if (rbdlib_is_target(disk)) {
        struct rbd_target t;
        int r = rbdlib_parse(disk, &t, err);
        if (r < 0)
            return r;
        d->kind = VM_DISK_RBD;
        snprintf(d->path, sizeof d->path, "%s/%s%s%s", t.pool, t.ns, t.ns[0] ? "/" : "",
                 t.image);
        snprintf(d->conf, sizeof d->conf, "%s", t.conf);
        snprintf(d->id, sizeof d->id, "%s", t.id);
        return 0;
    }
    if (!strncmp(disk, "nbd", 3) && strstr(disk, "://"))
        return parse_nbd(disk, d, err);
    d->kind = VM_DISK_FILE;
    if (!realpath(disk, d->path))
        return p2v_errf(err, -errno, "%s: %s", disk, strerror(errno));
    return 0;
}
