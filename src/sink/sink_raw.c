/* Raw sink: a sparse file of the virtual size; what is never written is a hole. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/sink_impl.h"
#include "util/io.h"

/* Every write goes through the page cache, with writeback started every 8
 * MiB (0.88x the time of 32 on mixed data) and the one flush at the end
 * (sink_finish). O_DIRECT writes of the aligned runs of 1 MiB and more were
 * slower: a dense copy of 1 GiB of random data from a disk image to a file
 * on disk took 0.78x their time (median of 7 paired rounds), 2026-12-07 (docs/BENCHMARKS.md, "Dense copies on disk"). The
 * page cache also joins the short runs of mixed data that ext4 places side
 * by side into large device writes. */
#define KICK_BYTES (8u << 20)

/* Writes in flight: pwrite on distinct ranges needs no lock. */
#define RAW_WRITERS 4

struct raw_priv {
    uint64_t unkicked; /* written since writeback was last started */
};

static int raw_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    (void)o;
    if (!sink_priv_new(s, sizeof(struct raw_priv), err))
        return -ENOMEM;
    s->writers = RAW_WRITERS;
    if (ftruncate(s->fd, (off_t)virtual_size) < 0)
        return p2v_errf(err, -errno, "%s: cannot size it to %llu bytes: %s", s->output,
                        (unsigned long long)virtual_size, strerror(errno));
    return 0;
}

static int raw_write(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct raw_priv *rp = s->priv;
    size_t done;
    int r = pwrite_full(s->fd, buf, len, offset, &done);
    writeback_kick(s->fd, &rp->unkicked, done, KICK_BYTES);
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

static void raw_free(sink *s)
{
    free(s->priv);
    s->priv = NULL;
}

const struct sink_backend sink_raw_backend = {
    .name = "raw",
    .open = raw_open,
    .write = raw_write,
    .finish = raw_finish,
    .free = raw_free,
    .granularity = 4096,
};
