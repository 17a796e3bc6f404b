/* qcow2 sink: the qcow2 writer over the temporary file. */
#include <errno.h>

#include "qcow2/qcow2.h"
#include "sink/sink.h"

static int q_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    qcow2_writer *w = NULL;
    qcow2_write_opts wo = { .cluster_size = o->cluster_size ? o->cluster_size : 65536,
                            .version = o->qcow2_version ? o->qcow2_version : 3,
                            .direct = !o->buffered, .level = o->level,
                            .threads = o->threads };
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
    /* One write at a time, in the copy's order: host clusters are allocated
     * in guest order, so the same disk gives the same file (qemu-img convert
     * also writes in order unless told -W). */
    s->writers = 1;
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

static int q_finish(sink *s, p2v_err *err) { return qcow2_writer_finish(s->priv, err); }

static void q_free(sink *s)
{
    qcow2_writer_free(s->priv);
    s->priv = NULL;
}

const struct sink_backend sink_qcow2_backend = {
    .name = "qcow2", .open = q_open, .write = q_write, .gather = q_gather, .finish = q_finish,
    .free = q_free,
    .granularity = 65536,
};
