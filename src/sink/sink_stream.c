/* OUTPUT "-": the image goes to standard output front to back, never
 * seeking, so it can be piped (ssh, an upload). qcow2: the layout is planned
 * from the extents the copy will write (sink_set_layout) and its metadata
 * goes out first (qcow2/stream.c). raw: every byte of the disk in order,
 * zeros for what is not written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"
#include "sink/sink_impl.h"

#define ZERO_CHUNK (1u << 20)

struct stream_priv {
    int fd;
    qcow2_stream *q;            /* qcow2 only, from sink_set_layout */
    uint32_t cluster_size;
    uint64_t pos;               /* raw: bytes sent */
    uint64_t sent;
    uint8_t *zeros;
};

static int emit_fd(void *ctx, const void *buf, size_t len, p2v_err *err)
{
    sink *s = ctx;
    struct stream_priv *p = s->priv;
    const uint8_t *b = buf;
    while (len) {
        ssize_t n = write(p->fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            return p2v_errf(err, -e, "standard output: write error after %llu bytes of the "
                                     "stream: %s%s", (unsigned long long)p->sent, strerror(e),
                            e == EPIPE ? " (the reader went away); the receiver has an "
                                         "incomplete image" : "");
        }
        b += n;
        len -= (size_t)n;
        p->sent += (uint64_t)n;
    }
    return 0;
}

static int stream_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    (void)virtual_size;
    struct stream_priv *p = sink_priv_new(s, sizeof *p, err);
    if (!p)
        return -ENOMEM;
    p->fd = STDOUT_FILENO;
    p->cluster_size = o->cluster_size ? o->cluster_size : 65536;
    if (o->format == SINK_QCOW2)
        s->granularity = p->cluster_size;
    if (!(p->zeros = calloc(1, ZERO_CHUNK)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

static int stream_layout(sink *s, const extent_list *will_write, p2v_err *err)
{
    struct stream_priv *p = s->priv;
    if (s->be != &sink_stream_qcow2_backend)
        return 0;
    return qcow2_stream_create(s->virtual_size, p->cluster_size, will_write, emit_fd, s, &p->q,
                               err);
}

static int q_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct stream_priv *p = s->priv;
    if (!p->q)
        return p2v_errf(err, -EINVAL, "qcow2 stream: written before its layout was set");
    return qcow2_stream_write(p->q, buf, len, offset, err);
}

static int q_finish(sink *s, p2v_err *err)
{
    struct stream_priv *p = s->priv;
    if (!p->q)
        return p2v_errf(err, -EINVAL, "qcow2 stream: finished before its layout was set");
    return qcow2_stream_finish(p->q, err);
}

/* raw: zeros up to `to`, then the data */
static int raw_fill(sink *s, uint64_t to, p2v_err *err)
{
    struct stream_priv *p = s->priv;
    while (p->pos < to) {
        size_t n = to - p->pos < ZERO_CHUNK ? (size_t)(to - p->pos) : ZERO_CHUNK;
        int r = emit_fd(s, p->zeros, n, err);
        if (r < 0)
            return r;
        p->pos += n;
    }
    return 0;
}

static int raw_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct stream_priv *p = s->priv;
    if (offset < p->pos)
        return p2v_errf(err, -EINVAL, "raw stream: write at byte %llu is behind data already "
                                      "sent (%llu)", (unsigned long long)offset,
                        (unsigned long long)p->pos);
    int r = raw_fill(s, offset, err);
    if (r == 0 && (r = emit_fd(s, buf, len, err)) == 0)
        p->pos += len;
    return r;
}

static int raw_finish(sink *s, p2v_err *err) { return raw_fill(s, s->virtual_size, err); }

static int stream_commit(sink *s, p2v_err *err)
{
    (void)s;
    (void)err;
    return 0;   /* nothing to rename: the receiver has every byte */
}

static uint64_t stream_bytes(const sink *s) { return ((struct stream_priv *)s->priv)->sent; }

static void stream_free(sink *s)
{
    struct stream_priv *p = s->priv;
    qcow2_stream_free(p->q);
    free(p->zeros);
    free(p);
    s->priv = NULL;
}

const struct sink_backend sink_stream_qcow2_backend = {
    .name = "qcow2 stream", .open = stream_open, .layout = stream_layout, .write = q_write,
    .finish = q_finish, .commit = stream_commit, .bytes = stream_bytes, .free = stream_free,
    .granularity = 65536,
};

const struct sink_backend sink_stream_raw_backend = {
    .name = "raw stream", .open = stream_open, .layout = stream_layout, .write = raw_write,
    .finish = raw_finish, .commit = stream_commit, .bytes = stream_bytes, .free = stream_free,
    .granularity = 4096,
};

static bool stream_match(const char *output) { return !strcmp(output, "-"); }

static const struct sink_backend *stream_backend(const sink_opts *o)
{
    return o->format == SINK_RAW ? &sink_stream_raw_backend : &sink_stream_qcow2_backend;
}

/* OUTPUT "-": the image streamed front to back to standard output. */
const struct sink_target sink_target_stream = {
    .info = { .name = "stream", .what = "standard output", .direct = true, .to_stdout = true,
              .in_order = true },
    .match = stream_match,
    .backend = stream_backend,
};
