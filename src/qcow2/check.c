/* qcow2 consistency check: rebuild every host cluster's reference count
 * from the header, the L1/L2 tables (active and snapshots), the snapshot
 * table and the refcount structures, then compare with the stored refcounts
 * and the COPIED flags. Problems are classified as qemu-img check does:
 * stored refcount below the computed one, misalignment, references past the
 * end of the file and wrong COPIED flags are corruptions; stored refcount
 * above the computed one is a leak. Reads past the end of the file return
 * zeros, as they do in QEMU. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_image.h"
#include "util/endian.h"

#define MAX_SNAPSHOT_EXTRA 1024u
#define MAX_SNAPSHOT_TABLE (64u * 1024 * 1024)

struct checker {
    qcow2_image *img;
    qcow2_check_result *res;
    uint64_t fsize;
    uint16_t *refs; /* computed, saturating at 0xffff */
    uint64_t nrefs;
    uint64_t next_contiguous;
    uint8_t *buf;   /* one cluster */
    /* stored refcounts: refcount table and one cached refblock */
    uint64_t *rt;
    uint64_t rt_entries; /* held: the part inside the file */
    uint64_t rt_bytes;   /* the table's size as the header gives it */
    uint8_t *rb;
    uint64_t rb_off;
};

#define MSG(...) p2v_warn(&ck->res->messages, __VA_ARGS__)

static int inc_refs(struct checker *ck, uint64_t off, uint64_t size)
{
    qcow2_image *img = ck->img;
    if (size == 0)
        return 0;
    uint64_t end = off + size;
    if (end < off || (end > ck->fsize && end - ck->fsize >= img->cs)) {
        MSG("ERROR: counting reference for region exceeding the end of the file by one cluster "
            "or more: offset 0x%" PRIx64 " size 0x%" PRIx64, off, size);
        ck->res->corruptions++;
        return 0;
    }
    for (uint64_t k = off >> img->cbits; k <= (end - 1) >> img->cbits; k++) {
        if (k >= ck->nrefs)
            continue; /* within the last partial cluster past EOF */
        if (ck->refs[k] == 0xffff) {
            MSG("ERROR: overflow cluster offset=0x%" PRIx64, k << img->cbits);
            ck->res->corruptions++;
            continue;
        }
        ck->refs[k]++;
    }
    return 0;
}

static int read_table(struct checker *ck, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    return qcow2_read_zero_past_eof(ck->img, buf, len, off, err);
}

static int check_l2(struct checker *ck, uint64_t l2_off, bool frag, p2v_err *err)
{
    qcow2_image *img = ck->img;
    size_t n = (size_t)1 << img->l2_bits;
    ck->next_contiguous = 0; /* fragmentation is counted within one L2 table */
    int r = read_table(ck, ck->buf, img->cs, l2_off, err);
    if (r < 0) {
        MSG("ERROR: I/O error in check_refcounts_l2");
        ck->res->check_errors++;
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t e = get_be64(ck->buf + i * 8);
        if (e & QCOW2_OFLAG_COMPRESSED) {
            if (e & QCOW2_OFLAG_COPIED) {
                MSG("ERROR: coffset=0x%" PRIx64
                    ": copied flag must never be set for compressed clusters",
                    e & qcow2_coffset_mask(img->cbits));
                e &= ~QCOW2_OFLAG_COPIED;
                ck->res->corruptions++;
            }
            uint64_t coff = e & qcow2_coffset_mask(img->cbits);
            uint64_t nsec = ((e >> qcow2_csize_shift(img->cbits)) & qcow2_csize_mask(img->cbits)) + 1;
            inc_refs(ck, coff, nsec * 512 - (coff & 511));
            if (frag) {
                ck->res->allocated_clusters++;
                ck->res->compressed_clusters++;
                ck->res->fragmented_clusters++;
            }
            continue;
        }
        if (e & QCOW2_L2E_RESERVED_MASK) {
            MSG("ERROR found l2 entry with reserved bits set: %" PRIx64, e);
            ck->res->corruptions++;
        }
        uint64_t off = e & QCOW2_L2E_OFFSET_MASK;
        if (!off)
            continue; /* unallocated or plain zero */
        if (off & (img->cs - 1)) {
            ck->res->corruptions++;
            if (e & QCOW2_OFLAG_ZERO)
                MSG("ERROR offset=%" PRIx64
                    ": Preallocated cluster is not properly aligned; L2 entry corrupted.", off);
            else
                MSG("ERROR offset=%" PRIx64
                    ": Data cluster is not properly aligned; L2 entry corrupted.", off);
        }
        if (frag) {
            ck->res->allocated_clusters++;
            if (ck->next_contiguous && off != ck->next_contiguous)
                ck->res->fragmented_clusters++;
            ck->next_contiguous = off + img->cs;
        }
        inc_refs(ck, off, img->cs);
    }
    return 0;
}

static int check_l1(struct checker *ck, uint64_t l1_off, uint32_t l1_size, bool frag,
                    p2v_err *err)
{
    qcow2_image *img = ck->img;
    inc_refs(ck, l1_off, (uint64_t)l1_size * 8);
    /* Entries past the end of the file read as zero (unused): only the part
     * inside the file needs reading, which bounds the work on hostile files. */
    if (l1_off >= ck->fsize)
        return 0;
    if ((uint64_t)l1_size * 8 > ck->fsize - l1_off)
        l1_size = (uint32_t)((ck->fsize - l1_off + 7) / 8);
    if (l1_size == 0)
        return 0;
    uint8_t *l1 = malloc((size_t)l1_size * 8);
    if (!l1)
        return p2v_errf(err, -ENOMEM, "%s: out of memory for an L1 table", img->path);
    int r = read_table(ck, l1, (size_t)l1_size * 8, l1_off, err);
    if (r < 0) {
        MSG("ERROR: I/O error in check_refcounts_l1");
        ck->res->check_errors++;
        goto out;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t e = get_be64(l1 + (size_t)i * 8);
        if (e & QCOW2_L1E_RESERVED_MASK) {
            MSG("ERROR found L1 entry with reserved bits set: %" PRIx64, e);
            ck->res->corruptions++;
        }
        /* Like qemu-img: any bit set makes it an L2 table, even at offset 0
         * (an entry holding only COPIED points into the header cluster). */
        uint64_t l2 = e & QCOW2_L1E_OFFSET_MASK;
        if (!e)
            continue;
        inc_refs(ck, l2, img->cs);
        if (l2 & (img->cs - 1)) {
            MSG("ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry corrupted",
                l2);
            ck->res->corruptions++;
        }
        if ((r = check_l2(ck, l2, frag, err)) < 0)
            goto out;
    }
out:
    free(l1);
    return r;
}

static int check_snapshots(struct checker *ck, p2v_err *err)
{
    qcow2_image *img = ck->img;
    uint64_t off = img->snapshots_offset, start = off;
    uint8_t h[40];
    int r;
    for (uint32_t i = 0; i < img->info.nb_snapshots; i++) {
        off = (off + 7) & ~7ULL;
        if (off - start > MAX_SNAPSHOT_TABLE)
            return p2v_errf(err, -EFBIG, "%s: snapshot table exceeds 64 MiB", img->path);
        if ((r = read_table(ck, h, sizeof h, off, err)) < 0)
            return r;
        uint64_t l1_off = get_be64(h);
        uint32_t l1_size = get_be32(h + 8);
        uint32_t extra = get_be32(h + 36);
        if (extra > MAX_SNAPSHOT_EXTRA)
            return p2v_errf(err, -EINVAL, "%s: snapshot %u has %u bytes of extra data (limit 1024)",
                            img->path, i, extra);
        off += 40 + (uint64_t)extra + get_be16(h + 12) + get_be16(h + 14);
        if (l1_off & (img->cs - 1)) {
            MSG("ERROR snapshot %u l1_offset=%#" PRIx64
                ": L1 table is not cluster aligned; snapshot table entry corrupted", i, l1_off);
            ck->res->corruptions++;
            continue;
        }
        if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES) {
            MSG("ERROR snapshot %u l1_size=%#" PRIx32
                ": L1 table is too large; snapshot table entry corrupted", i, l1_size);
            ck->res->corruptions++;
            continue;
        }
        if ((r = check_l1(ck, l1_off, l1_size, false, err)) < 0)
            return r;
    }
    if (img->info.nb_snapshots)
        inc_refs(ck, start, ((off + 7) & ~7ULL) - start);
    return 0;
}

static int load_reftable(struct checker *ck, p2v_err *err)
{
    qcow2_image *img = ck->img;
    /* Entries past the end of the file are zero: only the rest is held. */
    uint64_t bytes = (uint64_t)img->info.refcount_table_clusters << img->cbits;
    uint64_t off = img->info.refcount_table_offset;
    ck->rt_bytes = bytes;
    if (off >= ck->fsize)
        bytes = 0;
    else if (bytes > ck->fsize - off)
        bytes = (ck->fsize - off + 7) & ~7ULL;
    uint8_t *raw = malloc(bytes ? bytes : 1);
    ck->rt_entries = bytes / 8;
    ck->rt = calloc(ck->rt_entries ? ck->rt_entries : 1, sizeof *ck->rt);
    if (!raw || !ck->rt) {
        free(raw);
        return p2v_errf(err, -ENOMEM, "%s: out of memory for the refcount table", img->path);
    }
    int r = read_table(ck, raw, bytes, img->info.refcount_table_offset, err);
    for (uint64_t i = 0; r == 0 && i < ck->rt_entries; i++)
        ck->rt[i] = get_be64(raw + i * 8);
    free(raw);
    return r;
}

static int check_refblocks(struct checker *ck)
{
    qcow2_image *img = ck->img;
    inc_refs(ck, img->info.refcount_table_offset, ck->rt_bytes);
    for (uint64_t i = 0; i < ck->rt_entries; i++) {
        uint64_t off = ck->rt[i] & QCOW2_REFT_OFFSET_MASK, c = off >> img->cbits;
        if (ck->rt[i] & 0x1ffULL) {
            MSG("ERROR refcount table entry %" PRIu64 " has reserved bits set", i);
            ck->res->corruptions++;
            continue;
        }
        if (off & (img->cs - 1)) {
            MSG("ERROR refcount block %" PRIu64
                " is not cluster aligned; refcount table entry corrupted", i);
            ck->res->corruptions++;
            continue;
        }
        if (c >= ck->nrefs) {
            MSG("ERROR refcount block %" PRIu64 " is outside image", i);
            ck->res->corruptions++;
            continue;
        }
        if (off) {
            inc_refs(ck, off, img->cs);
            if (ck->refs[c] != 1) {
                MSG("ERROR refcount block %" PRIu64 " refcount=%u", i, ck->refs[c]);
                ck->res->corruptions++;
            }
        }
    }
    return 0;
}

/* The stored refcount of host cluster k: 0 on success, -EIO if the refcount
 * block holding it is misaligned (as QEMU, which then cannot say). */
static int stored_ref(struct checker *ck, uint64_t k, uint64_t *out, p2v_err *err)
{
    qcow2_image *img = ck->img;
    unsigned bits = img->info.refcount_bits;
    uint64_t per_block = (img->cs * 8) / bits;
    uint64_t idx = k / per_block;
    *out = 0;
    if (idx >= ck->rt_entries)
        return 0;
    uint64_t off = ck->rt[idx] & QCOW2_REFT_OFFSET_MASK;
    if (!off)
        return 0;
    if (off & (img->cs - 1))
        return p2v_errf(err, -EIO, "Refblock offset %#" PRIx64 " unaligned (reftable index: %#" PRIx64 ")",
                        off, idx);
    if (ck->rb_off != off) {
        int r = read_table(ck, ck->rb, img->cs, off, err);
        if (r < 0)
            return r;
        ck->rb_off = off;
    }
    uint64_t i = k % per_block;
    switch (bits) {
    case 64: *out = get_be64(ck->rb + i * 8); break;
    case 32: *out = get_be32(ck->rb + i * 4); break;
    case 16: *out = get_be16(ck->rb + i * 2); break;
    case 8: *out = ck->rb[i]; break;
    default: /* 1, 2, 4 bits: packed from the least significant bit of each byte */
        *out = (ck->rb[i * bits / 8] >> ((i * bits) % 8)) & ((1u << bits) - 1);
        break;
    }
    return 0;
}

static void compare_refcounts(struct checker *ck, uint64_t *highest)
{
    p2v_err e;
    for (uint64_t k = 0; k < ck->nrefs; k++) {
        uint64_t stored;
        if (stored_ref(ck, k, &stored, &e) < 0) {
            MSG("Can't get refcount for cluster %" PRIu64 ": Input/output error", k);
            ck->res->check_errors++;
            continue;
        }
        uint64_t computed = ck->refs[k];
        if (stored || computed)
            *highest = k;
        if (stored == computed)
            continue;
        MSG("%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64,
            stored < computed ? "ERROR" : "Leaked", k, stored, computed);
        if (stored < computed)
            ck->res->corruptions++;
        else
            ck->res->leaks++;
    }
}

static int check_copied(struct checker *ck, p2v_err *err)
{
    qcow2_image *img = ck->img;
    size_t n = (size_t)1 << img->l2_bits;
    p2v_err ignore;
    for (uint32_t i = 0; i < img->l1_loaded; i++) {
        uint64_t l1e = img->l1[i], l2 = l1e & QCOW2_L1E_OFFSET_MASK, ref;
        if (!l2)
            continue;
        if (stored_ref(ck, l2 >> img->cbits, &ref, &ignore) < 0)
            continue;
        if ((ref == 1) != ((l1e & QCOW2_OFLAG_COPIED) != 0)) {
            ck->res->corruptions++;
            MSG("ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                " refcount=%" PRIu64, i, l1e, ref);
        }
        int r = read_table(ck, ck->buf, img->cs, l2, err);
        if (r < 0) {
            MSG("ERROR: Could not read L2 table: %s", err->msg);
            ck->res->check_errors++;
            return r;
        }
        for (size_t j = 0; j < n; j++) {
            uint64_t e = get_be64(ck->buf + j * 8), off = e & QCOW2_L2E_OFFSET_MASK;
            if ((e & QCOW2_OFLAG_COMPRESSED) || !off)
                continue;
            if (stored_ref(ck, off >> img->cbits, &ref, &ignore) < 0)
                continue;
            if ((ref == 1) != ((e & QCOW2_OFLAG_COPIED) != 0)) {
                ck->res->corruptions++;
                MSG("ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64, e,
                    ref);
            }
        }
    }
    return 0;
}

int qcow2_check(qcow2_image *img, qcow2_check_result *res, p2v_err *err)
{
    struct checker ck0 = { .img = img, .res = res }, *ck = &ck0;
    int r;
    memset(res, 0, sizeof *res);
    if (img->info.extended_l2)
        return p2v_errf(err, -ENOTSUP, "%s: extended L2 entries (subclusters) are not supported",
                        img->path);
    ck->fsize = bd_size(img->file);
    ck->nrefs = (ck->fsize >> img->cbits) + ((ck->fsize & (img->cs - 1)) != 0);
    if (ck->nrefs > INT32_MAX)
        return p2v_errf(err, -EFBIG, "%s: file too large to check", img->path);
    ck->refs = calloc(ck->nrefs ? ck->nrefs : 1, sizeof *ck->refs);
    ck->buf = malloc(img->cs);
    ck->rb = malloc(img->cs);
    ck->rb_off = UINT64_MAX;
    if (!ck->refs || !ck->buf || !ck->rb) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory for the check", img->path);
        goto out;
    }
    uint64_t vsize = img->info.virtual_size & ~511ULL;
    res->total_clusters = (vsize >> img->cbits) + ((vsize & (img->cs - 1)) != 0);

    inc_refs(ck, 0, img->cs); /* header */
    if ((r = check_l1(ck, img->info.l1_offset, img->info.l1_size, true, err)) < 0)
        goto out;
    if ((r = check_snapshots(ck, err)) < 0)
        goto out;
    if ((r = load_reftable(ck, err)) < 0 || (r = check_refblocks(ck)) < 0)
        goto out;
    uint64_t highest = 0;
    compare_refcounts(ck, &highest);
    if ((r = check_copied(ck, err)) < 0)
        goto out;
    res->image_end_offset = (highest + 1) << img->cbits;
    r = 0;
out:
    free(ck->refs);
    free(ck->buf);
    free(ck->rb);
    free(ck->rt);
    return r;
}

void qcow2_check_result_free(qcow2_check_result *res)
{
    p2v_warnings_free(&res->messages);
}
