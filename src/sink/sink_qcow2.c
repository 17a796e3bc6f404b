/* qcow2 sink: the qcow2 writer over the temporary file. */
#include <errno.h>
#include <stdlib.h>

#include "qcow2/qcow2.h"
#include "sink/sink_impl.h"

#define Q_WRITERS 4

static int q_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    qcow2_writer *w = NULL;
    /* Written through the page cache (.direct off), flushed once before the
     * header and once after it: dense copies of a 1 GiB disk image to a
     * file on disk took 0.79x (random data) and 0.80x (mixed) the time of
     * O_DIRECT writes, medians of 7 paired rounds, 2026-12-07
     * (docs/BENCHMARKS.md, "Dense copies on disk"). */
    qcow2_write_opts wo = { .cluster_size = o->cluster_size ? o->cluster_size : 65536,
                            .version = o->qcow2_version ? o->qcow2_version : 3,
                            .direct = false, .level = o->level, .threads = o->threads };
    switch (o->compression) {
    case SINK_COMPRESS_ZLIB: wo.compression = QCOW2_COMPRESS_ZLIB; break;
    case SINK_COMPRESS_ZSTD: wo.compression = QCOW2_COMPRESS_ZSTD; break;
    default: wo.compression = QCOW2_COMPRESS_NONE; break;
    }
    int r = qcow2_writer_create(s->fd, s->output, virtual_size, &wo, &w, err);
    if (r < 0)
        return r;
    s->priv = w;
    s->granularity = wo.cluster_size;
    /* Uncompressed: the blocks are stored one at a time in the copy's order
     * (host clusters allocated in guest order, so the same disk gives the
     * same file, as qemu-img convert without -W), and their data written in
     * parallel afterwards (sink_gather_take). Compressed data is one stream
     * with its own compressing threads. */
    s->writers = wo.compression == QCOW2_COMPRESS_NONE ? Q_WRITERS : 1;
    return 0;
}

static int q_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    return qcow2_writer_pwrite(s->priv, buf, len, offset, err);
}

static int q_gather(sink *s, bool on, p2v_err *err)
{
    return qcow2_writer_gather(s->priv, on, err);
}

static int q_take(sink *s, void **token, p2v_err *err)
{
    qcow2_gathered *g = malloc(sizeof *g);
    if (!g)
        return p2v_errf(err, -ENOMEM, "out of memory");
    qcow2_writer_gather_take(s->priv, g);
    if (!g->n) {
        free(g);
        g = NULL;
    }
    *token = g;
    return 0;
}

static int q_write_taken(sink *s, void *token, p2v_err *err)
{
    int r = qcow2_writer_write_gathered(s->priv, token, err);
    free(token);
    return r;
}

static int q_finish(sink *s, p2v_err *err) { return qcow2_writer_finish(s->priv, err); }

static void q_free(sink *s)
{
    qcow2_writer_free(s->priv);
    s->priv = NULL;
}

const struct sink_backend sink_qcow2_backend = {
    .name = "qcow2", .open = q_open, .write = q_write, .gather = q_gather,
    .gather_take = q_take, .gather_write = q_write_taken, .finish = q_finish, .free = q_free,
    .granularity = 65536,
};
