/* Raw sink: a sparse file of the virtual size; what is never written is a hole. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sink/sink.h"
#include "util/io.h"

static int raw_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    (void)o;
    if (ftruncate(s->fd, (off_t)virtual_size) < 0)
        return p2v_errf(err, -errno, "%s: cannot size it to %llu bytes: %s", s->output,
                        (unsigned long long)virtual_size, strerror(errno));
    return 0;
}

static int raw_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    size_t done;
    int r = pwrite_full(s->fd, buf, len, offset, &done);
    if (r < 0)
        return p2v_errf(err, r, "%s: write error at offset %llu: %s", s->output,
                        (unsigned long long)(offset + done), strerror(-r));
    return 0;
}

static int raw_finish(sink *s, p2v_err *err)
{
    (void)s;
    (void)err;
    return 0;
}

static void raw_free(sink *s) { (void)s; }

const struct sink_backend sink_raw_backend = {
    .name = "raw",
    .open = raw_open,
    .write = raw_write,
    .finish = raw_finish,
    .free = raw_free,
    .granularity = 4096,
};
