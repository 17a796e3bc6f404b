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

#include "qcow2/writer_impl.h"
#include "util/endian.h"
#include "util/io.h"

/* The header through header.c's encoder, the one stream.c uses too. At
 * create the version field says 0 (the rest as it will be), so that an
 * image whose finish never came is refused. */
static void put_header(const qcow2_writer *w, uint8_t *h, bool final, uint64_t l1_off,
                       uint64_t rt_off, uint32_t rt_clusters)
{
    qcow2_header_fields f = {
        .version = (uint32_t)w->version,
        .cluster_bits = w->cbits,
        .size = w->vsize,
        .l1_size = w->l1_size,
        .l1_offset = l1_off,
        .refcount_table_offset = rt_off,
        .refcount_table_clusters = rt_clusters,
        .compression_type = w->comp == QCOW2_COMPRESS_ZSTD ? 1 : 0,
    };
    qcow2_header_encode(h, &f);
    if (!final)
        put_be32(h + QH_VERSION, 0);
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
    uint64_t l1 = qcow2_l1_entries(virtual_size, cbits);
    if (virtual_size > (1ULL << 62) || l1 > QCOW2_MAX_L1_BYTES / 8)
        return p2v_errf(err, -EFBIG,
                        "%s: virtual size %llu is too large for %llu-byte clusters (the L1 table "
                        "would exceed 32 MiB)",
                        name, (unsigned long long)virtual_size, (unsigned long long)cs);

    w = calloc(1, sizeof *w);
    if (!w)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", name);
    w->fd = fd;
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
    if ((r = qw_alloc_clusters(w, 1, &hdr, err)) < 0)
        goto out;
    /* Version 0 until finish: readers refuse the file if we never get there. */
    put_header(w, w->tmp, false, 0, 0, 0);
    if ((r = qw_write_at(w, w->tmp, cs, 0, err)) < 0)
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
        int r = qw_alloc_clusters(w, 1, &off, err);
        if (r < 0)
            return r;
        for (size_t k = 0; k < entries; k++)
            put_be64(w->tmp + k * 8, w->l2[i][k]);
        if ((r = qw_write_at(w, w->tmp, w->cs, off, err)) < 0)
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
    int r = qw_alloc_clusters(w, nblocks, &blocks_off, err);
    if (r < 0 || (r = qw_alloc_clusters(w, nrt, &table_off, err)) < 0)
        return r;
    for (uint64_t b = 0; b < nblocks; b++) {
        memset(w->tmp, 0, w->cs);
        for (uint64_t k = 0; k < per_block; k++) {
            uint64_t c = b * per_block + k;
            if (c >= w->next_cluster)
                break;
            put_be16(w->tmp + k * 2, w->ref[c]);
        }
        if ((r = qw_write_at(w, w->tmp, w->cs, blocks_off + (b << w->cbits), err)) < 0)
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
        if ((r = qw_write_at(w, w->tmp, w->cs, table_off + (t << w->cbits), err)) < 0)
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
        if (w->pend[i].used && (r = qw_flush_pending(w, &w->pend[i], err)) < 0)
            goto out;
    if ((r = qw_flush_gather(w, err)) < 0 || (r = qw_flush_combined(w, err)) < 0)
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
    if ((r = qw_alloc_clusters(w, l1_clusters, &l1_off, err)) < 0)
        goto out;
    for (uint32_t i = 0; i < w->l1_size; i++)
        put_be64(buf + (uint64_t)i * 8, l1[i]);
    if ((r = qw_write_at(w, buf, l1_clusters * w->cs, l1_off, err)) < 0)
        goto out;
    uint64_t rt_off = 0;
    uint32_t rt_clusters = 0;
    if ((r = write_refcounts(w, &rt_off, &rt_clusters, err)) < 0)
        goto out;
    if ((r = sync_fd(w, err)) < 0)
        goto out;
    memset(w->tmp, 0, w->cs);
    put_header(w, w->tmp, true, l1_off, rt_off, rt_clusters);
    /* Only the header fields and the (empty) extension area change in cluster 0. */
    if ((r = qw_write_at(w, w->tmp, QH_V3_LENGTH + 8, 0, err)) < 0)
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
