/* A qcow2 image written front to back, never seeking: to a pipe, a socket,
 * an upload. Every cluster that may be written is known before the first
 * byte goes out (the caller passes the extents: used maps, patches, table
 * sectors), so the whole layout is planned up front:
 *
 *   cluster 0         header
 *   L1 table          l1_clusters
 *   refcount table    rt_clusters
 *   refcount blocks   rb_clusters (16-bit refcounts, all 1 for used clusters)
 *   L2 tables         one per L1 entry that maps data, in guest order
 *   data clusters     one per allocated guest cluster, in guest order
 *
 * The metadata is emitted at once; data follows as writes arrive in guest
 * order. A planned cluster that is never written (or only partly) goes out
 * with zeros where nothing was written; the layout cannot change after the
 * header has left, so such a cluster stays allocated. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"
#include "util/endian.h"

typedef struct cluster_run {
    uint64_t first;     /* guest cluster */
    uint64_t count;
} cluster_run;

struct qcow2_stream {
    qcow2_emit_fn emit;
    void *ctx;
    uint64_t vsize;
    unsigned cbits;
    uint64_t cs;
    cluster_run *runs;
    size_t nruns;
    uint64_t nclusters;     /* data clusters */
    uint64_t *l2_index;     /* L1 indexes that map data, ascending */
    size_t nl2;
    uint64_t l1_size, l1_clusters, rt_clusters, rb_clusters;
    uint64_t l1_off, rt_off, rb_off, l2_off, data_off;
    uint64_t host_clusters;
    uint8_t *buf;           /* one cluster */
    /* data phase: the next planned cluster */
    size_t run;
    uint64_t in_run;
    bool have_cur;          /* buf holds the cluster at (run, in_run), partly written */
    uint64_t emitted;       /* bytes sent */
    bool failed;
};

static uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static int emit(qcow2_stream *s, const void *buf, size_t len, p2v_err *err)
{
    int r = s->emit(s->ctx, buf, len, err);
    if (r < 0) {
        s->failed = true;
        return r;
    }
    s->emitted += len;
    return 0;
}

/* Guest clusters touched by the extents, as sorted runs. */
static int make_runs(qcow2_stream *s, const extent_list *alloc, p2v_err *err)
{
    for (size_t i = 0; i < alloc->count; i++) {
        const extent *e = &alloc->v[i];
        if (e->len == 0)
            continue;
        if (e->start + e->len > s->vsize || e->start + e->len < e->start)
            return p2v_errf(err, -EINVAL, "qcow2 stream: extent at %llu+%llu past the disk end",
                            (unsigned long long)e->start, (unsigned long long)e->len);
        uint64_t first = e->start >> s->cbits, last = (e->start + e->len - 1) >> s->cbits;
        cluster_run *prev = s->nruns ? &s->runs[s->nruns - 1] : NULL;
        if (prev && first < prev->first + prev->count) {
            if (first < prev->first)
                return p2v_errf(err, -EINVAL, "qcow2 stream: extents not sorted");
            if (last >= prev->first + prev->count)
                prev->count = last - prev->first + 1;
            continue;
        }
        if (prev && first == prev->first + prev->count) {
            prev->count += last - first + 1;
            continue;
        }
        cluster_run *n = realloc(s->runs, (s->nruns + 1) * sizeof *n);
        if (!n)
            return p2v_errf(err, -ENOMEM, "out of memory");
        s->runs = n;
        s->runs[s->nruns++] = (cluster_run){ first, last - first + 1 };
    }
    for (size_t i = 0; i < s->nruns; i++)
        s->nclusters += s->runs[i].count;
    return 0;
}

/* The L1 indexes whose L2 table maps at least one data cluster. */
static int make_l2_index(qcow2_stream *s, p2v_err *err)
{
    unsigned l2_bits = s->cbits - 3;
    for (size_t i = 0; i < s->nruns; i++) {
        uint64_t a = s->runs[i].first >> l2_bits;
        uint64_t b = (s->runs[i].first + s->runs[i].count - 1) >> l2_bits;
        for (uint64_t t = a; t <= b; t++) {
            if (s->nl2 && s->l2_index[s->nl2 - 1] == t)
                continue;
            uint64_t *n = realloc(s->l2_index, (s->nl2 + 1) * sizeof *n);
            if (!n)
                return p2v_errf(err, -ENOMEM, "out of memory");
            s->l2_index = n;
            s->l2_index[s->nl2++] = t;
        }
    }
    return 0;
}

/* Place everything; the refcount structures count themselves, so their
 * size is found by iterating to a fixed point. */
static int plan_layout(qcow2_stream *s, p2v_err *err)
{
    uint64_t cs = s->cs, per_rb = cs * 8 / 16;
    s->l1_size = qcow2_l1_entries(s->vsize, s->cbits);
    if (s->l1_size > QCOW2_MAX_L1_BYTES / 8)
        return p2v_errf(err, -EFBIG, "qcow2 stream: the L1 table would exceed 32 MiB");
    s->l1_clusters = div_up(s->l1_size * 8, cs);
    uint64_t base = 1 + s->l1_clusters + s->nl2 + s->nclusters, rb = 0, rt = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t total = base + rb + rt;
        uint64_t nrb = div_up(total, per_rb), nrt = div_up(nrb * 8, cs);
        if (nrb == rb && nrt == rt)
            break;
        rb = nrb;
        rt = nrt;
    }
    if (rt * cs > QCOW2_MAX_REFTABLE_BYTES)
        return p2v_errf(err, -EFBIG, "qcow2 stream: the refcount table would exceed 8 MiB");
    s->rt_clusters = rt;
    s->rb_clusters = rb;
    s->host_clusters = base + rb + rt;
    s->l1_off = cs;
    s->rt_off = s->l1_off + s->l1_clusters * cs;
    s->rb_off = s->rt_off + rt * cs;
    s->l2_off = s->rb_off + rb * cs;
    s->data_off = s->l2_off + s->nl2 * cs;
    if (s->data_off + s->nclusters * cs > QCOW2_MAX_HOST_OFFSET)
        return p2v_errf(err, -EFBIG, "qcow2 stream: image too large");
    return 0;
}

static int emit_header(qcow2_stream *s, p2v_err *err)
{
    memset(s->buf, 0, s->cs);
    qcow2_header_fields f = { .version = 3, .cluster_bits = s->cbits, .size = s->vsize,
                              .l1_size = (uint32_t)s->l1_size, .l1_offset = s->l1_off,
                              .refcount_table_offset = s->rt_off,
                              .refcount_table_clusters = (uint32_t)s->rt_clusters };
    qcow2_header_encode(s->buf, &f);
    return emit(s, s->buf, s->cs, err);
}

/* Table of 8-byte entries spread over n clusters; entry(i) gives each. */
static int emit_table(qcow2_stream *s, uint64_t nclusters, uint64_t first_entry,
                      uint64_t (*entry)(qcow2_stream *, uint64_t, void *), void *ectx,
                      p2v_err *err)
{
    uint64_t per = s->cs / 8;
    for (uint64_t c = 0; c < nclusters; c++) {
        for (uint64_t k = 0; k < per; k++)
            put_be64(s->buf + k * 8, entry(s, first_entry + c * per + k, ectx));
        int r = emit(s, s->buf, s->cs, err);
        if (r < 0)
            return r;
    }
    return 0;
}

struct l1_cursor {
    size_t next;        /* into l2_index */
};

static uint64_t l1_entry(qcow2_stream *s, uint64_t i, void *ctx)
{
    struct l1_cursor *c = ctx;
    if (c->next < s->nl2 && s->l2_index[c->next] == i)
        return (s->l2_off + c->next++ * s->cs) | QCOW2_OFLAG_COPIED;
    return 0;
}

static uint64_t rt_entry(qcow2_stream *s, uint64_t i, void *ctx)
{
    (void)ctx;
    return i < s->rb_clusters ? s->rb_off + i * s->cs : 0;
}

/* Data clusters before guest cluster vc, while walking forward. */
struct l2_cursor {
    size_t run;
    uint64_t before;    /* data clusters in runs before `run` */
};

static uint64_t l2_entry(qcow2_stream *s, uint64_t vc, void *ctx)
{
    struct l2_cursor *c = ctx;
    while (c->run < s->nruns && vc >= s->runs[c->run].first + s->runs[c->run].count)
        c->before += s->runs[c->run++].count;
    if (c->run == s->nruns || vc < s->runs[c->run].first)
        return 0;
    uint64_t ordinal = c->before + (vc - s->runs[c->run].first);
    return (s->data_off + ordinal * s->cs) | QCOW2_OFLAG_COPIED;
}

static int emit_refblocks(qcow2_stream *s, p2v_err *err)
{
    uint64_t per = s->cs / 2;
    for (uint64_t c = 0; c < s->rb_clusters; c++) {
        for (uint64_t k = 0; k < per; k++)
            put_be16(s->buf + k * 2, c * per + k < s->host_clusters ? 1 : 0);
        int r = emit(s, s->buf, s->cs, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int emit_metadata(qcow2_stream *s, p2v_err *err)
{
    struct l1_cursor l1c = { 0 };
    struct l2_cursor l2c = { 0 };
    int r;
    if ((r = emit_header(s, err)) < 0 ||
        (r = emit_table(s, s->l1_clusters, 0, l1_entry, &l1c, err)) < 0 ||
        (r = emit_table(s, s->rt_clusters, 0, rt_entry, NULL, err)) < 0 ||
        (r = emit_refblocks(s, err)) < 0)
        return r;
    uint64_t per = s->cs / 8;
    for (size_t t = 0; t < s->nl2; t++)
        if ((r = emit_table(s, 1, s->l2_index[t] * per, l2_entry, &l2c, err)) < 0)
            return r;
    return 0;
}

int qcow2_stream_create(uint64_t virtual_size, uint32_t cluster_size, const extent_list *alloc,
                        qcow2_emit_fn emit_fn, void *ctx, qcow2_stream **out, p2v_err *err)
{
    unsigned cbits = 0;
    uint64_t cs = cluster_size ? cluster_size : 65536;
    *out = NULL;
    while (cbits < 32 && (1ULL << cbits) < cs)
        cbits++;
    if ((1ULL << cbits) != cs || cbits < QCOW2_MIN_CLUSTER_BITS || cbits > QCOW2_MAX_CLUSTER_BITS)
        return p2v_errf(err, -EINVAL, "qcow2 stream: cluster size %llu is not a power of two "
                                      "from 512 B to 2 MiB", (unsigned long long)cs);
    if (virtual_size > (1ULL << 62))
        return p2v_errf(err, -EFBIG, "qcow2 stream: virtual size too large");
    qcow2_stream *s = calloc(1, sizeof *s);
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    *s = (qcow2_stream){ .emit = emit_fn, .ctx = ctx, .vsize = (virtual_size + 511) & ~511ULL,
                         .cbits = cbits, .cs = cs };
    int r;
    if (!(s->buf = malloc(cs)))
        r = p2v_errf(err, -ENOMEM, "out of memory");
    else if ((r = make_runs(s, alloc, err)) == 0 && (r = make_l2_index(s, err)) == 0 &&
             (r = plan_layout(s, err)) == 0)
        r = emit_metadata(s, err);
    if (r < 0) {
        qcow2_stream_free(s);
        return r;
    }
    *out = s;
    return 0;
}

/* Is guest cluster vc one of the planned clusters? */
static bool is_planned(const qcow2_stream *s, uint64_t vc)
{
    size_t lo = 0, hi = s->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vc < s->runs[mid].first)
            hi = mid;
        else if (vc >= s->runs[mid].first + s->runs[mid].count)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static bool planned_left(const qcow2_stream *s) { return s->run < s->nruns; }
static uint64_t planned_vc(const qcow2_stream *s) { return s->runs[s->run].first + s->in_run; }

static int emit_current(qcow2_stream *s, p2v_err *err)
{
    int r = emit(s, s->buf, s->cs, err);
    if (r < 0)
        return r;
    s->have_cur = false;
    if (++s->in_run == s->runs[s->run].count) {
        s->run++;
        s->in_run = 0;
    }
    return 0;
}

/* Send every planned cluster before vc (zeros where nothing was written). */
static int advance_to(qcow2_stream *s, uint64_t vc, p2v_err *err)
{
    while (planned_left(s) && planned_vc(s) < vc) {
        if (!s->have_cur)
            memset(s->buf, 0, s->cs);
        int r = emit_current(s, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int qcow2_stream_write(qcow2_stream *s, const void *buf, size_t len, uint64_t offset,
                       p2v_err *err)
{
    const uint8_t *p = buf;
    if (s->failed)
        return p2v_errf(err, -EIO, "qcow2 stream: an earlier write failed");
    while (len) {
        uint64_t vc = offset >> s->cbits, in = offset & (s->cs - 1);
        size_t n = len < s->cs - in ? len : (size_t)(s->cs - in);
        int r = advance_to(s, vc, err);
        if (r < 0)
            return r;
        if (!planned_left(s) || planned_vc(s) != vc)
            return p2v_errf(err, -EINVAL,
                            "qcow2 stream: write at byte %llu is %s", (unsigned long long)offset,
                            is_planned(s, vc)
                                ? "behind data already sent (a stream cannot go back)"
                                : "outside the planned extents");
        if (!s->have_cur) {
            memset(s->buf, 0, s->cs);
            s->have_cur = true;
        }
        memcpy(s->buf + in, p, n);
        p += n;
        offset += n;
        len -= n;
    }
    return 0;
}

int qcow2_stream_finish(qcow2_stream *s, p2v_err *err)
{
    if (s->failed)
        return p2v_errf(err, -EIO, "qcow2 stream: an earlier write failed");
    return advance_to(s, UINT64_MAX, err);
}

uint64_t qcow2_stream_bytes(const qcow2_stream *s) { return s->emitted; }

uint64_t qcow2_stream_total_bytes(const qcow2_stream *s)
{
    return s->data_off + s->nclusters * s->cs;
}

void qcow2_stream_free(qcow2_stream *s)
{
    if (!s)
        return;
    free(s->runs);
    free(s->l2_index);
    free(s->buf);
    free(s);
}
