/* The qcow2 writer's file I/O: writes through the page cache with writeback
 * started as they go (one flush at the end; see docs/BENCHMARKS.md, "Dense
 * copies on disk", for why not O_DIRECT), runs that follow each other
 * gathered into one write, compressed clusters combined, and reads of what
 * was written. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "qcow2/writer_impl.h"
#include "util/io.h"


int qw_write_at(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    size_t done;
    int r;
    /* What is gathered lands first where this write overlaps it. */
    if (w->g.n && off < w->g.off + w->g.len && off + len > w->g.off &&
        (r = qw_flush_gather(w, err)) < 0)
        return r;
    writeback_kick(w->fd, &w->unkicked, len, KICK_BYTES);
    r = pwrite_full(w->fd, buf, len, off, &done);
    if (r < 0) {
        set_failed(w);
        return p2v_errf(err, r, "%s: write of %zu bytes at file offset %llu failed: %s", w->name,
                        len - done, (unsigned long long)(off + done), strerror(-r));
    }
    return 0;
}

int qcow2_writer_write_gathered(qcow2_writer *w, qcow2_gathered *g, p2v_err *err)
{
    if (!g->n)
        return 0;
    int n = g->n, r;
    size_t done;
    g->n = 0;
    writeback_kick(w->fd, &w->unkicked, (size_t)g->len, KICK_BYTES);
    r = pwritev_full(w->fd, g->iov, n, g->off, &done);
    if (r < 0) {
        set_failed(w);
        return p2v_errf(err, r, "%s: write of %llu bytes at file offset %llu failed: %s",
                        w->name, (unsigned long long)(g->len - done),
                        (unsigned long long)(g->off + done), strerror(-r));
    }
    return 0;
}

int qw_flush_gather(qcow2_writer *w, p2v_err *err)
{
    return qcow2_writer_write_gathered(w, &w->g, err);
}

/* The data of a run of whole clusters at host offset off: gathered while
 * gathering, else written now. */
int qw_write_data(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    int r;
    if (!w->gather)
        return qw_write_at(w, buf, len, off, err);
    if (w->g.n && (w->g.off + w->g.len != off || w->g.n == QCOW2_GATHER_MAX) &&
        (r = qw_flush_gather(w, err)) < 0)
        return r;
    if (!w->g.n) {
        w->g.off = off;
        w->g.len = 0;
    }
    w->g.iov[w->g.n++] = (struct iovec){ .iov_base = (void *)buf, .iov_len = len };
    w->g.len += len;
    return 0;
}

int qcow2_writer_gather(qcow2_writer *w, bool on, p2v_err *err)
{
    int r = qw_flush_gather(w, err);
    w->gather = on && r == 0;
    return r;
}

void qcow2_writer_gather_take(qcow2_writer *w, qcow2_gathered *out)
{
    *out = w->g;
    w->g.n = 0;
    w->gather = false;
}

int qw_flush_combined(qcow2_writer *w, p2v_err *err)
{
    if (!w->wc_len)
        return 0;
    size_t n = w->wc_len;
    w->wc_len = 0;
    return qw_write_at(w, w->wc_buf, n, w->wc_off, err);
}

/* Compressed clusters are small and allocated one after the other: gather
 * them into larger writes. */
int qw_write_combined(qcow2_writer *w, const uint8_t *buf, size_t len, uint64_t off,
                          p2v_err *err)
{
    int r;
    if (w->wc_len && (off != w->wc_off + w->wc_len || w->wc_len + len > WC_BYTES) &&
        (r = qw_flush_combined(w, err)) < 0)
        return r;
    if (len > WC_BYTES)
        return qw_write_at(w, buf, len, off, err);
    if (!w->wc_len)
        w->wc_off = off;
    memcpy(w->wc_buf + w->wc_len, buf, len);
    w->wc_len += len;
    return 0;
}

int qw_read_at(qcow2_writer *w, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    size_t done;
    int r = qw_flush_combined(w, err);
    if (r < 0 || (r = qw_flush_gather(w, err)) < 0)
        return r;
    if ((r = pread_full(w->fd, buf, len, off, &done)) < 0)
        return p2v_errf(err, r, "%s: read back at file offset %llu failed: %s", w->name,
                        (unsigned long long)(off + done), strerror(-r));
    /* past the end of what was written: zeros */
    memset((uint8_t *)buf + done, 0, len - done);
    return 0;
}
