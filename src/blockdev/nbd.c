/* A blockdev over an NBD export (libnbd): "nbd://HOST[:PORT]/EXPORT",
 * "nbd+unix:///EXPORT?socket=PATH". Read-only use: only NBD_CMD_READ is sent.
 * It lets `--verify` read an image back from the server it was written to,
 * and lets an export be a source. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/nbdlib.h"

#include "blockdev/blockdev_impl.h"

#define NBD_READ_MAX (32u << 20)

bool bd_path_is_nbd(const char *path)
{
    return !strncmp(path, "nbd://", 6) || !strncmp(path, "nbd+unix://", 11) ||
           !strncmp(path, "nbds://", 7) || !strncmp(path, "nbds+unix://", 12);
}

static int nbd_bd_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct nbd_handle *h = bd->priv;
    uint8_t *p = buf;
    while (len) {
        size_t n = len < NBD_READ_MAX ? len : NBD_READ_MAX;
        if (nbdlib.f.nbd_pread(h, p, n, off, 0) == -1)
            return p2v_errf(err, nbdlib.f.nbd_get_errno() ? -nbdlib.f.nbd_get_errno() : -EIO,
                            "%s: read error at offset %llu: %s", bd->path,
                            (unsigned long long)off, nbdlib.f.nbd_get_error());
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

static void nbd_bd_close(blockdev *bd)
{
    struct nbd_handle *h = bd->priv;
    if (h) {
        nbdlib.f.nbd_shutdown(h, 0);
        nbdlib.f.nbd_close(h);
    }
}

static const struct bd_ops nbd_ops = {
    .format = "nbd",
    .pread = nbd_bd_pread,
    .close = nbd_bd_close,
};

int bd_open_nbd(const char *uri, blockdev **out, p2v_err *err)
{
    struct nbd_handle *h;
    int64_t size;
    int r;
    *out = NULL;
    if ((r = nbdlib_load(err)) < 0)
        return p2v_err_prefix(err, r, "%s", uri);
    if (!(h = nbdlib.f.nbd_create()))
        return p2v_errf(err, -ENOMEM, "%s: %s", uri, nbdlib.f.nbd_get_error());
    if (nbdlib.f.nbd_connect_uri(h, uri) == -1) {
        r = p2v_errf(err, -EIO, "%s: cannot connect: %s", uri, nbdlib.f.nbd_get_error());
        nbdlib.f.nbd_close(h);
        return r;
    }
    if ((size = nbdlib.f.nbd_get_size(h)) < 0) {
        r = p2v_errf(err, -EIO, "%s: %s", uri, nbdlib.f.nbd_get_error());
        nbdlib.f.nbd_close(h);
        return r;
    }
    blockdev *bd = bd_alloc(&nbd_ops, uri);
    if (!bd) {
        nbdlib.f.nbd_close(h);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    bd->priv = h;
    bd->size = (uint64_t)size;
    bd->sector_size = 512;
    *out = bd;
    return 0;
}
