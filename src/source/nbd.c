/* An NBD export as a source (libnbd): "nbd://HOST[:PORT]/EXPORT",
 * "nbd+unix:///EXPORT?socket=PATH" and the TLS forms. Read-only use: only
 * NBD_CMD_READ is sent. It lets `--verify` read an image back from the
 * server it was written to, and lets an export be a source. Every wait has
 * the I/O timeout and ends at a signal (util/nbdlib.c). */
#include "source/source_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "blockdev/blockdev_impl.h"
#include "util/nbdlib.h"

#define NBD_READ_MAX (32u << 20)

struct nbd_src {
    struct nbd_handle *h;
    unsigned timeout;
    /* One read on the wire at a time, as libnbd's blocking nbd_pread did:
     * the reader threads would otherwise poll one socket together. */
    pthread_mutex_t lock;
    /* A wait timed out or was interrupted: no more I/O. Later reads (other
     * reader threads) fail the same way, not as a read error that the
     * bad-sector salvage would take for unreadable sectors. */
    int broken;
    p2v_err why;
};

static int read_one(blockdev *bd, struct nbd_src *s, void *buf, size_t n, uint64_t off,
                    p2v_err *err)
{
    char what[96];
    snprintf(what, sizeof what, "a read of %zu bytes at offset %" PRIu64, n, off);
    if (s->broken)
        return p2v_errf(err, s->broken, "%s", s->why.msg);
    int64_t c = nbdlib.f.nbd_aio_pread(s->h, buf, n, off, NBD_NULL_COMPLETION, 0);
    p2v_err why;
    int r = c == -1 ? -EIO : nbdlib_wait(s->h, bd->path, c, s->timeout, what, &why);
    if (c == -1 || (r < 0 && r != -ETIMEDOUT && r != -EINTR)) {
        int e = nbdlib.f.nbd_get_errno();
        return p2v_errf_at(err, e ? -e : -EIO, bd->path, "read error at offset %llu: %s",
                           (unsigned long long)off, nbdlib.f.nbd_get_error());
    }
    if (r < 0) {
        s->broken = r;
        s->why = why;
        return p2v_errf(err, r, "%s", why.msg);
    }
    return 0;
}

static int nbd_src_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct nbd_src *s = bd->priv;
    uint8_t *p = buf;
    int r = 0;
    pthread_mutex_lock(&s->lock);
    while (r == 0 && len) {
        size_t n = len < NBD_READ_MAX ? len : NBD_READ_MAX;
        if ((r = read_one(bd, s, p, n, off, err)) == 0) {
            p += n;
            off += n;
            len -= n;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void nbd_src_close(blockdev *bd)
{
    struct nbd_src *s = bd->priv;
    nbdlib_close(s->h, !s->broken, s->timeout);
    pthread_mutex_destroy(&s->lock);
}

static const struct bd_ops nbd_ops = {
    .format = "nbd",
    .pread = nbd_src_pread,
    .close = nbd_src_close,
};

static int nbd_src_open(const char *uri, blockdev *file, uint64_t data_size, const source_opts *o,
                        blockdev **out, p2v_err *err)
{
    (void)file, (void)data_size;
    unsigned timeout = o->io_timeout ? o->io_timeout : SOURCE_IO_TIMEOUT_DEFAULT;
    struct nbd_handle *h;
    int r = nbdlib_connect(uri, timeout, &h, err);
    if (r < 0)
        return r;
    int64_t size = nbdlib.f.nbd_get_size(h);
    if (size < 0) {
        r = p2v_errf(err, -EIO, "%s: %s", uri, nbdlib.f.nbd_get_error());
        nbdlib_close(h, false, timeout);
        return r;
    }
    blockdev *bd = bd_alloc_priv(&nbd_ops, uri, sizeof(struct nbd_src));
    if (!bd) {
        nbdlib_close(h, false, timeout);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    struct nbd_src *s = bd->priv;
    *s = (struct nbd_src){ .h = h, .timeout = timeout };
    pthread_mutex_init(&s->lock, NULL);
    bd->size = (uint64_t)size;
    bd->sector_size = 512;
    *out = bd;
    return 0;
}

const struct source_format source_nbd = {
    .name = "nbd", .match = nbdlib_is_uri, .open = nbd_src_open,
};
