/* A blockdev over an NBD export (libnbd): "nbd://HOST[:PORT]/EXPORT",
 * "nbd+unix:///EXPORT?socket=PATH". Read-only use: only NBD_CMD_READ is sent.
 * It lets `--verify` read an image back from the server it was written to,
 * and lets an export be a source. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

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
        if (nbd_pread(h, p, n, off, 0) == -1)
            return p2v_errf(err, nbd_get_errno() ? -nbd_get_errno() : -EIO,
                            "%s: read error at offset %llu: %s", bd->path,
                            (unsigned long long)off, nbd_get_error());
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
        nbd_shutdown(h, 0);
        nbd_close(h);
    }
}

static const struct bd_ops nbd_ops = {
    .format = "nbd",
    .pread = nbd_bd_pread,
    .close = nbd_bd_close,
};

int bd_open_nbd(const char *uri, blockdev **out, p2v_err *err)
{
    struct nbd_handle *h = nbd_create();
    int64_t size;
    int r;
    *out = NULL;
    if (!h)
        return p2v_errf(err, -ENOMEM, "%s: %s", uri, nbd_get_error());
    if (nbd_connect_uri(h, uri) == -1) {
        r = p2v_errf(err, -EIO, "%s: cannot connect: %s", uri, nbd_get_error());
        nbd_close(h);
        return r;
    }
    if ((size = nbd_get_size(h)) < 0) {
        r = p2v_errf(err, -EIO, "%s: %s", uri, nbd_get_error());
        nbd_close(h);
        return r;
    }
    blockdev *bd = bd_alloc(&nbd_ops, uri);
    if (!bd) {
        nbd_close(h);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    bd->priv = h;
    bd->size = (uint64_t)size;
    bd->sector_size = 512;
    *out = bd;
    return 0;
}
