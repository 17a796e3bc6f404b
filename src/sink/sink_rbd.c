/* OUTPUT rbd:POOL[/NAMESPACE]/IMAGE: the disk written straight into a Ceph RBD
 * image (librbd). The image is created under IMAGE.p2v-partial with the
 * layout's size, receives only the data the copy sends (a new RBD image reads
 * as zeros, so nothing else goes over the network), several asynchronous
 * writes in flight, a flush, and is renamed to IMAGE only when everything
 * succeeded: all or nothing, as with a file. A failure or a signal removes the
 * partial image; if that fails too, the error names it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/rbdlib.h"

#include "sink/sink_impl.h"
#include "util/cancel.h"

#define RBD_SLOTS_MAX 16
#define RBD_CHUNK (4u << 20) /* the copy engine's block: one request each */

struct rbd_slot {
    uint8_t *buf;
    rbd_completion_t c; /* NULL: free */
    uint64_t off;
    size_t len;
};

struct rbd_priv {
    struct rbd_target t;
    struct rbd_conn conn;
    rbd_image_t img;
    char partial[RBD_NAME_MAX + 16];
    char name[RBD_FULLNAME_MAX]; /* POOL/NS/IMAGE, for messages */
    char readback[RBD_FULLNAME_MAX + 2 * RBD_PATH_MAX + 64]; /* rbd: spelling of the partial */
    bool created;                /* the partial image exists */
    bool force;
    uint64_t features;
    uint64_t sent;
    unsigned nslots, next;
    struct rbd_slot slots[RBD_SLOTS_MAX];
};

static const uint64_t rbd_default_features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
                                             RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF |
                                             RBD_FEATURE_DEEP_FLATTEN;

static bool image_exists(struct rbd_priv *p, const char *name)
{
    rbd_image_t img;
    if (rbdlib.f.rbd_open_read_only(p->conn.io, name, &img, NULL) < 0)
        return false;
    rbdlib.f.rbd_close(img);
    return true;
}

static int create_partial(sink *s, struct rbd_priv *p, uint64_t size, p2v_err *err)
{
    rbd_image_options_t opts;
    rbdlib.f.rbd_image_options_create(&opts);
    rbdlib.f.rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, p->features);
    int r = rbdlib.f.rbd_create4(p->conn.io, p->partial, size, opts);
    rbdlib.f.rbd_image_options_destroy(opts);
    if (r < 0)
        return p2v_errf(err, r, "%s: cannot create the image %s (%llu bytes): %s", s->output,
                        p->partial, (unsigned long long)size,
                        r == -EDQUOT || r == -ENOSPC ? "no space (pool quota or full cluster)"
                                                     : strerror(-r));
    p->created = true;
    if ((r = rbdlib.f.rbd_open(p->conn.io, p->partial, &p->img, NULL)) < 0) {
        p->img = NULL;
        return p2v_errf(err, r, "%s: cannot open the new image %s: %s", s->output, p->partial,
                        strerror(-r));
    }
    return 0;
}

static int rbd_open_sink(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    struct rbd_priv *p = calloc(1, sizeof *p);
    if (!p)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s->priv = p;
    int r = rbdlib_parse(s->output, &p->t, err);
    if (r < 0)
        return r;
    if (p->t.snap[0])
        return p2v_errf(err, -EINVAL, "%s: a snapshot cannot be written; name an image", s->output);
    rbdlib_name(&p->t, p->name, sizeof p->name);
    snprintf(p->partial, sizeof p->partial, "%s%s", p->t.image, RBD_PARTIAL_SUFFIX);
    if (rbdlib_spell(&p->t, p->partial, p->readback, sizeof p->readback) < 0)
        return p2v_errf(err, -ENAMETOOLONG, "%s: the name is too long", s->output);
    p->features = o->rbd_features ? o->rbd_features : rbd_default_features;
    p->force = o->force;
    p->nslots = o->queue_depth ? o->queue_depth : 8;
    p->nslots = p->nslots > RBD_SLOTS_MAX ? RBD_SLOTS_MAX : p->nslots;
    if ((r = rbdlib_connect(&p->t, o->rbd_timeout ? o->rbd_timeout : RBD_TIMEOUT_DEFAULT,
                            s->io_timeout, &p->conn, err)) < 0)
        return r;
    if (!p->force && image_exists(p, p->t.image))
        return p2v_errf(err, -EEXIST, "%s: the image exists (use --force to replace it)",
                        s->output);
    if (image_exists(p, p->partial)) {
        if (!p->force)
            return p2v_errf(err, -EEXIST, "%s: %s/%s is left from an earlier run; --force "
                                          "removes it", s->output, p->t.pool, p->partial);
        if ((r = rbdlib.f.rbd_remove(p->conn.io, p->partial)) < 0)
            return p2v_errf(err, r, "%s: cannot remove %s left from an earlier run: %s",
                            s->output, p->partial, strerror(-r));
    }
    for (unsigned i = 0; i < p->nslots; i++)
        if (!(p->slots[i].buf = malloc(RBD_CHUNK)))
            return p2v_errf(err, -ENOMEM, "out of memory");
    return create_partial(s, p, virtual_size, err);
}

static int slot_wait(sink *s, struct rbd_slot *sl, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    if (!sl->c)
        return 0;
    /* librbd's own wait cannot be interrupted: look at the cancel flag
     * between short sleeps (the OSD timeout bounds the write itself) */
    while (!rbdlib.f.rbd_aio_is_complete(sl->c)) {
        if (p2v_cancelled())
            return p2v_errf(err, -EINTR, "%s: interrupted by a signal while writing", s->output);
        nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
    }
    ssize_t r = rbdlib.f.rbd_aio_get_return_value(sl->c);
    rbdlib.f.rbd_aio_release(sl->c);
    sl->c = NULL;
    if (r < 0)
        return p2v_errf(err, (int)r, "%s: write error at offset %llu (%zu bytes) in %s: %s",
                        s->output, (unsigned long long)sl->off, sl->len, p->partial,
                        r == -EDQUOT || r == -ENOSPC ? "no space (pool quota or full cluster)"
                        : r == -ETIMEDOUT ? "the cluster did not answer within --io-timeout"
                                          : strerror((int)-r));
    return 0;
}

static int drain(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    int r = 0;
    for (unsigned i = 0; i < p->nslots; i++) {
        int q = slot_wait(s, &p->slots[i], err);
        r = r < 0 ? r : q;
    }
    return r;
}

static int write_chunk(sink *s, const uint8_t *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    struct rbd_slot *sl = &p->slots[p->next++ % p->nslots];
    int r = slot_wait(s, sl, err);
    if (r < 0)
        return r;
    memcpy(sl->buf, buf, len);
    sl->off = off;
    sl->len = len;
    if ((r = rbdlib.f.rbd_aio_create_completion(NULL, NULL, &sl->c)) < 0) {
        sl->c = NULL;
        return p2v_errf(err, r, "%s: %s", s->output, strerror(-r));
    }
    if ((r = rbdlib.f.rbd_aio_write(p->img, off, len, (const char *)sl->buf, sl->c)) < 0) {
        rbdlib.f.rbd_aio_release(sl->c);
        sl->c = NULL;
        return p2v_errf(err, r, "%s: write error at offset %llu: %s", s->output,
                        (unsigned long long)off, strerror(-r));
    }
    p->sent += len;
    return 0;
}

static int rbd_sink_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    const uint8_t *b = buf;
    if (offset > s->virtual_size || len > s->virtual_size - offset)
        return p2v_errf(err, -EINVAL, "%s: write of %zu bytes at %llu is past the end", s->output,
                        len, (unsigned long long)offset);
    while (len) {
        size_t n = len < RBD_CHUNK ? len : RBD_CHUNK;
        int r = write_chunk(s, b, n, offset, err);
        if (r < 0)
            return r;
        b += n;
        offset += n;
        len -= n;
    }
    return 0;
}

static int rbd_sink_finish(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    int r = drain(s, err);
    if (r == 0 && (r = rbdlib.f.rbd_flush(p->img)) < 0)
        r = p2v_errf(err, r, "%s: flush error: %s", s->output, strerror(-r));
    return r;
}

static int rbd_sink_commit(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    int r;
    if (p->img) {
        rbdlib.f.rbd_close(p->img);
        p->img = NULL;
    }
    if (p->force && image_exists(p, p->t.image) &&
        (r = rbdlib.f.rbd_remove(p->conn.io, p->t.image)) < 0)
        return p2v_errf(err, r, "%s: cannot remove the existing image to replace it: %s",
                        s->output, strerror(-r));
    if ((r = rbdlib.f.rbd_rename(p->conn.io, p->partial, p->t.image)) < 0)
        return p2v_errf(err, r, "%s: cannot rename %s to %s: %s", s->output, p->partial,
                        p->t.image, r == -EEXIST ? "the image appeared while converting; not "
                                                   "replaced (use --force)" : strerror(-r));
    p->created = false;
    return 0;
}

static uint64_t rbd_sink_bytes(const sink *s) { return ((struct rbd_priv *)s->priv)->sent; }

static const char *rbd_readback_name(const sink *s)
{
    return ((const struct rbd_priv *)s->priv)->readback;
}

static void rbd_describe(const sink *s, char *buf, size_t len)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = { { RBD_FEATURE_LAYERING, "layering" },
                  { RBD_FEATURE_EXCLUSIVE_LOCK, "exclusive-lock" },
                  { RBD_FEATURE_OBJECT_MAP, "object-map" },
                  { RBD_FEATURE_FAST_DIFF, "fast-diff" },
                  { RBD_FEATURE_DEEP_FLATTEN, "deep-flatten" },
                  { RBD_FEATURE_JOURNALING, "journaling" },
                  { RBD_FEATURE_STRIPINGV2, "striping" } };
    const struct rbd_priv *p = s->priv;
    char feats[160] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (p->features & names[i].bit)
            n += (size_t)snprintf(feats + n, n < sizeof feats ? sizeof feats - n : 0, "%s%s",
                                  n ? "," : "", names[i].name);
    snprintf(buf, len, "Ceph cluster %s, pool %s%s%s, image %s (written as %s until complete), "
             "features %s", p->conn.fsid[0] ? p->conn.fsid : "(fsid unknown)", p->t.pool,
             p->t.ns[0] ? ", namespace " : "", p->t.ns, p->t.image, p->partial, feats);
}

/* Remove the partial image of a run that did not commit. */
static int sink_rbd_discard(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    if (!p || !p->created)
        return 0;
    p2v_err ignored;
    drain(s, &ignored);
    if (p->img) {
        rbdlib.f.rbd_close(p->img);
        p->img = NULL;
    }
    int r = rbdlib.f.rbd_remove(p->conn.io, p->partial);
    /* tried once: a second try (from free) would wait out the same dead
     * cluster again, and the error below already names the image */
    p->created = false;
    if (r < 0 && r != -ENOENT)
        return p2v_errf(err, r, "the partial image %s/%s could not be removed (%s): remove it "
                                "with 'rbd rm %s/%s'", p->t.pool, p->partial, strerror(-r),
                        p->t.pool, p->partial);
    return 0;
}

static void rbd_sink_free(sink *s)
{
    struct rbd_priv *p = s->priv;
    p2v_err ignored;
    sink_rbd_discard(s, &ignored);
    if (p->img)
        rbdlib.f.rbd_close(p->img);
    rbdlib_disconnect(&p->conn);
    for (unsigned i = 0; i < RBD_SLOTS_MAX; i++)
        free(p->slots[i].buf);
    free(p);
    s->priv = NULL;
}

const struct sink_backend sink_rbd_backend = {
    .name = "rbd", .open = rbd_open_sink, .write = rbd_sink_write, .finish = rbd_sink_finish,
    .commit = rbd_sink_commit, .bytes = rbd_sink_bytes, .free = rbd_sink_free,
    .discard = sink_rbd_discard, .readback_name = rbd_readback_name, .describe = rbd_describe,
    .granularity = 4096,
};

static const struct sink_backend *rbd_backend(const sink_opts *o)
{
    (void)o;
    return &sink_rbd_backend;
}

/* rbd:POOL[/NAMESPACE]/IMAGE: written under IMAGE.p2v-partial and renamed
 * (direct: no temporary file; the backend keeps all or nothing itself). */
const struct sink_target sink_target_rbd = {
    .info = { .name = "rbd", .what = "RBD image", .direct = true, .raw_only = true,
              .readback = true },
    .match = rbdlib_is_target,
    .backend = rbd_backend,
};
