/* OUTPUT nbd://…: the image written straight into an NBD export (libnbd),
 * e.g. qemu-nbd or nbdkit in front of the platform's storage. Writes arrive
 * in increasing offset order; what lies between them is zeroed with
 * NBD_CMD_WRITE_ZEROES (or written zeros when the server lacks it), so the
 * export holds exactly the image whatever it held before. Several writes are
 * in flight at once (asynchronous commands, each with its own buffer); the
 * end is a flush. A failure leaves a partly written export, which the run
 * says (sink_target_nbd.info.partial). Every wait has the I/O timeout and ends
 * at a signal (util/nbdlib.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/nbdlib.h"

#include "sink/sink_impl.h"

#define NBD_SLOTS 4
#define NBD_CHUNK (4u << 20)            /* largest single request sent */
#define ZERO_CHUNK (1u << 30)

struct slot {
    uint8_t *buf;
    int64_t cookie;                     /* 0: free */
    uint64_t off, len;
};

struct nbd_priv {
    struct nbd_handle *h;
    bool can_zero, can_flush;
    int broken;                         /* a wait timed out or was interrupted: */
    p2v_err why;                        /* no more I/O, every call fails so */
    uint64_t pos;                       /* everything before is written or zeroed */
    uint64_t sent;                      /* data bytes written */
    uint32_t chunk;
    unsigned next_slot;
    struct slot slots[NBD_SLOTS];
    uint8_t *zeros;                     /* for servers without WRITE_ZEROES */
};

/* Wait for the command cookie that does what (at off); a failure says so. */
static int nbd_wait(sink *s, int64_t cookie, const char *what, uint64_t len, uint64_t off,
                    p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    char desc[96];
    if (len)
        snprintf(desc, sizeof desc, "a %s of %" PRIu64 " bytes at offset %" PRIu64, what, len,
                 off);
    else
        snprintf(desc, sizeof desc, "a %s", what);
    if (p->broken)
        return p2v_errf(err, p->broken, "%s", p->why.msg);
    p2v_err why;
    int r = cookie == -1 ? -EIO : nbdlib_wait(p->h, s->output, cookie, s->io_timeout, desc, &why);
    if (r == -ETIMEDOUT || r == -EINTR) {
        p->broken = r;
        p->why = why;
        return p2v_errf(err, r, "%s", why.msg);
    }
    if (r < 0) {
        int e = nbdlib.f.nbd_get_errno();
        return p2v_errf(err, e ? -e : -EIO, "%s: %s error at offset %llu: %s", s->output, what,
                        (unsigned long long)off, nbdlib.f.nbd_get_error());
    }
    return 0;
}

static int nbd_export_size(const char *uri, const sink_opts *o, uint64_t *size, p2v_err *err)
{
    struct nbd_handle *h;
    int r = nbdlib_connect(uri, o->io_timeout, &h, err);
    if (r < 0)
        return r;
    int64_t n = nbdlib.f.nbd_get_size(h);
    if (n < 0)
        r = p2v_errf(err, -EIO, "%s: %s", uri, nbdlib.f.nbd_get_error());
    else
        *size = (uint64_t)n;
    nbdlib_close(h, r == 0, o->io_timeout);
    return r;
}

static int nbd_open_sink(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    (void)o;
    struct nbd_priv *p = sink_priv_new(s, sizeof *p, err);
    if (!p)
        return -ENOMEM;
    int r = nbdlib_connect(s->output, s->io_timeout, &p->h, err);
    if (r < 0)
        return r;
    int64_t size = nbdlib.f.nbd_get_size(p->h);
    if (size < 0)
        return p2v_errf(err, -EIO, "%s: %s", s->output, nbdlib.f.nbd_get_error());
    if ((uint64_t)size != virtual_size)
        return p2v_errf(err, (uint64_t)size < virtual_size ? -ENOSPC : -EINVAL,
                        "%s: the export is %lld bytes, the image is %llu: %s", s->output,
                        (long long)size, (unsigned long long)virtual_size,
                        (uint64_t)size < virtual_size ? "too small"
                                                      : "plan the image for the export's size "
                                                        "(--size)");
    if (nbdlib.f.nbd_is_read_only(p->h) == 1)
        return p2v_errf(err, -EROFS, "%s: the export is read-only", s->output);
    p->can_zero = nbdlib.f.nbd_can_zero(p->h) == 1;
    p->can_flush = nbdlib.f.nbd_can_flush(p->h) == 1;
    int64_t max = nbdlib.f.nbd_get_block_size(p->h, LIBNBD_SIZE_MAXIMUM);
    p->chunk = max > 0 && max < NBD_CHUNK ? (uint32_t)max : NBD_CHUNK;
    for (int i = 0; i < NBD_SLOTS; i++)
        if (!(p->slots[i].buf = malloc(p->chunk)))
            return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

/* Wait until slot sl is free, reporting the command it held. */
static int slot_wait(sink *s, struct slot *sl, p2v_err *err)
{
    if (!sl->cookie)
        return 0;
    int64_t c = sl->cookie;
    sl->cookie = 0;
    return nbd_wait(s, c, "write", sl->len, sl->off, err);
}

static int drain(sink *s, p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    int r = 0;
    for (int i = 0; i < NBD_SLOTS; i++) {
        int q = slot_wait(s, &p->slots[i], err);
        r = r < 0 ? r : q;
    }
    return r;
}

static int write_chunk(sink *s, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    struct slot *sl = &p->slots[p->next_slot++ % NBD_SLOTS];
    int r = slot_wait(s, sl, err);
    if (r < 0)
        return r;
    memcpy(sl->buf, buf, len);
    sl->off = off;
    sl->len = len;
    int64_t c = nbdlib.f.nbd_aio_pwrite(p->h, sl->buf, len, off, NBD_NULL_COMPLETION, 0);
    if (c == -1)
        return nbd_wait(s, -1, "write", len, off, err);
    sl->cookie = c;
    p->sent += len;
    return 0;
}

/* Everything in [pos, to) becomes zeros. */
static int zero_to(sink *s, uint64_t to, p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    while (p->pos < to) {
        uint64_t n = to - p->pos;
        int r = 0;
        if (p->can_zero) {
            n = n < ZERO_CHUNK ? n : ZERO_CHUNK;
            r = nbd_wait(s, nbdlib.f.nbd_aio_zero(p->h, n, p->pos, NBD_NULL_COMPLETION, 0),
                         "write-zeroes", n, p->pos, err);
        } else {
            if (!p->zeros && !(p->zeros = calloc(1, p->chunk)))
                return p2v_errf(err, -ENOMEM, "out of memory");
            n = n < p->chunk ? n : p->chunk;
            r = write_chunk(s, p->zeros, (size_t)n, p->pos, err);
            p->sent -= r == 0 ? n : 0;
        }
        if (r < 0)
            return r;
        p->pos += n;
    }
    return 0;
}

static int nbd_sink_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    const uint8_t *b = buf;
    if (offset < p->pos)
        return p2v_errf(err, -EINVAL, "%s: write at byte %llu is behind byte %llu already "
                                      "written", s->output, (unsigned long long)offset,
                        (unsigned long long)p->pos);
    int r = zero_to(s, offset, err);
    while (r == 0 && len) {
        size_t n = len < p->chunk ? len : p->chunk;
        if ((r = write_chunk(s, b, n, offset, err)) == 0) {
            b += n;
            offset += n;
            len -= n;
            p->pos = offset;
        }
    }
    return r;
}

static int nbd_sink_finish(sink *s, p2v_err *err)
{
    struct nbd_priv *p = s->priv;
    int r = zero_to(s, s->virtual_size, err);
    if (r == 0)
        r = drain(s, err);
    if (r == 0 && p->can_flush)
        r = nbd_wait(s, nbdlib.f.nbd_aio_flush(p->h, NBD_NULL_COMPLETION, 0), "flush", 0,
                     s->virtual_size, err);
    return r;
}

static int nbd_sink_commit(sink *s, p2v_err *err)
{
    (void)s;
    (void)err;
    return 0;
}

static uint64_t nbd_sink_bytes(const sink *s) { return ((struct nbd_priv *)s->priv)->sent; }

static void nbd_sink_free(sink *s)
{
    struct nbd_priv *p = s->priv;
    if (p->h) {
        /* A server that stopped answering is not waited for again. */
        p2v_err ignored;
        bool healthy = !p->broken && drain(s, &ignored) == 0;
        nbdlib_close(p->h, healthy, s->io_timeout);
    }
    for (int i = 0; i < NBD_SLOTS; i++)
        free(p->slots[i].buf);
    free(p->zeros);
    free(p);
    s->priv = NULL;
}

const struct sink_backend sink_nbd_backend = {
    .name = "nbd", .open = nbd_open_sink, .write = nbd_sink_write, .finish = nbd_sink_finish,
    .commit = nbd_sink_commit, .bytes = nbd_sink_bytes, .free = nbd_sink_free,
    .granularity = 4096,
};

/* OUTPUT nbd://...: an NBD export, written in place; it has its own size. */
const struct sink_target sink_target_nbd = {
    .info = { .name = "nbd", .what = "NBD export", .direct = true, .raw_only = true,
              .sized = true, .readback = true,
              .partial = "the export is partly written and is not a valid disk" },
    .match = nbdlib_is_uri,
    .be = &sink_nbd_backend,
    .size = nbd_export_size,
};
