/* qcow2 writer: append-only allocation, metadata kept in memory and written
 * once at finish, header last.
 *
 * File layout: cluster 0 is the header (written with version 0 at create so
 * that an interrupted image is refused), then data clusters and compressed
 * bytes in allocation order, then at finish the L2 tables, the L1 table, the
 * refcount blocks and the refcount table. Memory: one L1 pointer per 2^(2b-3)
 * bytes of virtual size, one L2 table per touched L2 range, two bytes of
 * refcount per allocated host cluster, a few pending partial clusters. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"
#include "util/endian.h"
#include "util/zero.h"
#include "util/io.h"

#define PENDING_BYTES (4u * 1024 * 1024)
#define PENDING_MAX 32
#define RUN_MAX 256 /* clusters per pwrite on the uncompressed fast path */
#define WC_BYTES (1u << 20)    /* write-combining buffer for compressed data */
#define BATCH_BYTES (8u << 20) /* clusters compressed in parallel per batch */
#define KICK_BYTES (32u << 20) /* start writeback every 32 MiB written */
#define DIRECT_ALIGN 4096u     /* buffer, offset and length of an O_DIRECT write */
#define CODEC_BUDGET (24u << 20) /* codec memory of all compressing threads together */

struct pending {
    uint64_t vc;    /* guest cluster index */
    uint8_t *buf;   /* the whole cluster, existing content merged */
    uint64_t stamp; /* LRU */
    bool used;
};

struct qcow2_writer {
    int fd;
    int dfd;          /* the same file opened O_DIRECT, or -1 */
    bool direct_gone; /* O_DIRECT refused by the file system (atomic: gathered
                         writes may run in other threads) */
    char *name;
    uint64_t vsize;
    unsigned cbits;
    uint64_t cs;
    int version;
    enum qcow2_compression comp;

    uint32_t l1_size;
    uint64_t **l2; /* l1_size pointers; NULL = L2 table not touched */
    unsigned l2_bits;

    uint16_t *ref; /* refcount per host cluster */
    uint64_t ref_cap;
    uint64_t next_cluster; /* first host cluster never used */
    uint64_t cbyte;        /* end of the last compressed bytes, 0 = none */
    uint64_t allocated;
    uint64_t unkicked; /* bytes written since writeback was last started */

    qcow2_codec *codec;
    qcow2_cpool *pool;
    qcow2_cjob *jobs;
    uint8_t *batch; /* compressed outputs of one batch */
    size_t batch_max;
    uint8_t *wc_buf;
    size_t wc_len;
    uint64_t wc_off;
    uint8_t *cbuf; /* compressed output / compressed input, 2 clusters */
    uint8_t *tmp;  /* one cluster */

    /* Gathering (qcow2_writer_gather): runs that follow each other in the
     * file, written at once. */
    bool gather;
    qcow2_gathered g;

    struct pending pend[PENDING_MAX];
    unsigned npend;
    uint64_t tick;
    bool failed, finished;
};

static void set_failed(qcow2_writer *w) { __atomic_store_n(&w->failed, true, __ATOMIC_RELAXED); }
static bool has_failed(qcow2_writer *w) { return __atomic_load_n(&w->failed, __ATOMIC_RELAXED); }

/* Aligned data goes around the page cache when the file allows O_DIRECT:
 * one copy less, and no dirty pages to flush at the end. */
static bool direct_ok(const qcow2_writer *w, const void *buf, size_t len, uint64_t off)
{
    return w->dfd >= 0 && !__atomic_load_n(&w->direct_gone, __ATOMIC_RELAXED) &&
           io_direct_aligned(buf, len, off, DIRECT_ALIGN);
}

static int flush_gather(qcow2_writer *w, p2v_err *err);

static int write_at(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    size_t done;
    int r;
    /* What is gathered lands first where this write overlaps it. */
    if (w->g.n && off < w->g.off + w->g.len && off + len > w->g.off &&
        (r = flush_gather(w, err)) < 0)
        return r;
    if (direct_ok(w, buf, len, off)) {
        r = pwrite_full(w->dfd, buf, len, off, &done);
        if (r == -EINVAL && done == 0) { /* the file system wants other alignment */
            __atomic_store_n(&w->direct_gone, true, __ATOMIC_RELAXED);
            return write_at(w, buf, len, off, err);
        }
    } else {
        writeback_kick(w->fd, &w->unkicked, len, KICK_BYTES);
        r = pwrite_full(w->fd, buf, len, off, &done);
    }
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
    uintptr_t mis = g->off % DIRECT_ALIGN;
    for (int i = 0; i < n; i++)
        mis |= (uintptr_t)g->iov[i].iov_base % DIRECT_ALIGN | g->iov[i].iov_len % DIRECT_ALIGN;
    g->n = 0;
    if (w->dfd >= 0 && !__atomic_load_n(&w->direct_gone, __ATOMIC_RELAXED) && mis == 0) {
        struct iovec v[QCOW2_GATHER_MAX];
        memcpy(v, g->iov, sizeof v[0] * (size_t)n); /* kept for a buffered retry */
        r = pwritev_full(w->dfd, v, n, g->off, &done);
        if (r != -EINVAL || done != 0)
            goto out;
        __atomic_store_n(&w->direct_gone, true, __ATOMIC_RELAXED); /* other alignment wanted */
    }
    writeback_kick(w->fd, &w->unkicked, (size_t)g->len, KICK_BYTES);
    r = pwritev_full(w->fd, g->iov, n, g->off, &done);
out:
    if (r < 0) {
        set_failed(w);
        return p2v_errf(err, r, "%s: write of %llu bytes at file offset %llu failed: %s",
                        w->name, (unsigned long long)(g->len - done),
                        (unsigned long long)(g->off + done), strerror(-r));
    }
    return 0;
}

static int flush_gather(qcow2_writer *w, p2v_err *err)
{
    return qcow2_writer_write_gathered(w, &w->g, err);
}

/* The data of a run of whole clusters at host offset off: gathered while
 * gathering, else written now. */
static int write_data(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    int r;
    if (!w->gather)
        return write_at(w, buf, len, off, err);
    if (w->g.n && (w->g.off + w->g.len != off || w->g.n == QCOW2_GATHER_MAX) &&
        (r = flush_gather(w, err)) < 0)
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
    int r = flush_gather(w, err);
    w->gather = on && r == 0;
    return r;
}

void qcow2_writer_gather_take(qcow2_writer *w, qcow2_gathered *out)
{
    *out = w->g;
    w->g.n = 0;
    w->gather = false;
}

static int flush_combined(qcow2_writer *w, p2v_err *err)
{
    if (!w->wc_len)
        return 0;
    size_t n = w->wc_len;
    w->wc_len = 0;
    return write_at(w, w->wc_buf, n, w->wc_off, err);
}

/* Compressed clusters are small and allocated one after the other: gather
 * them into larger writes. */
static int write_combined(qcow2_writer *w, const uint8_t *buf, size_t len, uint64_t off,
                          p2v_err *err)
{
    int r;
    if (w->wc_len && (off != w->wc_off + w->wc_len || w->wc_len + len > WC_BYTES) &&
        (r = flush_combined(w, err)) < 0)
        return r;
    if (len > WC_BYTES)
        return write_at(w, buf, len, off, err);
    if (!w->wc_len)
        w->wc_off = off;
    memcpy(w->wc_buf + w->wc_len, buf, len);
    w->wc_len += len;
    return 0;
}

static int read_at(qcow2_writer *w, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    size_t done;
    int r = flush_combined(w, err);
    if (r < 0 || (r = flush_gather(w, err)) < 0)
        return r;
    if ((r = pread_full(w->fd, buf, len, off, &done)) < 0)
        return p2v_errf(err, r, "%s: read back at file offset %llu failed: %s", w->name,
                        (unsigned long long)(off + done), strerror(-r));
    /* past the end of what was written: zeros */
    memset((uint8_t *)buf + done, 0, len - done);
    return 0;
}

static int ref_reserve(qcow2_writer *w, uint64_t clusters, p2v_err *err)
{
    if (clusters <= w->ref_cap)
        return 0;
    uint64_t cap = w->ref_cap ? w->ref_cap : 1024;
    while (cap < clusters)
        cap *= 2;
    uint16_t *r = realloc(w->ref, cap * sizeof *r);
    if (!r)
        return p2v_errf(err, -ENOMEM, "%s: out of memory for refcounts", w->name);
    memset(r + w->ref_cap, 0, (cap - w->ref_cap) * sizeof *r);
    w->ref = r;
    w->ref_cap = cap;
    return 0;
}

static int check_host_end(qcow2_writer *w, uint64_t clusters, p2v_err *err)
{
    if (clusters > (QCOW2_MAX_HOST_OFFSET >> w->cbits))
        return p2v_errf(err, -EFBIG, "%s: image file would exceed the qcow2 limit of 2^56 bytes",
                        w->name);
    return 0;
}

/* n contiguous host clusters, refcount 1 each; returns the first offset. */
static int alloc_clusters(qcow2_writer *w, uint64_t n, uint64_t *off, p2v_err *err)
{
    uint64_t end = w->next_cluster + n;
    int r = check_host_end(w, end, err);
    if (r < 0 || (r = ref_reserve(w, end, err)) < 0)
        return r;
    for (uint64_t c = w->next_cluster; c < end; c++)
        w->ref[c] = 1;
    *off = w->next_cluster << w->cbits;
    w->next_cluster = end;
    return 0;
}

/* Byte-granular space for compressed data; each host cluster it touches
 * gains one reference. */
static int alloc_bytes(qcow2_writer *w, uint64_t len, uint64_t *off, p2v_err *err)
{
    uint64_t start = w->next_cluster << w->cbits;
    uint64_t in = w->cbyte & (w->cs - 1);
    if (w->cbyte && in) {
        uint64_t c = w->cbyte >> w->cbits;
        bool last = c == w->next_cluster - 1;
        if ((last || w->cs - in >= len) && w->ref[c] < 0xfff0)
            start = w->cbyte;
    }
    uint64_t end = start + len;
    uint64_t first = start >> w->cbits, lastc = (end - 1) >> w->cbits;
    int r = check_host_end(w, lastc + 1, err);
    if (r < 0 || (r = ref_reserve(w, lastc + 1, err)) < 0)
        return r;
    for (uint64_t c = first; c <= lastc; c++) {
        if (c >= w->next_cluster) {
            w->ref[c] = 0;
            w->next_cluster = c + 1;
        }
        w->ref[c]++;
    }
    w->cbyte = end;
    *off = start;
    return 0;
}

static void compressed_span(const qcow2_writer *w, uint64_t entry, uint64_t *start,
                            uint64_t *len, uint64_t *off)
{
    *off = entry & qcow2_coffset_mask(w->cbits);
    uint64_t nsec = ((entry >> qcow2_csize_shift(w->cbits)) & qcow2_csize_mask(w->cbits)) + 1;
    *start = *off & ~511ULL;
    *len = nsec * 512;
}

static void release_compressed(qcow2_writer *w, uint64_t entry)
{
    uint64_t start, len, off;
    compressed_span(w, entry, &start, &len, &off);
    for (uint64_t c = start >> w->cbits; c <= (start + len - 1) >> w->cbits; c++)
        if (c < w->next_cluster && w->ref[c] > 0)
            w->ref[c]--;
    w->allocated -= w->allocated >= len ? len : w->allocated;
}

static int l2_slot(qcow2_writer *w, uint64_t vc, uint64_t **slot, p2v_err *err)
{
    uint64_t l1i = vc >> w->l2_bits;
    if (!w->l2[l1i]) {
        w->l2[l1i] = calloc((size_t)1 << w->l2_bits, sizeof(uint64_t));
        if (!w->l2[l1i])
            return p2v_errf(err, -ENOMEM, "%s: out of memory for an L2 table", w->name);
    }
    *slot = &w->l2[l1i][vc & (((uint64_t)1 << w->l2_bits) - 1)];
    return 0;
}

static uint64_t l2_get(const qcow2_writer *w, uint64_t vc)
{
    const uint64_t *t = w->l2[vc >> w->l2_bits];
    return t ? t[vc & (((uint64_t)1 << w->l2_bits) - 1)] : 0;
}

static bool is_compressed(uint64_t e) { return (e & QCOW2_OFLAG_COMPRESSED) != 0; }
static bool is_normal(uint64_t e) { return !is_compressed(e) && (e & QCOW2_L2E_OFFSET_MASK); }

/* Store a whole guest cluster (cs bytes; the tail past the virtual size is
 * zero). With compression, clen < 0 asks to compress here; otherwise cdata
 * holds clen compressed bytes (clen == 0: it did not compress). */
static int store_cluster_with(qcow2_writer *w, uint64_t vc, const uint8_t *data,
                              const uint8_t *cdata, long clen, p2v_err *err)
{
    uint64_t *slot = NULL;
    int r = l2_slot(w, vc, &slot, err);
    if (r < 0)
        return r;
    uint64_t e = *slot;
    if (is_normal(e))
        return write_at(w, data, w->cs, e & QCOW2_L2E_OFFSET_MASK, err);
    if (is_compressed(e)) {
        release_compressed(w, e);
        *slot = 0;
    }
    if (buf_is_zero(data, w->cs))
        return 0;
    if (w->comp != QCOW2_COMPRESS_NONE) {
        if (clen < 0 || !cdata) {
            clen = qcow2_codec_compress(w->codec, w->cbuf, w->cs - 1, data, w->cs);
            cdata = w->cbuf;
        }
        if (clen < 0)
            return p2v_errf(err, (int)clen, "%s: compression of guest cluster %llu failed",
                            w->name, (unsigned long long)vc);
        if (clen > 0) {
            uint64_t off = 0;
            if ((r = alloc_bytes(w, (uint64_t)clen, &off, err)) < 0)
                return r;
            if ((r = write_combined(w, cdata, (size_t)clen, off, err)) < 0)
                return r;
            uint64_t nsec = ((off + (uint64_t)clen - 1) >> 9) - (off >> 9) + 1;
            *slot = QCOW2_OFLAG_COMPRESSED | ((nsec - 1) << qcow2_csize_shift(w->cbits)) | off;
            w->allocated += nsec * 512;
            return 0;
        }
    }
    uint64_t host = 0;
    if ((r = alloc_clusters(w, 1, &host, err)) < 0)
        return r;
    *slot = host | QCOW2_OFLAG_COPIED;
    w->allocated += w->cs;
    return write_at(w, data, w->cs, host, err);
}

static int store_cluster(qcow2_writer *w, uint64_t vc, const uint8_t *data, p2v_err *err)
{
    return store_cluster_with(w, vc, data, NULL, -1, err);
}

/* Current content of guest cluster vc into buf (cs bytes). */
static int load_cluster(qcow2_writer *w, uint64_t vc, uint8_t *buf, p2v_err *err)
{
    uint64_t e = l2_get(w, vc);
    if (is_normal(e))
        return read_at(w, buf, w->cs, e & QCOW2_L2E_OFFSET_MASK, err);
    if (!is_compressed(e)) {
        memset(buf, 0, w->cs);
        return 0;
    }
    uint64_t start, len, off;
    compressed_span(w, e, &start, &len, &off);
    size_t n = (size_t)(start + len - off);
    int r = read_at(w, w->cbuf, n, off, err);
    if (r < 0)
        return r;
    if (qcow2_codec_decompress(w->codec, buf, w->cs, w->cbuf, n) < 0)
        return p2v_errf(err, -EIO, "%s: cannot decompress guest cluster %llu written earlier",
                        w->name, (unsigned long long)vc);
    return 0;
}

static uint64_t cluster_len(const qcow2_writer *w, uint64_t vc)
{
    uint64_t start = vc << w->cbits;
    return w->vsize - start < w->cs ? w->vsize - start : w->cs;
}

static int flush_pending(qcow2_writer *w, struct pending *p, p2v_err *err)
{
    p->used = false;
    w->npend--;
    return store_cluster(w, p->vc, p->buf, err);
}

static struct pending *find_pending(qcow2_writer *w, uint64_t vc)
{
    for (unsigned i = 0; i < PENDING_MAX; i++)
        if (w->pend[i].used && w->pend[i].vc == vc)
            return &w->pend[i];
    return NULL;
}

static int max_pending(const qcow2_writer *w)
{
    uint64_t n = PENDING_BYTES / w->cs;
    return n < 2 ? 2 : n > PENDING_MAX ? PENDING_MAX : (int)n;
}

static int new_pending(qcow2_writer *w, uint64_t vc, struct pending **out, p2v_err *err)
{
    struct pending *p = NULL;
    int r;
    if ((int)w->npend >= max_pending(w)) {
        struct pending *old = NULL;
        for (unsigned i = 0; i < PENDING_MAX; i++)
            if (w->pend[i].used && (!old || w->pend[i].stamp < old->stamp))
                old = &w->pend[i];
        if ((r = flush_pending(w, old, err)) < 0)
            return r;
    }
    for (unsigned i = 0; i < PENDING_MAX && !p; i++)
        if (!w->pend[i].used)
            p = &w->pend[i];
    if (!p->buf && !(p->buf = malloc(w->cs)))
        return p2v_errf(err, -ENOMEM, "%s: out of memory", w->name);
    if ((r = load_cluster(w, vc, p->buf, err)) < 0)
        return r;
    p->vc = vc;
    p->used = true;
    w->npend++;
    *out = p;
    return 0;
}

/* A piece inside one cluster: [in, in+n) of guest cluster vc. */
static int write_partial(qcow2_writer *w, uint64_t vc, uint64_t in, const uint8_t *buf,
                         size_t n, p2v_err *err)
{
    uint64_t clen = cluster_len(w, vc);
    struct pending *p = find_pending(w, vc);
    int r;
    if (!p) {
        uint64_t e = l2_get(w, vc);
        if (is_normal(e))
            return write_at(w, buf, n, (e & QCOW2_L2E_OFFSET_MASK) + in, err);
        if (!is_compressed(e) && buf_is_zero(buf, n))
            return 0;
        if (in == 0 && n == clen && clen == w->cs)
            return store_cluster(w, vc, buf, err);
        if ((r = new_pending(w, vc, &p, err)) < 0)
            return r;
    }
    memcpy(p->buf + in, buf, n);
    p->stamp = ++w->tick;
    if (in + n == clen) /* reached the cluster's end: most writes are sequential */
        return flush_pending(w, p, err);
    return 0;
}

/* Uncompressed fast path: a run of whole, non-zero, never-allocated clusters
 * becomes one allocation and one pwrite. Returns the clusters consumed (0 if
 * the first cluster does not qualify). */
static long write_run(qcow2_writer *w, uint64_t vc, const uint8_t *buf, size_t nclusters,
                      p2v_err *err)
{
    size_t n = 0;
    while (n < nclusters && n < RUN_MAX && vc + n < (w->vsize >> w->cbits) &&
           l2_get(w, vc + n) == 0 && !find_pending(w, vc + n) &&
           !buf_is_zero(buf + (n << w->cbits), w->cs))
        n++;
    if (n == 0)
        return 0;
    uint64_t host = 0;
    int r = alloc_clusters(w, n, &host, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        uint64_t *slot = NULL;
        if ((r = l2_slot(w, vc + i, &slot, err)) < 0)
            return r;
        *slot = (host + ((uint64_t)i << w->cbits)) | QCOW2_OFLAG_COPIED;
    }
    w->allocated += (uint64_t)n << w->cbits;
    if ((r = write_data(w, buf, n << w->cbits, host, err)) < 0)
        return r;
    return (long)n;
}

/* Compressed fast path: whole clusters compressed in parallel, then stored
 * in order. Returns the clusters consumed (0 if the first does not qualify). */
static long write_compressed_batch(qcow2_writer *w, uint64_t vc, const uint8_t *buf,
                                   size_t nclusters, p2v_err *err)
{
    size_t n = 0, njobs = 0;
    while (n < nclusters && n < w->batch_max && vc + n < (w->vsize >> w->cbits) &&
           !is_normal(l2_get(w, vc + n)) && !find_pending(w, vc + n)) {
        const uint8_t *src = buf + (n << w->cbits);
        if (!buf_is_zero(src, w->cs)) {
            w->jobs[njobs] = (qcow2_cjob){ .src = src, .src_len = w->cs,
                                           .dst = w->batch + (n << w->cbits),
                                           .dst_cap = w->cs - 1 };
            njobs++;
        }
        n++;
    }
    if (n == 0)
        return 0;
    qcow2_cpool_run(w->pool, w->jobs, njobs);
    for (size_t i = 0, j = 0; i < n; i++) {
        const uint8_t *src = buf + (i << w->cbits);
        int r;
        if (j < njobs && w->jobs[j].src == src) {
            r = store_cluster_with(w, vc + i, src, w->jobs[j].dst, w->jobs[j].result, err);
            j++;
        } else {
            r = store_cluster(w, vc + i, src, err); /* all zero */
        }
        if (r < 0)
            return r;
    }
    return (long)n;
}

int qcow2_writer_pwrite(qcow2_writer *w, const void *buf, size_t len, uint64_t offset,
                        p2v_err *err)
{
    const uint8_t *p = buf;
    uint64_t end;
    if (has_failed(w) || w->finished)
        return p2v_errf(err, -EINVAL, "%s: write after %s", w->name,
                        w->finished ? "finish" : "an earlier error");
    if (__builtin_add_overflow(offset, (uint64_t)len, &end) || end > w->vsize)
        return p2v_errf(err, -EINVAL,
                        "%s: write of %zu bytes at offset %llu goes past the virtual size %llu",
                        w->name, len, (unsigned long long)offset, (unsigned long long)w->vsize);
    while (len > 0) {
        uint64_t vc = offset >> w->cbits, in = offset & (w->cs - 1);
        int r;
        if (in == 0 && len >= w->cs) {
            long done = w->comp == QCOW2_COMPRESS_NONE
                            ? write_run(w, vc, p, len >> w->cbits, err)
                            : write_compressed_batch(w, vc, p, len >> w->cbits, err);
            if (done < 0) {
                set_failed(w);
                return (int)done;
            }
            if (done > 0) {
                size_t bytes = (size_t)done << w->cbits;
                p += bytes;
                offset += bytes;
                len -= bytes;
                continue;
            }
        }
        size_t n = w->cs - in < len ? (size_t)(w->cs - in) : len;
        if ((r = write_partial(w, vc, in, p, n, err)) < 0) {
            set_failed(w);
            return r;
        }
        p += n;
        offset += n;
        len -= n;
    }
    return 0;
}

uint64_t qcow2_writer_allocated_bytes(const qcow2_writer *w) { return w->allocated; }

static void put_header(const qcow2_writer *w, uint8_t *h, uint32_t version, uint64_t l1_off,
                       uint64_t rt_off, uint32_t rt_clusters)
{
    memcpy(h + QH_MAGIC, QCOW2_MAGIC, 4);
    put_be32(h + QH_VERSION, version);
    put_be32(h + QH_CLUSTER_BITS, w->cbits);
    put_be64(h + QH_SIZE, w->vsize);
    put_be32(h + QH_L1_SIZE, w->l1_size);
    put_be64(h + QH_L1_OFFSET, l1_off);
    put_be64(h + QH_REFTABLE_OFFSET, rt_off);
    put_be32(h + QH_REFTABLE_CLUSTERS, rt_clusters);
    if (w->version == 3) {
        uint64_t incompat = 0;
        if (w->comp == QCOW2_COMPRESS_ZSTD) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
            h[QH_COMPRESSION_TYPE] = 1;
        }
        put_be64(h + QH_INCOMPAT, incompat);
        put_be32(h + QH_REFCOUNT_ORDER, 4);
        put_be32(h + QH_HEADER_LENGTH, QH_V3_LENGTH);
    }
}

/* Memory one compressing thread's codec takes for clusters of cs bytes:
 * zstd contexts measured with ZSTD_sizeof_CCtx on 64 KiB clusters (296 KiB
 * at level 1, 648 KiB at 3, 1 MiB at 6-9, 1.7 MiB from 13), growing with
 * the window (the cluster); deflate with window bits 12 about 270 KiB. */
static uint64_t codec_bytes(enum qcow2_compression comp, int level, uint64_t cs)
{
    uint64_t scale = cs > 65536 ? cs / 65536 : 1, kib;
    if (comp != QCOW2_COMPRESS_ZSTD)
        return 300u << 10;
    level = level ? level : 3;
    kib = level <= 2 ? 400 : level <= 5 ? 700 : level <= 12 ? 1100 : 1800;
    return (kib << 10) * scale;
}

/* Threads asked for (0: the online CPUs), capped so that their codecs stay
 * within CODEC_BUDGET: peak memory does not grow with -j. */
static unsigned compress_threads(const qcow2_write_opts *o, uint64_t cs)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o->threads ? o->threads : cpus > 1 ? (unsigned)cpus : 1;
    uint64_t most = CODEC_BUDGET / codec_bytes(o->compression, o->level, cs);
    if (most < 1)
        most = 1;
    return threads < most ? threads : (unsigned)most;
}

int qcow2_writer_create(int fd, const char *name, uint64_t virtual_size,
                        const qcow2_write_opts *opts, qcow2_writer **out, p2v_err *err)
{
    qcow2_write_opts o = opts ? *opts : (qcow2_write_opts){ 0 };
    uint64_t cs = o.cluster_size ? o.cluster_size : 65536;
    int version = o.version ? o.version : 3;
    unsigned cbits = 0;
    qcow2_writer *w = NULL;
    int r;
    name = name ? name : "(qcow2)";

    while (cbits < 32 && (1ULL << cbits) < cs)
        cbits++;
    if ((1ULL << cbits) != cs || cbits < QCOW2_MIN_CLUSTER_BITS || cbits > QCOW2_MAX_CLUSTER_BITS)
        return p2v_errf(err, -EINVAL,
                        "%s: cluster size %llu is not a power of two from 512 B to 2 MiB", name,
                        (unsigned long long)cs);
    if (version != 2 && version != 3)
        return p2v_errf(err, -EINVAL, "%s: qcow2 version %d is not 2 or 3", name, version);
    if (o.compression > QCOW2_COMPRESS_ZSTD)
        return p2v_errf(err, -EINVAL, "%s: unknown compression type %d", name, o.compression);
    int max_level = o.compression == QCOW2_COMPRESS_ZSTD ? QCOW2_ZSTD_MAX_LEVEL : 9;
    if (o.compression != QCOW2_COMPRESS_NONE && (o.level < 0 || o.level > max_level))
        return p2v_errf(err, -EINVAL, "%s: compression level %d is not 1 to %d", name, o.level,
                        max_level);
    if (o.threads > QCOW2_CPOOL_MAX_WORKERS + 1)
        return p2v_errf(err, -EINVAL, "%s: %u compressing threads: at most %u", name, o.threads,
                        QCOW2_CPOOL_MAX_WORKERS + 1);
    if (o.compression == QCOW2_COMPRESS_ZSTD && version == 2)
        return p2v_errf(err, -EINVAL,
                        "%s: zstd compression needs qcow2 version 3 (compat 1.1)", name);
    if (virtual_size > (1ULL << 62))
        return p2v_errf(err, -EFBIG, "%s: virtual size %llu is too large", name,
                        (unsigned long long)virtual_size);
    /* QEMU sees whole 512-byte sectors only (it rounds the size down when it
     * opens an image): round up so that every byte written stays visible. */
    virtual_size = (virtual_size + 511) & ~511ULL;
    unsigned l2_bits = cbits - 3;
    uint64_t vclusters = virtual_size / cs + (virtual_size % cs != 0);
    uint64_t l1 = (vclusters >> l2_bits) + ((vclusters & ((1ULL << l2_bits) - 1)) != 0);
    if (l1 == 0)
        l1 = 1;
    if (virtual_size > (1ULL << 62) || l1 > QCOW2_MAX_L1_BYTES / 8)
        return p2v_errf(err, -EFBIG,
                        "%s: virtual size %llu is too large for %llu-byte clusters (the L1 table "
                        "would exceed 32 MiB)",
                        name, (unsigned long long)virtual_size, (unsigned long long)cs);

    w = calloc(1, sizeof *w);
    if (!w)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", name);
    w->fd = fd;
    w->dfd = -1;
    if (o.direct)
        w->dfd = reopen_fd(fd, O_WRONLY | O_DIRECT); /* -1: not here (tmpfs...) */
    w->name = strdup(name);
    w->vsize = virtual_size;
    w->cbits = cbits;
    w->cs = cs;
    w->version = version;
    w->comp = o.compression;
    w->l1_size = (uint32_t)l1;
    w->l2_bits = l2_bits;
    w->l2 = calloc(l1, sizeof *w->l2);
    w->cbuf = malloc(2 * cs);
    w->tmp = calloc(1, cs);
    bool comp = o.compression != QCOW2_COMPRESS_NONE;
    if (comp) {
        int type = o.compression == QCOW2_COMPRESS_ZSTD ? 1 : 0;
        /* One compressing thread per CPU by default (the caller is one). */
        unsigned threads = compress_threads(&o, cs);
        if ((w->codec = qcow2_codec_new(type)))
            qcow2_codec_set_level(w->codec, o.level);
        w->pool = qcow2_cpool_new(type, o.level, threads - 1);
        w->batch_max = BATCH_BYTES / cs ? BATCH_BYTES / cs : 1;
        w->batch = malloc(w->batch_max * cs);
        w->jobs = calloc(w->batch_max, sizeof *w->jobs);
        w->wc_buf = malloc(WC_BYTES);
    }
    if (!w->name || !w->l2 || !w->cbuf || !w->tmp ||
        (comp && (!w->codec || !w->pool || !w->batch || !w->jobs || !w->wc_buf))) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory", name);
        goto out;
    }
    uint64_t hdr = 0;
    if ((r = alloc_clusters(w, 1, &hdr, err)) < 0)
        goto out;
    /* Version 0 until finish: readers refuse the file if we never get there. */
    put_header(w, w->tmp, 0, 0, 0, 0);
    if ((r = write_at(w, w->tmp, cs, 0, err)) < 0)
        goto out;
    memset(w->tmp, 0, cs);
    *out = w;
    return 0;
out:
    qcow2_writer_free(w);
    return r;
}

static int sync_fd(qcow2_writer *w, p2v_err *err)
{
    if (fdatasync(w->fd) < 0) {
        int e = errno;
        set_failed(w);
        return p2v_errf(err, -e, "%s: fdatasync failed: %s", w->name, strerror(e));
    }
    return 0;
}

static int write_l2_tables(qcow2_writer *w, uint64_t *l1, p2v_err *err)
{
    size_t entries = (size_t)1 << w->l2_bits;
    for (uint32_t i = 0; i < w->l1_size; i++) {
        if (!w->l2[i])
            continue;
        bool any = false;
        for (size_t k = 0; k < entries && !any; k++)
            any = w->l2[i][k] != 0;
        if (!any)
            continue; /* every cluster went back to unallocated */
        uint64_t off = 0;
        int r = alloc_clusters(w, 1, &off, err);
        if (r < 0)
            return r;
        for (size_t k = 0; k < entries; k++)
            put_be64(w->tmp + k * 8, w->l2[i][k]);
        if ((r = write_at(w, w->tmp, w->cs, off, err)) < 0)
            return r;
        l1[i] = off | QCOW2_OFLAG_COPIED;
    }
    return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

/* Refcount blocks and table, sized so that they also count themselves. */
static int write_refcounts(qcow2_writer *w, uint64_t *rt_off, uint32_t *rt_clusters,
                           p2v_err *err)
{
    uint64_t per_block = w->cs / 2; /* 16-bit refcounts */
    uint64_t base = w->next_cluster, nblocks = 0, nrt = 0;
    for (;;) {
        uint64_t total = base + nblocks + nrt;
        uint64_t b = div_up(total, per_block);
        uint64_t t = div_up(b * 8, w->cs);
        if (b == nblocks && t == nrt)
            break;
        nblocks = b;
        nrt = t;
    }
    if (nrt > QCOW2_MAX_REFTABLE_BYTES / w->cs)
        return p2v_errf(err, -EFBIG, "%s: refcount table would exceed 8 MiB", w->name);
    uint64_t blocks_off = 0, table_off = 0;
    int r = alloc_clusters(w, nblocks, &blocks_off, err);
    if (r < 0 || (r = alloc_clusters(w, nrt, &table_off, err)) < 0)
        return r;
    for (uint64_t b = 0; b < nblocks; b++) {
        memset(w->tmp, 0, w->cs);
        for (uint64_t k = 0; k < per_block; k++) {
            uint64_t c = b * per_block + k;
            if (c >= w->next_cluster)
                break;
            put_be16(w->tmp + k * 2, w->ref[c]);
        }
        if ((r = write_at(w, w->tmp, w->cs, blocks_off + (b << w->cbits), err)) < 0)
            return r;
    }
    uint64_t per_cluster = w->cs / 8;
    for (uint64_t t = 0; t < nrt; t++) {
        memset(w->tmp, 0, w->cs);
        for (uint64_t k = 0; k < per_cluster; k++) {
            uint64_t b = t * per_cluster + k;
            if (b >= nblocks)
                break;
            put_be64(w->tmp + k * 8, blocks_off + (b << w->cbits));
        }
        if ((r = write_at(w, w->tmp, w->cs, table_off + (t << w->cbits), err)) < 0)
            return r;
    }
    *rt_off = table_off;
    *rt_clusters = (uint32_t)nrt;
    return 0;
}

int qcow2_writer_finish(qcow2_writer *w, p2v_err *err)
{
    uint64_t *l1 = NULL;
    uint8_t *buf = NULL;
    int r;
    if (has_failed(w) || w->finished)
        return p2v_errf(err, -EINVAL, "%s: finish after %s", w->name,
                        w->finished ? "finish" : "an earlier error");
    w->gather = false;
    for (unsigned i = 0; i < PENDING_MAX; i++)
        if (w->pend[i].used && (r = flush_pending(w, &w->pend[i], err)) < 0)
            goto out;
    if ((r = flush_gather(w, err)) < 0 || (r = flush_combined(w, err)) < 0)
        goto out;
    l1 = calloc(w->l1_size, sizeof *l1);
    uint64_t l1_clusters = div_up((uint64_t)w->l1_size * 8, w->cs);
    buf = calloc(l1_clusters, w->cs);
    if (!l1 || !buf) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory", w->name);
        goto out;
    }
    if ((r = write_l2_tables(w, l1, err)) < 0)
        goto out;
    uint64_t l1_off = 0;
    if ((r = alloc_clusters(w, l1_clusters, &l1_off, err)) < 0)
        goto out;
    for (uint32_t i = 0; i < w->l1_size; i++)
        put_be64(buf + (uint64_t)i * 8, l1[i]);
    if ((r = write_at(w, buf, l1_clusters * w->cs, l1_off, err)) < 0)
        goto out;
    uint64_t rt_off = 0;
    uint32_t rt_clusters = 0;
    if ((r = write_refcounts(w, &rt_off, &rt_clusters, err)) < 0)
        goto out;
    if ((r = sync_fd(w, err)) < 0)
        goto out;
    memset(w->tmp, 0, w->cs);
    put_header(w, w->tmp, (uint32_t)w->version, l1_off, rt_off, rt_clusters);
    /* Only the header fields and the (empty) extension area change in cluster 0. */
    if ((r = write_at(w, w->tmp, QH_V3_LENGTH + 8, 0, err)) < 0)
        goto out;
    if ((r = sync_fd(w, err)) < 0)
        goto out;
    w->finished = true;
out:
    if (r < 0)
        set_failed(w);
    free(l1);
    free(buf);
    return r;
}

void qcow2_writer_free(qcow2_writer *w)
{
    if (!w)
        return;
    if (w->dfd >= 0)
        close(w->dfd);
    if (w->l2)
        for (uint32_t i = 0; i < w->l1_size; i++)
            free(w->l2[i]);
    free(w->l2);
    free(w->ref);
    for (unsigned i = 0; i < PENDING_MAX; i++)
        free(w->pend[i].buf);
    qcow2_codec_free(w->codec);
    qcow2_cpool_free(w->pool);
    free(w->jobs);
    free(w->batch);
    free(w->wc_buf);
    free(w->cbuf);
    free(w->tmp);
    free(w->name);
    free(w);
}
