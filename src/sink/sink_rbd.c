/* OUTPUT rbd:POOL[/NAMESPACE]/IMAGE: the disk written straight into a Ceph RBD
 * image (librbd). The image is created under IMAGE.p2v-partial with the
 * layout's size, receives only the data the copy sends (a new RBD image reads
 * as zeros, so nothing else goes over the network), several asynchronous
 * writes in flight, a flush, and is renamed to IMAGE only when everything
 * succeeded: all or nothing, as with a file. A failure or a signal removes the
 * partial image; if that fails too, the error names it.
 *
 * Writes: adjacent pieces are gathered into one buffer per RBD object (one
 * request per object instead of one per piece the copy hands over), and
 * librbd sends straight from that buffer. The writes in flight share one
 * deadline: when none has completed for --io-timeout seconds the cluster is
 * taken as dead, nothing more is waited for, and the partial image is named
 * at once instead of being removed (each removal step would wait out the
 * same dead cluster again). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/rbdlib.h"

#include "sink/sink_impl.h"
#include "util/cancel.h"
#include "util/iowalk.h"

#define RBD_SLOTS_MAX 16
#define RBD_CHUNK_MAX (4u << 20) /* one write: at most one object, at most this */

struct rbd_io;

struct rbd_slot {
    struct rbd_io *io;
    uint8_t *buf;       /* RBD_CHUNK_MAX bytes, sent from by librbd */
    rbd_completion_t c; /* NULL: free */
    bool done;          /* set by the completion callback */
    uint64_t off;
    size_t len;
};

/* What librbd's threads touch (completions and their buffers): owned by the
 * sink, and handed to the thread that closes the image when the sink goes
 * away with writes still in flight (rbdlib_close_remove). */
struct rbd_io {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct timespec progress; /* last completion, or first write of an idle queue */
    unsigned inflight;
    struct rbd_slot slots[RBD_SLOTS_MAX + 1]; /* the last one: flushes */
};

struct rbd_priv {
    struct rbd_target t;
    struct rbd_conn conn;
    rbd_image_t img;
    struct rbd_io *io;
    char partial[RBD_NAME_MAX + 16];
    char readback[RBD_FULLNAME_MAX + 2 * RBD_PATH_MAX + 64]; /* rbd: spelling of the partial */
    bool created; /* the partial image exists */
    bool dead;    /* nothing completed within --io-timeout: wait for nothing more */
    bool nospace; /* a write failed for want of space (quota or full cluster) */
    bool force;
    uint64_t features;
    uint64_t sent;
    size_t chunk;            /* the image's object size, at most RBD_CHUNK_MAX */
    unsigned nslots, next;
    struct rbd_slot *filling; /* gathering adjacent pieces, not yet sent */
};

static const uint64_t rbd_default_features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
                                             RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF |
                                             RBD_FEATURE_DEEP_FLATTEN;

/* ---- the shared state of the writes in flight ---- */

static struct rbd_io *io_new(unsigned nslots)
{
    struct rbd_io *io = calloc(1, sizeof *io);
    pthread_condattr_t ca;
    if (!io)
        return NULL;
    pthread_mutex_init(&io->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&io->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i <= RBD_SLOTS_MAX; i++)
        io->slots[i].io = io;
    for (unsigned i = 0; i < nslots; i++)
        if (!(io->slots[i].buf = malloc(RBD_CHUNK_MAX)))
            return io; /* the caller sees the missing buffer */
    return io;
}

/* After the image is closed no callback can come: release and free. */
static void io_free(void *arg)
{
    struct rbd_io *io = arg;
    if (!io)
        return;
    for (unsigned i = 0; i <= RBD_SLOTS_MAX; i++) {
        if (io->slots[i].c) {
            rbdlib.f.rbd_aio_wait_for_complete(io->slots[i].c);
            rbdlib.f.rbd_aio_release(io->slots[i].c);
        }
        free(io->slots[i].buf);
    }
    pthread_cond_destroy(&io->cv);
    pthread_mutex_destroy(&io->mu);
    free(io);
}

static void on_complete(rbd_completion_t c, void *arg)
{
    (void)c;
    struct rbd_slot *sl = arg;
    pthread_mutex_lock(&sl->io->mu);
    sl->done = true;
    clock_gettime(CLOCK_MONOTONIC, &sl->io->progress);
    pthread_cond_broadcast(&sl->io->cv);
    pthread_mutex_unlock(&sl->io->mu);
}

static int slot_start(sink *s, struct rbd_slot *sl)
{
    struct rbd_priv *p = s->priv;
    sl->done = false;
    int r = rbdlib.f.rbd_aio_create_completion(sl, on_complete, &sl->c);
    if (r < 0) {
        sl->c = NULL;
        return r;
    }
    pthread_mutex_lock(&p->io->mu);
    if (!p->io->inflight++)
        clock_gettime(CLOCK_MONOTONIC, &p->io->progress); /* the deadline starts now */
    pthread_mutex_unlock(&p->io->mu);
    return 0;
}

static void slot_abort(sink *s, struct rbd_slot *sl)
{
    struct rbd_priv *p = s->priv;
    rbdlib.f.rbd_aio_release(sl->c);
    sl->c = NULL;
    pthread_mutex_lock(&p->io->mu);
    p->io->inflight--;
    pthread_mutex_unlock(&p->io->mu);
}

static double since_s(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Wait for sl's request: until it completes, a signal, or no request at all
 * completed for --io-timeout seconds (then the cluster is dead). */
static int slot_wait(sink *s, struct rbd_slot *sl, const char *what, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    struct rbd_io *io = p->io;
    if (!sl->c)
        return 0;
    pthread_mutex_lock(&io->mu);
    while (!sl->done && !p->dead) {
        if (p2v_cancelled()) {
            pthread_mutex_unlock(&io->mu);
            return p2v_errf(err, -EINTR, "%s: interrupted by a signal while writing", s->output);
        }
        if (since_s(&io->progress) >= s->io_timeout) {
            p->dead = true;
            break;
        }
        /* wake now and then: a signal does not wake a condition wait */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&io->cv, &io->mu, &until);
    }
    bool done = sl->done;
    pthread_mutex_unlock(&io->mu);
    if (!done)
        return p2v_errf(err, -ETIMEDOUT, "%s: %s in %s: the cluster did not answer within "
                                         "--io-timeout (%u s)", s->output, what, p->partial,
                        s->io_timeout);
    rbdlib.f.rbd_aio_wait_for_complete(sl->c); /* the callback came first: settle */
    ssize_t r = rbdlib.f.rbd_aio_get_return_value(sl->c);
    rbdlib.f.rbd_aio_release(sl->c);
    sl->c = NULL;
    pthread_mutex_lock(&io->mu);
    io->inflight--;
    pthread_mutex_unlock(&io->mu);
    if (r >= 0)
        return 0;
    char why[RBD_NAME_MAX + 128];
    if (r == -EDQUOT || r == -ENOSPC) {
        p->nospace = true;
        rbdlib_space_why(&p->conn, p->t.pool, (int)r, why, sizeof why);
    } else if (r == -ETIMEDOUT) {
        p->dead = true;
        snprintf(why, sizeof why, "the cluster did not answer within --io-timeout (%u s)",
                 s->io_timeout);
    } else
        snprintf(why, sizeof why, "%s", strerror((int)-r));
    return p2v_errf(err, (int)r, "%s: %s in %s: %s", s->output, what, p->partial, why);
}

static int slot_wait_write(sink *s, struct rbd_slot *sl, p2v_err *err)
{
    char what[96];
    snprintf(what, sizeof what, "write error at offset %llu (%zu bytes)",
             (unsigned long long)sl->off, sl->len);
    return slot_wait(s, sl, what, err);
}

static int drain(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    int r = 0;
    for (unsigned i = 0; i < p->nslots && !p->dead; i++) {
        int q = slot_wait_write(s, &p->io->slots[i], err);
        r = r < 0 ? r : q;
    }
    return r;
}

/* ---- opening ---- */

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
    char why[RBD_NAME_MAX + 128];
    rbdlib.f.rbd_image_options_create(&opts);
    rbdlib.f.rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, p->features);
    int r = rbdlib.f.rbd_create4(p->conn.io, p->partial, size, opts);
    rbdlib.f.rbd_image_options_destroy(opts);
    if (r < 0) {
        if (r == -EDQUOT || r == -ENOSPC)
            rbdlib_space_why(&p->conn, p->t.pool, r, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", strerror(-r));
        return p2v_errf(err, r, "%s: cannot create the image %s (%llu bytes): %s", s->output,
                        p->partial, (unsigned long long)size, why);
    }
    p->created = true;
    if ((r = rbdlib.f.rbd_open(p->conn.io, p->partial, &p->img, NULL)) < 0) {
        p->img = NULL;
        return p2v_errf(err, r, "%s: cannot open the new image %s: %s", s->output, p->partial,
                        strerror(-r));
    }
    rbd_image_info_t info;
    p->chunk = RBD_CHUNK_MAX;
    if (rbdlib.f.rbd_stat(p->img, &info, sizeof info) == 0 && info.obj_size &&
        info.obj_size < RBD_CHUNK_MAX)
        p->chunk = (size_t)info.obj_size;
    return 0;
}

static int rbd_open_sink(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    struct rbd_priv *p = sink_priv_new(s, sizeof *p, err);
    if (!p)
        return -ENOMEM;
    int r = rbdlib_parse(s->output, &p->t, err);
    if (r < 0)
        return r;
    if (p->t.snap[0])
        return p2v_errf(err, -EINVAL, "%s: a snapshot cannot be written; name an image", s->output);
    snprintf(p->partial, sizeof p->partial, "%s%s", p->t.image, RBD_PARTIAL_SUFFIX);
    if (rbdlib_spell(&p->t, p->partial, p->readback, sizeof p->readback) < 0)
        return p2v_errf(err, -ENAMETOOLONG, "%s: the name is too long", s->output);
    p->features = o->rbd_features ? o->rbd_features : rbd_default_features;
    p->force = o->force;
    p->nslots = o->queue_depth ? o->queue_depth : 8;
    p->nslots = p->nslots > RBD_SLOTS_MAX ? RBD_SLOTS_MAX : p->nslots;
    if (!(p->io = io_new(p->nslots)) || !p->io->slots[p->nslots - 1].buf)
        return p2v_errf(err, -ENOMEM, "out of memory");
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
    return create_partial(s, p, virtual_size, err);
}

/* ---- writing ---- */

/* Send the gathered piece. */
static int send_filling(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    struct rbd_slot *sl = p->filling;
    if (!sl)
        return 0;
    p->filling = NULL;
    int r = slot_start(s, sl);
    if (r < 0)
        return p2v_errf(err, r, "%s: %s", s->output, strerror(-r));
    if ((r = rbdlib.f.rbd_aio_write(p->img, sl->off, sl->len, (const char *)sl->buf, sl->c)) < 0) {
        slot_abort(s, sl);
        return p2v_errf(err, r, "%s: write error at offset %llu: %s", s->output,
                        (unsigned long long)sl->off, strerror(-r));
    }
    p->sent += sl->len;
    return 0;
}

/* Add len bytes at off (within one object) to the gathered piece, sending it
 * first when they do not follow it, and after when the object is complete. */
static int gather(sink *s, const uint8_t *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    struct rbd_slot *f = p->filling;
    int r;
    if (f && f->off + f->len != off && (r = send_filling(s, err)) < 0)
        return r;
    if (!p->filling) {
        f = &p->io->slots[p->next++ % p->nslots];
        if ((r = slot_wait_write(s, f, err)) < 0)
            return r;
        f->off = off;
        f->len = 0;
        p->filling = f;
    }
    memcpy(p->filling->buf + p->filling->len, buf, len);
    p->filling->len += len;
    return (off + len) % p->chunk == 0 ? send_filling(s, err) : 0;
}

/* A write being walked chunk by chunk of the image (io_walk). */
struct rbd_write {
    sink *s;
    const uint8_t *buf;
};

/* One piece of a write: as much as the chunk at offset still takes. */
static int64_t write_piece(void *ctx, uint64_t offset, size_t at, size_t len, p2v_err *err)
{
    const struct rbd_write *w = ctx;
    const struct rbd_priv *p = w->s->priv;
    size_t room = p->chunk - (size_t)(offset % p->chunk);
    size_t n = len < room ? len : room;
    int r = gather(w->s, w->buf + at, n, offset, err);
    return r < 0 ? r : (int64_t)n;
}

static int rbd_sink_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    if (offset > s->virtual_size || len > s->virtual_size - offset)
        return p2v_errf(err, -EINVAL, "%s: write of %zu bytes at %llu is past the end", s->output,
                        len, (unsigned long long)offset);
    struct rbd_write w = { .s = s, .buf = buf };
    return io_walk(offset, len, write_piece, &w, err);
}

static int rbd_sink_finish(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    int r = send_filling(s, err);
    if (r == 0)
        r = drain(s, err);
    if (r < 0)
        return r;
    /* the flush as a request of its own, under the same deadline */
    struct rbd_slot *fl = &p->io->slots[RBD_SLOTS_MAX];
    if ((r = slot_start(s, fl)) < 0)
        return p2v_errf(err, r, "%s: %s", s->output, strerror(-r));
    if ((r = rbdlib.f.rbd_aio_flush(p->img, fl->c)) < 0) {
        slot_abort(s, fl);
        return p2v_errf(err, r, "%s: flush error: %s", s->output, strerror(-r));
    }
    return slot_wait(s, fl, "flush error", err);
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

/* ---- ending ---- */

/* Close the image, remove the partial image (unless the cluster is dead) and
 * disconnect, bounded by --io-timeout without progress: on a thread of its
 * own that this call does not wait for once the cluster has stopped
 * answering. */
static int close_all(sink *s, bool remove)
{
    struct rbd_priv *p = s->priv;
    if (p->io && !p->dead) {
        p2v_err ignored;
        drain(s, &ignored);
    }
    struct rbd_io *io = p->io;
    p->io = NULL;
    rbd_image_t img = p->img;
    p->img = NULL;
    if (!img && !remove) { /* no image open: no request can be in flight */
        io_free(io);
        rbdlib_disconnect(&p->conn);
        return 0;
    }
    return rbdlib_close_remove(&p->conn, img, remove ? p->partial : NULL,
                               p->dead ? 0 : s->io_timeout, io_free, io);
}

/* Remove the partial image of a run that did not commit. */
static int sink_rbd_discard(sink *s, p2v_err *err)
{
    struct rbd_priv *p = s->priv;
    if (!p || !p->created)
        return 0;
    p->filling = NULL;
    int r = close_all(s, true);
    /* tried once: a second try (from free) would wait out the same dead
     * cluster again, and the error below already names the image */
    p->created = false;
    if (r == 0)
        return 0;
    if (p->nospace) /* Ceph moves an image to the trash before removing it: that needs room */
        return p2v_errf(err, r, "the partial image %s/%s could not be removed (the pool has no "
                                "room to move it to the trash first): remove it with 'rbd rm "
                                "%s/%s' once the pool has room", p->t.pool, p->partial,
                        p->t.pool, p->partial);
    return p2v_errf(err, r, "the partial image %s/%s could not be removed (%s): remove it "
                            "with 'rbd rm %s/%s'", p->t.pool, p->partial,
                    r == -ETIMEDOUT ? "the cluster did not answer" : strerror(-r), p->t.pool,
                    p->partial);
}

static void rbd_sink_free(sink *s)
{
    struct rbd_priv *p = s->priv;
    p2v_err ignored;
    if (!p)
        return;
    sink_rbd_discard(s, &ignored);
    close_all(s, false);
    free(p);
    s->priv = NULL;
}

const struct sink_backend sink_rbd_backend = {
    .name = "rbd", .open = rbd_open_sink, .write = rbd_sink_write, .finish = rbd_sink_finish,
    .commit = rbd_sink_commit, .bytes = rbd_sink_bytes, .free = rbd_sink_free,
    .discard = sink_rbd_discard, .readback_name = rbd_readback_name, .describe = rbd_describe,
    .granularity = 4096,
};

/* rbd:POOL[/NAMESPACE]/IMAGE: written under IMAGE.p2v-partial and renamed
 * (direct: no temporary file; the backend keeps all or nothing itself). */
const struct sink_target sink_target_rbd = {
    .info = { .name = "rbd", .what = "RBD image", .direct = true, .raw_only = true,
              .readback = true },
    .match = rbdlib_is_target,
    .be = &sink_rbd_backend,
};
