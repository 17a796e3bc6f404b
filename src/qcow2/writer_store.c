/* The qcow2 writer's guest clusters: host clusters and bytes allocated
 * append-only with their refcounts, L2 entries kept in memory, whole
 * clusters stored (compressed when asked), partial ones merged in a few
 * pending buffers, and the fast paths for runs of whole clusters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2/writer_impl.h"
#include "util/zero.h"

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
int qw_alloc_clusters(qcow2_writer *w, uint64_t n, uint64_t *off, p2v_err *err)
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
        return qw_write_at(w, data, w->cs, e & QCOW2_L2E_OFFSET_MASK, err);
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
            if ((r = qw_write_combined(w, cdata, (size_t)clen, off, err)) < 0)
                return r;
            uint64_t nsec = ((off + (uint64_t)clen - 1) >> 9) - (off >> 9) + 1;
            *slot = QCOW2_OFLAG_COMPRESSED | ((nsec - 1) << qcow2_csize_shift(w->cbits)) | off;
            w->allocated += nsec * 512;
            return 0;
        }
    }
    uint64_t host = 0;
    if ((r = qw_alloc_clusters(w, 1, &host, err)) < 0)
        return r;
    *slot = host | QCOW2_OFLAG_COPIED;
    w->allocated += w->cs;
    return qw_write_at(w, data, w->cs, host, err);
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
        return qw_read_at(w, buf, w->cs, e & QCOW2_L2E_OFFSET_MASK, err);
    if (!is_compressed(e)) {
        memset(buf, 0, w->cs);
        return 0;
    }
    uint64_t start, len, off;
    compressed_span(w, e, &start, &len, &off);
    size_t n = (size_t)(start + len - off);
    int r = qw_read_at(w, w->cbuf, n, off, err);
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

int qw_flush_pending(qcow2_writer *w, struct pending *p, p2v_err *err)
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
        if ((r = qw_flush_pending(w, old, err)) < 0)
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
            return qw_write_at(w, buf, n, (e & QCOW2_L2E_OFFSET_MASK) + in, err);
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
        return qw_flush_pending(w, p, err);
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
    int r = qw_alloc_clusters(w, n, &host, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        uint64_t *slot = NULL;
        if ((r = l2_slot(w, vc + i, &slot, err)) < 0)
            return r;
        *slot = (host + ((uint64_t)i << w->cbits)) | QCOW2_OFLAG_COPIED;
    }
    w->allocated += (uint64_t)n << w->cbits;
    if ((r = qw_write_data(w, buf, n << w->cbits, host, err)) < 0)
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
