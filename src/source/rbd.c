/* A Ceph RBD image or snapshot as a source (librbd), read-only:
 * "rbd:POOL[/NAMESPACE]/IMAGE[@SNAP][:conf=F][:id=U][:keyring=K]". It lets
 * `--verify` read an image back from the cluster it was written to, and lets
 * an RBD image be a source and be inspected by `p2v img`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/rbdlib.h"

#include "blockdev/blockdev_impl.h"
#include "source/source_impl.h"

#define RBD_READ_MAX (32u << 20)

struct rbd_bd {
    struct rbd_conn conn;
    rbd_image_t img;
};

static int rbd_bd_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct rbd_bd *p = bd->priv;
    uint8_t *b = buf;
    while (len) {
        size_t n = len < RBD_READ_MAX ? len : RBD_READ_MAX;
        ssize_t got = rbdlib.f.rbd_read2(p->img, off, n, (char *)b, 0);
        if (got < 0)
            return p2v_errf(err, (int)got, "%s: read error at offset %llu: %s", bd->path,
                            (unsigned long long)off,
                            got == -ETIMEDOUT ? "the cluster did not answer within --io-timeout"
                                              : strerror((int)-got));
        if ((size_t)got != n)
            return p2v_errf(err, -EIO, "%s: short read at offset %llu (%zd of %zu bytes)",
                            bd->path, (unsigned long long)off, got, n);
        b += n;
        off += n;
        len -= n;
    }
    return 0;
}

static void rbd_bd_close(blockdev *bd)
{
    struct rbd_bd *p = bd->priv;
    if (p->img)
        rbdlib.f.rbd_close(p->img);
    rbdlib_disconnect(&p->conn);
}

static const struct bd_ops rbd_ops = {
    .format = "rbd",
    .pread = rbd_bd_pread,
    .close = rbd_bd_close,
};

static int rbd_src_open(const char *spec, blockdev *file, uint64_t data_size,
                        const source_opts *o, blockdev **out, p2v_err *err)
{
    (void)file;
    (void)data_size;
    unsigned io = o && o->io_timeout ? o->io_timeout : SOURCE_IO_TIMEOUT_DEFAULT;
    struct rbd_target t;
    char name[RBD_FULLNAME_MAX];
    uint64_t size;
    int r;
    *out = NULL;
    if ((r = rbdlib_parse(spec, &t, err)) < 0)
        return r;
    blockdev *bd = bd_alloc_priv(&rbd_ops, spec, sizeof(struct rbd_bd));
    if (!bd)
        return p2v_errf(err, -ENOMEM, "out of memory");
    struct rbd_bd *p = bd->priv;
    if ((r = rbdlib_connect(&t, o && o->rbd_timeout ? o->rbd_timeout : RBD_TIMEOUT_DEFAULT, io,
                            &p->conn, err)) < 0)
        goto fail;
    if ((r = rbdlib.f.rbd_open_read_only(p->conn.io, t.image, &p->img,
                                         t.snap[0] ? t.snap : NULL)) < 0) {
        p->img = NULL;
        p2v_errf(err, r, "%s: cannot open %s: %s", spec, rbdlib_name(&t, name, sizeof name),
                 r == -ENOENT ? "no such image or snapshot" : strerror(-r));
        goto fail;
    }
    if ((r = rbdlib.f.rbd_get_size(p->img, &size)) < 0) {
        p2v_errf(err, r, "%s: %s", spec, strerror(-r));
        goto fail;
    }
    bd->size = size;
    bd->sector_size = 512;
    *out = bd;
    return 0;
fail:
    bd_close(bd); /* rbd_bd_close: the image and the connection, as far as they got */
    return r;
}

const struct source_format source_rbd = {
    .name = "rbd", .match = rbdlib_is_target, .open = rbd_src_open,
};
