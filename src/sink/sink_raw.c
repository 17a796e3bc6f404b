/* Raw sink: a sparse file of the virtual size; what is never written is a hole. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/sink_impl.h"
#include "util/io.h"

/* Aligned data of 1 MiB or more goes around the page cache when the file
 * allows O_DIRECT. Shorter runs (the non-zero stretches of mixed data, 128
 * KiB apiece in the benchmark) go through the page cache, whose writeback
 * joins the runs that ext4 places side by side into large device writes:
 * a 1 GiB partition of mixed data took 0.74-0.81x the time (medians of 5)
 * of writing its 4,370 runs each with a synchronous O_DIRECT write. */
#define DIRECT_ALIGN 4096u
#define DIRECT_MIN   (1u << 20)
#define KICK_BYTES   (8u << 20) /* writeback started every 8 MiB (0.88x the time of 32) */

/* Writes in flight: pwrite on distinct ranges needs no lock. */
#define RAW_WRITERS 4

struct raw_priv {
    int dfd;           /* the temporary file opened O_DIRECT, or -1 */
    bool direct_gone;  /* the file system refused an O_DIRECT write: page cache only */
    uint64_t unkicked; /* written through the page cache since writeback was started */
};

static int raw_open(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err)
{
    struct raw_priv *rp = malloc(sizeof *rp);
    if (!rp)
        return p2v_errf(err, -ENOMEM, "out of memory");
    rp->dfd = o->buffered ? -1 : reopen_fd(s->fd, O_WRONLY | O_DIRECT); /* -1: tmpfs... */
    rp->direct_gone = false;
    rp->unkicked = 0;
    s->priv = rp;
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
    bool direct = rp->dfd >= 0 && len >= DIRECT_MIN &&
                  !__atomic_load_n(&rp->direct_gone, __ATOMIC_RELAXED) &&
                  io_direct_aligned(buf, len, offset, DIRECT_ALIGN);
    int r = pwrite_full(direct ? rp->dfd : s->fd, buf, len, offset, &done);
    if (direct && r == -EINVAL && done == 0) { /* the file system wants other alignment */
        __atomic_store_n(&rp->direct_gone, true, __ATOMIC_RELAXED);
        direct = false;
        r = pwrite_full(s->fd, buf, len, offset, &done);
    }
    if (!direct)
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
    struct raw_priv *rp = s->priv;
    if (rp->dfd >= 0)
        close(rp->dfd);
    free(rp);
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
