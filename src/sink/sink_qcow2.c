/* Placeholder until the qcow2 writer lands: qcow2 output is refused clearly. */
#include <errno.h>

#include "sink/sink.h"

static int q_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    (void)virtual_size;
    (void)o;
    return p2v_errf(err, -ENOTSUP, "%s: qcow2 output is not available yet; use -O raw", s->output);
}
static int q_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    (void)s; (void)offset; (void)buf; (void)len;
    return p2v_errf(err, -ENOTSUP, "qcow2 output is not available yet");
}
static int q_finish(sink *s, p2v_err *err)
{
    (void)s;
    return p2v_errf(err, -ENOTSUP, "qcow2 output is not available yet");
}
static void q_free(sink *s) { (void)s; }

const struct sink_backend sink_qcow2_backend = {
    .name = "qcow2", .open = q_open, .write = q_write, .finish = q_finish, .free = q_free,
    .granularity = 65536,
};
