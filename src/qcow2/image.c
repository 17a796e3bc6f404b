/* qcow2 image parsing: header, extensions, L1 table, and cluster lookup.
 * Every value from the file is checked before it sizes an allocation or
 * addresses a read: a hostile file gets a clear error, never a crash. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_image.h"
#include "util/endian.h"
#include "util/iowalk.h"

#define INVALID(...) p2v_errf(err, -EINVAL, __VA_ARGS__)

static int read_file(qcow2_image *img, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    return bd_pread(img->file, buf, len, off, err);
}

/* Read that may run past the end of the file: the missing part reads as zero
 * (as QEMU's file driver does). */
int qcow2_read_zero_past_eof(qcow2_image *img, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    uint64_t fsize = bd_size(img->file);
    if (off >= fsize) {
        memset(buf, 0, len);
        return 0;
    }
    size_t n = fsize - off < len ? (size_t)(fsize - off) : len;
    memset((uint8_t *)buf + n, 0, len - n);
    return read_file(img, buf, n, off, err);
}

/* A table [off, off+len) must be cluster aligned and inside the file. */
static int check_table(qcow2_image *img, const char *what, uint64_t off, uint64_t len,
                       p2v_err *err)
{
    uint64_t end;
    if (off & (img->cs - 1))
        return INVALID("%s: %s offset 0x%" PRIx64 " is not aligned to the cluster size %" PRIu64,
                       img->path, what, off, img->cs);
    if (__builtin_add_overflow(off, len, &end) || (end > bd_size(img->file) && !img->lenient))
        return INVALID("%s: %s at offset 0x%" PRIx64 " (%" PRIu64
                       " bytes) lies outside the file (%" PRIu64 " bytes)",
                       img->path, what, off, len, bd_size(img->file));
    if (len && off < img->cs && !img->lenient)
        return INVALID("%s: %s at offset 0x%" PRIx64 " overlaps the header cluster", img->path,
                       what, off);
    return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

static int parse_extensions(qcow2_image *img, const uint8_t *c0, uint64_t start, uint64_t end,
                            p2v_err *err)
{
    uint64_t off = start;
    while (off + 8 <= end) {
        uint32_t type = get_be32(c0 + off), len = get_be32(c0 + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (len > end - off)
            return INVALID("%s: header extension 0x%08x at offset %" PRIu64
                           " has length %u, past the end of the header cluster",
                           img->path, type, off - 8, len);
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            if (len >= sizeof img->info.backing_format)
                return INVALID("%s: backing format name of %u bytes is too long", img->path, len);
            memcpy(img->info.backing_format, c0 + off, len);
            img->info.backing_format[len] = 0;
        } else if (type == QCOW2_EXT_DATA_FILE) {
            img->has_data_file_ext = true;
        }
        off += (len + 7ULL) & ~7ULL;
    }
    return 0;
}

static int parse_header(qcow2_image *img, const uint8_t *h, size_t hlen, p2v_err *err)
{
    qcow2_info *in = &img->info;
    if (hlen < QH_V2_LENGTH || memcmp(h, QCOW2_MAGIC, 4) != 0)
        return INVALID("%s: not a qcow2 image (no QFI\\xfb magic)", img->path);
    in->version = get_be32(h + QH_VERSION);
    if (in->version == 0)
        return INVALID("%s: the qcow2 header was never completed (version 0): the writer was "
                       "interrupted, the image is unusable", img->path);
    if (in->version != 2 && in->version != 3)
        return p2v_errf(err, -ENOTSUP, "%s: unsupported qcow2 version %u", img->path,
                        in->version);
    in->cluster_bits = get_be32(h + QH_CLUSTER_BITS);
    if (in->cluster_bits < QCOW2_MIN_CLUSTER_BITS || in->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return INVALID("%s: cluster_bits %u outside 9..21 (512 B to 2 MiB)", img->path,
                       in->cluster_bits);
    img->cbits = in->cluster_bits;
    img->cs = in->cluster_size = 1ULL << in->cluster_bits;
    img->l2_bits = img->cbits - 3;
    in->virtual_size = get_be64(h + QH_SIZE);
    if (in->virtual_size > (1ULL << 62))
        return INVALID("%s: virtual size %" PRIu64 " is too large", img->path, in->virtual_size);
    if (get_be32(h + QH_CRYPT) != 0)
        return p2v_errf(err, -ENOTSUP, "%s: encrypted qcow2 images are not supported",
                        img->path);
    in->l1_size = get_be32(h + QH_L1_SIZE);
    in->l1_offset = get_be64(h + QH_L1_OFFSET);
    in->refcount_table_offset = get_be64(h + QH_REFTABLE_OFFSET);
    in->refcount_table_clusters = get_be32(h + QH_REFTABLE_CLUSTERS);
    in->nb_snapshots = get_be32(h + QH_NB_SNAPSHOTS);
    img->snapshots_offset = get_be64(h + QH_SNAPSHOTS_OFFSET);
    in->refcount_bits = 16;
    img->header_length = QH_V2_LENGTH;
    if (in->version == 3) {
        if (hlen < QH_V3_MIN_LENGTH)
            return INVALID("%s: truncated version 3 header", img->path);
        in->incompatible = get_be64(h + QH_INCOMPAT);
        in->compatible = get_be64(h + QH_COMPAT);
        in->autoclear = get_be64(h + QH_AUTOCLEAR);
        uint32_t order = get_be32(h + QH_REFCOUNT_ORDER);
        if (order > 6)
            return INVALID("%s: refcount_order %u is larger than 6", img->path, order);
        in->refcount_bits = 1u << order;
        img->header_length = get_be32(h + QH_HEADER_LENGTH);
        if (img->header_length < QH_V3_MIN_LENGTH || img->header_length % 8 ||
            img->header_length > img->cs)
            return INVALID("%s: header_length %" PRIu64 " is invalid (at least 104, a multiple "
                           "of 8, within the first cluster)", img->path, img->header_length);
        if (img->header_length > QH_COMPRESSION_TYPE && hlen > QH_COMPRESSION_TYPE)
            in->compression_type = h[QH_COMPRESSION_TYPE];
    }
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
                     QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;
    if (in->incompatible & ~known)
        return p2v_errf(err, -ENOTSUP, "%s: unknown incompatible feature bits 0x%" PRIx64,
                        img->path, in->incompatible & ~known);
    if (in->incompatible & QCOW2_INCOMPAT_DATA_FILE)
        return p2v_errf(err, -ENOTSUP, "%s: images with an external data file are not supported",
                        img->path);
    bool ctype_bit = (in->incompatible & QCOW2_INCOMPAT_COMPRESSION) != 0;
    if (ctype_bit != (in->compression_type != 0))
        return INVALID("%s: compression type %d disagrees with the compression feature bit",
                       img->path, in->compression_type);
    if (in->compression_type > 1)
        return p2v_errf(err, -ENOTSUP, "%s: unknown compression type %d", img->path,
                        in->compression_type);
    in->dirty = (in->incompatible & QCOW2_INCOMPAT_DIRTY) != 0;
    in->corrupt = (in->incompatible & QCOW2_INCOMPAT_CORRUPT) != 0;
    in->extended_l2 = (in->incompatible & QCOW2_INCOMPAT_EXTL2) != 0;
    in->lazy_refcounts = (in->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    return 0;
}

static int validate_layout(qcow2_image *img, const uint8_t *c0, p2v_err *err)
{
    qcow2_info *in = &img->info;
    int r;
    /* Backing file name: inside the first cluster, at most 1023 bytes. */
    uint64_t boff = get_be64(c0 + QH_BACKING_OFFSET);
    uint32_t blen = get_be32(c0 + QH_BACKING_SIZE);
    uint64_t ext_end = img->cs;
    if (boff) {
        if (blen > QCOW2_MAX_BACKING_NAME || boff > img->cs || blen > img->cs - boff)
            return INVALID("%s: backing file name (offset %" PRIu64 ", %u bytes) is invalid: it "
                           "must lie in the first cluster and be at most 1023 bytes",
                           img->path, boff, blen);
        memcpy(in->backing_file, c0 + boff, blen);
        in->backing_file[blen] = 0;
        if (strlen(in->backing_file) != blen)
            return INVALID("%s: backing file name contains a NUL byte", img->path);
        ext_end = boff;
    }
    if (img->header_length <= ext_end &&
        (r = parse_extensions(img, c0, img->header_length, ext_end, err)) < 0)
        return r;

    /* L1: within QEMU's 32 MiB limit, large enough for the virtual size. */
    if ((uint64_t)in->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return INVALID("%s: L1 table of %u entries exceeds the 32 MiB limit", img->path,
                       in->l1_size);
    uint64_t vclusters = (in->virtual_size >> img->cbits) +
                         ((in->virtual_size & (img->cs - 1)) != 0);
    uint64_t need = (vclusters >> img->l2_bits) +
                    ((vclusters & ((1ULL << img->l2_bits) - 1)) != 0);
    if (need > in->l1_size)
        return INVALID("%s: L1 table of %u entries is too small for the virtual size %" PRIu64
                       " (needs %" PRIu64 ")", img->path, in->l1_size, in->virtual_size, need);
    if ((r = check_table(img, "L1 table", in->l1_offset, (uint64_t)in->l1_size * 8, err)) < 0)
        return r;
    /* Refcount table: within 8 MiB, inside the file. */
    uint64_t rt_bytes = (uint64_t)in->refcount_table_clusters << img->cbits;
    if (rt_bytes > QCOW2_MAX_REFTABLE_BYTES)
        return INVALID("%s: refcount table of %u clusters exceeds the 8 MiB limit", img->path,
                       in->refcount_table_clusters);
    /* A check reports what such an image lacks (every cluster unreferenced),
     * as qemu-img does; nothing else can use it. */
    if (in->refcount_table_clusters == 0 && !img->lenient)
        return INVALID("%s: the image has no refcount table", img->path);
    if ((r = check_table(img, "refcount table", in->refcount_table_offset, rt_bytes, err)) < 0)
        return r;
    if (!img->lenient && overlaps(in->l1_offset, (uint64_t)in->l1_size * 8, in->refcount_table_offset, rt_bytes))
        return INVALID("%s: the L1 table (0x%" PRIx64 ") and the refcount table (0x%" PRIx64
                       ") overlap", img->path, in->l1_offset, in->refcount_table_offset);
    /* Snapshots: count and table position (their content is read by check). */
    if (in->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return INVALID("%s: %u snapshots exceed the limit of 65536", img->path,
                       in->nb_snapshots);
    if (in->nb_snapshots &&
        (r = check_table(img, "snapshot table", img->snapshots_offset, 40ULL * in->nb_snapshots,
                         err)) < 0)
        return r;
    return 0;
}

static int load_l1(qcow2_image *img, p2v_err *err)
{
    /* Only the part inside the file is held (lenient mode lets the table run
     * past the end; those entries read as zero): memory stays bounded by the
     * file's size. */
    uint64_t fsize = bd_size(img->file), off = img->info.l1_offset;
    uint32_t n = img->info.l1_size;
    if (off >= fsize)
        n = 0;
    else if ((uint64_t)n * 8 > fsize - off)
        n = (uint32_t)((fsize - off + 7) / 8);
    img->l1_loaded = n;
    uint8_t *raw = NULL;
    int r = 0;
    img->l1 = calloc(n ? n : 1, sizeof *img->l1);
    raw = malloc(n ? (size_t)n * 8 : 1);
    if (!img->l1 || !raw) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory for the L1 table", img->path);
        goto out;
    }
    if (n && (r = qcow2_read_zero_past_eof(img, raw, (size_t)n * 8, img->info.l1_offset, err)) < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++)
        img->l1[i] = get_be64(raw + (size_t)i * 8);
out:
    free(raw);
    return r;
}

int qcow2_image_open_bd(blockdev *file, unsigned flags, qcow2_image **out, p2v_err *err)
{
    qcow2_image *img = calloc(1, sizeof *img);
    uint8_t *c0 = NULL;
    int r;
    if (!img) {
        bd_close(file);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    img->file = file;
    img->lenient = (flags & QCOW2_OPEN_CHECK) != 0;
    img->path = bd_path(file);
    img->info.file_size = bd_size(file);
    uint8_t h[QH_V3_LENGTH] = { 0 };
    size_t hlen = bd_size(file) < sizeof h ? (size_t)bd_size(file) : sizeof h;
    if ((r = read_file(img, h, hlen, 0, err)) < 0 || (r = parse_header(img, h, hlen, err)) < 0)
        goto out;
    c0 = calloc(1, img->cs);
    if (!c0) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory", img->path);
        goto out;
    }
    if ((r = qcow2_read_zero_past_eof(img, c0, img->cs, 0, err)) < 0 ||
        (r = validate_layout(img, c0, err)) < 0 || (r = load_l1(img, err)) < 0)
        goto out;
    img->codec = qcow2_codec_new(img->info.compression_type);
    img->cbuf = malloc(2 * img->cs + 512);
    img->cluster = malloc(img->cs);
    if (!img->codec || !img->cbuf || !img->cluster) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory", img->path);
        goto out;
    }
    img->cached_vc = UINT64_MAX;
    *out = img;
    free(c0);
    return 0;
out:
    free(c0);
    qcow2_image_close(img);
    return r;
}

int qcow2_image_open(const char *path, unsigned flags, qcow2_image **out, p2v_err *err)
{
    blockdev *file;
    int r = bd_open_raw(path, &file, err);
    if (r < 0)
        return r;
    return qcow2_image_open_bd(file, flags, out, err);
}

const qcow2_info *qcow2_image_info(const qcow2_image *img) { return &img->info; }

void qcow2_image_close(qcow2_image *img)
{
    if (!img)
        return;
    for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
        free(img->l2c[i].table);
    free(img->l1);
    free(img->cbuf);
    free(img->cluster);
    qcow2_codec_free(img->codec);
    bd_close(img->file);
    free(img);
}

/* The L2 table at off (cached), entries in host order. */
static int get_l2(qcow2_image *img, uint64_t off, const uint64_t **table, p2v_err *err)
{
    struct qcow2_l2_cache *slot = NULL;
    size_t n = (size_t)1 << img->l2_bits;
    for (unsigned i = 0; i < QCOW2_L2_CACHE; i++) {
        if (img->l2c[i].table && img->l2c[i].off == off) {
            img->l2c[i].stamp = ++img->tick;
            *table = img->l2c[i].table;
            return 0;
        }
        if (!slot || !img->l2c[i].table || (slot->table && img->l2c[i].stamp < slot->stamp))
            slot = &img->l2c[i];
    }
    if (off & (img->cs - 1))
        return INVALID("%s: L2 table offset 0x%" PRIx64 " is not cluster aligned (corrupt L1 "
                       "entry)", img->path, off);
    if (off < img->cs || off >= bd_size(img->file))
        return INVALID("%s: L2 table offset 0x%" PRIx64 " lies outside the file (%" PRIu64
                       " bytes)", img->path, off, bd_size(img->file));
    if (!slot->table && !(slot->table = malloc(n * 8)))
        return p2v_errf(err, -ENOMEM, "%s: out of memory", img->path);
    slot->off = UINT64_MAX;
    int r = qcow2_read_zero_past_eof(img, slot->table, n * 8, off, err);
    if (r < 0)
        return r;
    uint8_t *raw = (uint8_t *)slot->table;
    for (size_t i = 0; i < n; i++)
        slot->table[i] = get_be64(raw + i * 8);
    slot->off = off;
    slot->stamp = ++img->tick;
    *table = slot->table;
    return 0;
}

int qcow2_image_cluster(qcow2_image *img, uint64_t vc, qcow2_cluster *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    out->kind = QCOW2_CLUSTER_UNALLOCATED;
    if (img->info.extended_l2)
        return p2v_errf(err, -ENOTSUP, "%s: extended L2 entries (subclusters) are not supported",
                        img->path);
    uint64_t l1i = vc >> img->l2_bits;
    if (l1i >= img->l1_loaded)
        return 0;
    uint64_t l2off = img->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
    if (!l2off)
        return 0;
    const uint64_t *t = NULL;
    int r = get_l2(img, l2off, &t, err);
    if (r < 0)
        return r;
    uint64_t e = t[vc & ((1ULL << img->l2_bits) - 1)];
    if (e & QCOW2_OFLAG_COMPRESSED) {
        uint64_t off = e & qcow2_coffset_mask(img->cbits);
        uint64_t nsec = ((e >> qcow2_csize_shift(img->cbits)) & qcow2_csize_mask(img->cbits)) + 1;
        out->kind = QCOW2_CLUSTER_COMPRESSED;
        out->host_offset = off;
        out->csize = nsec * 512 - (off & 511);
        return 0;
    }
    uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
    if (e & QCOW2_OFLAG_ZERO)
        out->kind = QCOW2_CLUSTER_ZERO;
    else if (host)
        out->kind = QCOW2_CLUSTER_NORMAL;
    out->host_offset = host;
    return 0;
}

static int read_compressed(qcow2_image *img, uint64_t vc, const qcow2_cluster *c, p2v_err *err)
{
    if (img->cached_vc == vc)
        return 0;
    uint64_t fsize = bd_size(img->file);
    if (c->host_offset >= fsize || c->host_offset < img->cs)
        return INVALID("%s: compressed guest cluster %" PRIu64 " points at 0x%" PRIx64
                       ", outside the file (%" PRIu64 " bytes)", img->path, vc, c->host_offset,
                       fsize);
    size_t n = c->csize <= 2 * img->cs + 512 ? (size_t)c->csize : 2 * img->cs + 512;
    int r = qcow2_read_zero_past_eof(img, img->cbuf, n, c->host_offset, err);
    if (r < 0)
        return r;
    img->cached_vc = UINT64_MAX;
    if (qcow2_codec_decompress(img->codec, img->cluster, img->cs, img->cbuf, n) < 0)
        return p2v_errf(err, -EIO, "%s: compressed guest cluster %" PRIu64 " at 0x%" PRIx64
                        " does not decompress (%s)", img->path, vc, c->host_offset,
                        img->info.compression_type ? "zstd" : "zlib");
    img->cached_vc = vc;
    return 0;
}

int qcow2_image_read_cluster_part(qcow2_image *img, uint64_t vc, const qcow2_cluster *c,
                                  void *buf, size_t len, uint64_t in, p2v_err *err)
{
    int r;
    switch (c->kind) {
    case QCOW2_CLUSTER_NORMAL:
        if (c->host_offset & (img->cs - 1))
            return INVALID("%s: guest cluster %" PRIu64 " maps to unaligned offset 0x%" PRIx64,
                           img->path, vc, c->host_offset);
        if (c->host_offset < img->cs || c->host_offset + in + len > bd_size(img->file))
            return INVALID("%s: guest cluster %" PRIu64 " maps to 0x%" PRIx64
                           ", outside the file (%" PRIu64 " bytes)",
                           img->path, vc, c->host_offset, bd_size(img->file));
        return read_file(img, buf, len, c->host_offset + in, err);
    case QCOW2_CLUSTER_COMPRESSED:
        if ((r = read_compressed(img, vc, c, err)) < 0)
            return r;
        memcpy(buf, img->cluster + in, len);
        return 0;
    default:
        memset(buf, 0, len);
        return 0;
    }
}

/* Unallocated clusters read from the backing layer; past its end (a shorter
 * backing file) they read as zeros. */
static int read_backing(blockdev *backing, uint8_t *buf, size_t len, uint64_t off,
                        p2v_err *err)
{
    uint64_t bsize = backing ? bd_size(backing) : 0;
    if (off >= bsize) {
        memset(buf, 0, len);
        return 0;
    }
    size_t n = bsize - off < len ? (size_t)(bsize - off) : len;
    memset(buf + n, 0, len - n);
    return bd_pread(backing, buf, n, off, err);
}

/* A read being walked cluster run by cluster run (io_walk). */
struct image_read {
    qcow2_image *img;
    blockdev *backing;
    uint8_t *buf;
};

/* One piece of a read: a cluster and the ones stored right after it, read
 * in one call. */
static int64_t read_piece(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err)
{
    const struct image_read *rd = ctx;
    qcow2_image *img = rd->img;
    uint8_t *p = rd->buf + at;
    uint64_t vc = off >> img->cbits, in = off & (img->cs - 1);
    size_t n = img->cs - in < len ? (size_t)(img->cs - in) : len;
    qcow2_cluster c;
    int r = qcow2_image_cluster(img, vc, &c, err);
    if (r < 0)
        return r;
    /* Extend over following clusters stored right after this one. */
    if (c.kind == QCOW2_CLUSTER_NORMAL) {
        while (n < len) {
            qcow2_cluster next;
            if ((r = qcow2_image_cluster(img, vc + 1, &next, err)) < 0)
                return r;
            if (next.kind != QCOW2_CLUSTER_NORMAL ||
                next.host_offset != c.host_offset + in + n)
                break;
            size_t more = img->cs < len - n ? (size_t)img->cs : len - n;
            n += more;
            vc++;
        }
        vc = off >> img->cbits;
    }
    if (c.kind == QCOW2_CLUSTER_UNALLOCATED && rd->backing)
        r = read_backing(rd->backing, p, n, off, err);
    else
        r = qcow2_image_read_cluster_part(img, vc, &c, p, n, in, err);
    return r < 0 ? r : (int64_t)n;
}

int qcow2_image_pread(qcow2_image *img, blockdev *backing, void *buf, size_t len, uint64_t off,
                      p2v_err *err)
{
    struct image_read rd = { .img = img, .backing = backing, .buf = buf };
    return io_walk(off, len, read_piece, &rd, err);
}
