/* NTFS shrink: clusters in use beyond the new end get new places below it.
 *
 * Every MFT record in use is read, and every non-resident attribute record
 * in it (of any file: $MFT, $MFTMirr, $LogFile, $Bitmap, attribute lists,
 * indexes, compressed and sparse data alike, base or extension record) has
 * its runlist decoded; runs at or beyond the new end are given free
 * clusters below it and the mapping pairs are rebuilt in place. The record
 * is written (and mirrored) at the place the mounted volume's own runlists
 * name, so every read of the volume stays consistent while this runs. The
 * data itself is not copied here: each move (new place <- old place) is
 * returned, and the caller's remapped view shows the data at its new place,
 * so that the copy writes it there directly. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/mst.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "fs/resize_impl.h"
#include "util/array.h"
#include "util/iowalk.h"

struct mv_free {
    uint64_t lcn, len;
};

struct mv_fclass {
    struct mv_free *e;
    size_t n, cap;
};

struct mv_ctx {
    ntfs_volume *vol;
    blockdev *ov;
    const char *what;
    uint64_t new_nr;
    uint8_t *bm;            /* $Bitmap of the clusters below new_nr */
    uint64_t bm_bytes;
    bool bm_changed;
    struct mv_fclass fx[64]; /* free extents below new_nr, as they shrink */
    fsresize_ntfs_result *res;
    fsresize_ntfs_overflows *over;
    uint8_t *rec;           /* one MFT record */
    uint8_t *out;           /* the same with its fixups, for writing */
};

static bool bm_get(const struct mv_ctx *c, uint64_t lcn)
{
    return c->bm[lcn / 8] & (1u << (lcn % 8));
}

static void bm_set(struct mv_ctx *c, uint64_t lcn)
{
    c->bm[lcn / 8] |= (uint8_t)(1u << (lcn % 8));
}

/* Free extents by size class: class k holds lengths in [2^k, 2^(k+1)). */
static unsigned fx_class(uint64_t len)
{
    return 63u - (unsigned)__builtin_clzll(len);
}

static int fx_add(struct mv_ctx *c, uint64_t lcn, uint64_t len)
{
    struct mv_fclass *k = &c->fx[fx_class(len)];
    struct mv_free *x = array_room(k->e, &k->cap, k->n, sizeof *x, 16);
    if (!x)
        return -ENOMEM;
    k->e = x;
    k->e[k->n++] = (struct mv_free){ .lcn = lcn, .len = len };
    return 0;
}

/* The free extents below new_nr, from the bitmap, once: the allocator
 * picks among them. */
static int load_free_extents(struct mv_ctx *c)
{
    for (uint64_t i = 0; i < c->new_nr;) {
        if (bm_get(c, i)) {
            i++;
            continue;
        }
        uint64_t n = 1;
        while (i + n < c->new_nr && !bm_get(c, i + n))
            n++;
        if (fx_add(c, i, n) < 0)
            return -ENOMEM;
        i += n;
    }
    return 0;
}

/* Which free extent a run of want clusters goes to: one that holds it
 * whole, the smallest size class that does first (a look at the first
 * entries of want's own class, then any of a larger class), else one of the
 * largest class there is. Constant time per run however fragmented the
 * free space, and a moved run becomes as few runs as can be, so runlists
 * stay short enough for their MFT records (as ntfsresize places them).
 * false when nothing is free. */
static bool fx_pick(struct mv_ctx *c, uint64_t want, unsigned *cls, size_t *idx)
{
    unsigned k = fx_class(want);
    for (size_t i = 0; i < c->fx[k].n && i < 256; i++)
        if (c->fx[k].e[i].len >= want) {
            *cls = k;
            *idx = i;
            return true;
        }
    for (unsigned j = k + 1; j < 64; j++)
        if (c->fx[j].n) {
            *cls = j;
            *idx = c->fx[j].n - 1;
            return true;
        }
    for (unsigned j = k + 1; j-- > 0;)
        if (c->fx[j].n) {
            *cls = j;
            *idx = c->fx[j].n - 1;
            return true;
        }
    return false;
}

/* Up to want free clusters below new_nr, as one run. -ENOSPC when nothing
 * is free, -ENOMEM. */
static int alloc_run(struct mv_ctx *c, uint64_t want, uint64_t *lcn, uint64_t *got)
{
    unsigned k;
    size_t i;
    if (!fx_pick(c, want, &k, &i))
        return -ENOSPC;
    struct mv_free f = c->fx[k].e[i];
    c->fx[k].e[i] = c->fx[k].e[--c->fx[k].n];
    uint64_t n = f.len < want ? f.len : want;
    *lcn = f.lcn;
    *got = n;
    for (uint64_t x = 0; x < n; x++)
        bm_set(c, f.lcn + x);
    c->bm_changed = true;
    if (f.len > n && fx_add(c, f.lcn + n, f.len - n) < 0)
        return -ENOMEM;
    return 0;
}

static int add_move(struct mv_ctx *c, uint64_t dst_lcn, uint64_t src_lcn, uint64_t n,
                    p2v_err *err)
{
    fsresize_ntfs_result *r = c->res;
    uint64_t cs = c->vol->cluster_size;
    bd_move *last = r->nmoves ? &r->moves[r->nmoves - 1] : NULL;
    r->relocated += n * cs;
    if (last && last->dst + last->len == dst_lcn * cs && last->src + last->len == src_lcn * cs) {
        last->len += n * cs;
        return 0;
    }
    if ((r->nmoves & (r->nmoves + 1)) == 0 || r->nmoves == 0) {  /* grow at 2^k - 1 */
        size_t cap = r->nmoves ? (r->nmoves + 1) * 2 : 16;
        bd_move *m = realloc(r->moves, cap * sizeof *m);
        if (!m)
            return p2v_errf(err, -ENOMEM, "out of memory");
        r->moves = m;
    }
    r->moves[r->nmoves++] = (bd_move){ .dst = dst_lcn * cs, .src = src_lcn * cs, .len = n * cs };
    return 0;
}

/* Append one runlist element to a growing array. */
static int rl_push(runlist_element **rl, size_t *n, size_t *cap, VCN vcn, LCN lcn, s64 len)
{
    runlist_element *last = *n ? &(*rl)[*n - 1] : NULL;
    /* A piece that continues the previous one on disk joins it: one run. */
    if (last && len && last->lcn >= 0 && lcn >= 0 && last->vcn + last->length == vcn &&
        last->lcn + last->length == lcn) {
        last->length += len;
        return 0;
    }
    runlist_element *x = array_room(*rl, cap, *n, sizeof *x, 16);
    if (!x)
        return -ENOMEM;
    *rl = x;
    (*rl)[(*n)++] = (runlist_element){ .vcn = vcn, .lcn = lcn, .length = len };
    return 0;
}

/* The runlist with every run at or beyond new_nr given new clusters.
 * *moved tells whether anything changed. */
static int relocate_rl(struct mv_ctx *c, const runlist_element *rl, runlist_element **out,
                       bool *moved, p2v_err *err)
{
    runlist_element *nrl = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    *moved = false;
    for (; r == 0 && rl->length; rl++) {
        uint64_t len = (uint64_t)rl->length, done = 0;
        if (rl->lcn < 0 || (uint64_t)rl->lcn + len <= c->new_nr) {
            r = rl_push(&nrl, &n, &cap, rl->vcn, rl->lcn, rl->length) < 0 ? -ENOMEM : 0;
            continue;
        }
        *moved = true;
        if ((uint64_t)rl->lcn < c->new_nr) {    /* the part below the end stays */
            done = c->new_nr - (uint64_t)rl->lcn;
            r = rl_push(&nrl, &n, &cap, rl->vcn, rl->lcn, (s64)done) < 0 ? -ENOMEM : 0;
        }
        while (r == 0 && done < len) {
            uint64_t lcn, got;
            int a = alloc_run(c, len - done, &lcn, &got);
            if (a == -ENOMEM) {
                r = a;      /* said below */
                break;
            }
            if (a < 0) {
                r = p2v_errf(err, -ENOSPC, "%s: NTFS: no free clusters left below the new end "
                             "(cluster %llu) for the data beyond it", c->what,
                             (unsigned long long)c->new_nr);
                break;
            }
            if ((r = add_move(c, lcn, (uint64_t)rl->lcn + done, got, err)) < 0)
                break;
            r = rl_push(&nrl, &n, &cap, rl->vcn + (VCN)done, (LCN)lcn, (s64)got) < 0 ? -ENOMEM
                                                                                 : 0;
            done += got;
        }
    }
    if (r == 0 && rl_push(&nrl, &n, &cap, rl->vcn, rl->lcn, 0) < 0)   /* the terminator */
        r = -ENOMEM;
    if (r == -ENOMEM)
        p2v_errf(err, r, "out of memory");
    if (r < 0) {
        free(nrl);
        return r;
    }
    *out = nrl;
    return 0;
}

/* The runlist decoded from a base extent of an attribute that has more
 * extents ends in an unmapped element for the VCNs the other extents hold;
 * the mapping pairs of this extent end after its highest VCN. */
static void rl_cut(runlist_element *rl, VCN end)
{
    for (; rl->length; rl++)
        if (rl->vcn >= end) {
            rl->length = 0;
            return;
        }
}

/* The extent a of MFT record recno (of file base) keeps its old runlist in
 * its record for now; its new one (rl, for its VCNs) is kept for
 * fsresize_ntfs_expand. */
static int add_overflow(struct mv_ctx *c, uint64_t base, uint64_t recno, const ATTR_RECORD *a,
                        const runlist_element *rl, p2v_err *err)
{
    fsresize_ntfs_overflows *o = c->over;
    size_t n = 0;
    while (rl[n].length)
        n++;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 8;
        fsresize_ntfs_overflow *x = realloc(o->v, nc * sizeof *x);
        if (!x)
            return p2v_errf(err, -ENOMEM, "out of memory");
        o->v = x;
        o->cap = nc;
    }
    fsresize_ntfs_overflow *e = &o->v[o->n];
    *e = (fsresize_ntfs_overflow){ .base = base, .recno = recno, .type = le32_to_cpu(a->type),
                                   .name_len = a->name_length,
                                   .low = sle64_to_cpu(a->lowest_vcn),
                                   .high = sle64_to_cpu(a->highest_vcn) };
    memcpy(e->name, (const uint8_t *)a + le16_to_cpu(a->name_offset), a->name_length * 2u);
    e->rl = malloc((n + 1) * sizeof *rl);
    if (!e->rl)
        return p2v_errf(err, -ENOMEM, "out of memory");
    memcpy(e->rl, rl, (n + 1) * sizeof *rl);
    o->n++;
    return 0;
}

void fsresize_ntfs_overflows_free(fsresize_ntfs_overflows *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].rl);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* Rebuild the mapping pairs of attribute record a (at offset aoff of the
 * record) from rl, resizing the attribute record within the MFT record; an
 * extent that no longer fits is kept for fsresize_ntfs_expand (one of
 * $MFT's own is refused: libntfs-3g reads every record through it). */
static int write_mapping_pairs(struct mv_ctx *c, MFT_RECORD *m, uint32_t aoff,
                               const runlist_element *rl, uint64_t recno, p2v_err *err)
{
    ATTR_RECORD *a = (ATTR_RECORD *)((uint8_t *)m + aoff);
    VCN low = sle64_to_cpu(a->lowest_vcn);
    uint32_t mp = le16_to_cpu(a->mapping_pairs_offset);
    int size = ntfs_get_size_for_mapping_pairs(c->vol, rl, low, INT_MAX);
    if (size < 0)
        return p2v_errf(err, -EIO, "%s: NTFS MFT record %llu: the new runlist cannot be "
                        "encoded", c->what, (unsigned long long)recno);
    uint32_t len = (mp + (uint32_t)size + 7) & ~7u;
    bool fits = len == le32_to_cpu(a->length) || ntfs_attr_record_resize(m, a, len) == 0;
    uint64_t base = MREF_LE(m->base_mft_record) ? MREF_LE(m->base_mft_record) : recno;
    if (!fits && base != FILE_MFT)
        return add_overflow(c, base, recno, a, rl, err);
    if (!fits && recno == FILE_MFT) {
        size_t pieces = 0;
        for (const runlist_element *e = rl; e->length; e++)
            pieces += e->lcn >= 0;
        return p2v_errf(err, -ENOSPC,
                        "%s: NTFS: $MFT lies beyond the new end and cannot move below it: in "
                        "the free space there its runlist (%zu runs, %d bytes) does not fit in "
                        "MFT record 0; this volume cannot be shrunk that far by p2v (a larger "
                        "size, or a defragmented volume)", c->what, pieces, size);
    }
    if (!fits)
        return p2v_errf(err, -ENOSPC,
                        "%s: NTFS MFT record %llu (attribute type 0x%x of $MFT) has no room "
                        "for the runlist of its moved clusters; this volume cannot be shrunk "
                        "that far by p2v (a larger size, or a defragmented volume)", c->what,
                        (unsigned long long)recno, (unsigned)le32_to_cpu(a->type));
    a = (ATTR_RECORD *)((uint8_t *)m + aoff);
    if (ntfs_mapping_pairs_build(c->vol, (u8 *)a + mp, len - mp, rl, low, NULL) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS MFT record %llu: the new runlist does not fit",
                        c->what, (unsigned long long)recno);
    return 0;
}

/* A system file's bytes being written cluster by cluster (io_walk). */
struct rl_io {
    struct mv_ctx *c;
    const runlist_element *rl;
    const uint8_t *buf;
};

/* One piece: the bytes at pos that one cluster of the runlist holds. */
static int64_t rl_write_piece(void *ctx, uint64_t pos, size_t at, size_t len, p2v_err *err)
{
    const struct rl_io *io = ctx;
    uint64_t cs = io->c->vol->cluster_size;
    uint64_t in = pos % cs, n = cs - in < len ? cs - in : len;
    LCN lcn = ntfs_rl_vcn_to_lcn(io->rl, (VCN)(pos / cs));
    if (lcn < 0)
        return p2v_errf(err, -EIO, "%s: NTFS: byte %llu of a system file has no cluster",
                        io->c->what, (unsigned long long)pos);
    int r = bd_overlay_pwrite(io->c->ov, io->buf + at, (size_t)n, (uint64_t)lcn * cs + in, err);
    return r < 0 ? r : (int64_t)n;
}

/* Bytes at pos of an attribute whose runlist is rl, written into the overlay
 * at the clusters the runlist names; buf is in memory, so len fits a size_t. */
static int rl_write(struct mv_ctx *c, const runlist_element *rl, uint64_t pos, const uint8_t *buf,
                    uint64_t len, p2v_err *err)
{
    struct rl_io io = { .c = c, .rl = rl, .buf = buf };
    return io_walk(pos, (size_t)len, rl_write_piece, &io, err);
}

/* The record with fixups applied, into $MFT and (records 0..3) $MFTMirr. */
static int write_record(struct mv_ctx *c, uint64_t recno, p2v_err *err)
{
    ntfs_volume *vol = c->vol;
    uint32_t size = vol->mft_record_size;
    memcpy(c->out, c->rec, size);
    if (ntfs_mst_pre_write_fixup((NTFS_RECORD *)c->out, size) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS MFT record %llu cannot be prepared for writing",
                        c->what, (unsigned long long)recno);
    int r = rl_write(c, vol->mft_na->rl, recno * size, c->out, size, err);
    if (r == 0 && recno < (uint64_t)vol->mftmirr_size)
        r = rl_write(c, vol->mftmirr_na->rl, recno * size, c->out, size, err);
    return r;
}

/* Where $MFT and $MFTMirr start now, for the boot sector. */
static void note_start(struct mv_ctx *c, uint64_t recno, const ATTR_RECORD *a,
                       const runlist_element *rl)
{
    if (a->type != AT_DATA || a->name_length || sle64_to_cpu(a->lowest_vcn) != 0)
        return;
    if (recno == FILE_MFT)
        c->res->mft_lcn = rl[0].lcn;
    else if (recno == FILE_MFTMirr)
        c->res->mftmirr_lcn = rl[0].lcn;
}

static int relocate_record(struct mv_ctx *c, uint64_t recno, p2v_err *err)
{
    MFT_RECORD *m = (MFT_RECORD *)c->rec;
    uint32_t size = c->vol->mft_record_size, off = le16_to_cpu(m->attrs_offset);
    bool changed = false;
    int r = 0;
    while (r == 0 && off + 8 <= size) {
        ATTR_RECORD *a = (ATTR_RECORD *)(c->rec + off);
        uint32_t alen = le32_to_cpu(a->length);
        if (a->type == AT_END || alen == 0 || off + alen > size)
            break;
        if (a->non_resident) {
            runlist_element *rl = ntfs_mapping_pairs_decompress(c->vol, a, NULL), *nrl = NULL;
            bool moved = false;
            if (!rl)
                r = p2v_errf(err, -EIO, "%s: NTFS MFT record %llu: a runlist cannot be decoded",
                             c->what, (unsigned long long)recno);
            if (r == 0)
                r = relocate_rl(c, rl, &nrl, &moved, err);
            if (r == 0 && moved) {
                rl_cut(nrl, sle64_to_cpu(a->highest_vcn) + 1);
                note_start(c, recno, a, nrl);
                r = write_mapping_pairs(c, m, off, nrl, recno, err);
                changed = true;
            }
            free(rl);
            free(nrl);
        }
        off += le32_to_cpu(((ATTR_RECORD *)(c->rec + off))->length);
    }
    if (r == 0 && changed)
        r = write_record(c, recno, err);
    return r;
}

/* Read MFT record recno into c->rec; *in_use false for a record never used
 * or freed. */
static int read_record(struct mv_ctx *c, uint64_t recno, bool *in_use, p2v_err *err)
{
    uint32_t size = c->vol->mft_record_size;
    *in_use = false;
    if (ntfs_attr_pread(c->vol->mft_na, (s64)(recno * size), size, c->rec) != (s64)size)
        return p2v_errf(err, -EIO, "%s: NTFS MFT record %llu cannot be read", c->what,
                        (unsigned long long)recno);
    if (!ntfs_is_file_recordp(c->rec))
        return 0;
    if (ntfs_mst_post_read_fixup((NTFS_RECORD *)c->rec, size) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS MFT record %llu is damaged (fixups); run chkdsk",
                        c->what, (unsigned long long)recno);
    *in_use = ((MFT_RECORD *)c->rec)->flags & MFT_RECORD_IN_USE;
    return 0;
}

static int load_bitmap(struct mv_ctx *c, p2v_err *err)
{
    c->bm_bytes = (c->new_nr + 7) / 8;
    c->bm = malloc(c->bm_bytes ? c->bm_bytes : 1);
    if (!c->bm)
        return p2v_errf(err, -ENOMEM, "out of memory");
    if (ntfs_attr_pread(c->vol->lcnbmp_na, 0, (s64)c->bm_bytes, c->bm) != (s64)c->bm_bytes)
        return p2v_errf(err, -EIO, "%s: NTFS $Bitmap cannot be read", c->what);
    return 0;
}

static int map_system_runlists(struct mv_ctx *c, p2v_err *err)
{
    ntfs_volume *vol = c->vol;
    if (ntfs_attr_map_whole_runlist(vol->mft_na) != 0 || !vol->mftmirr_na ||
        ntfs_attr_map_whole_runlist(vol->mftmirr_na) != 0 ||
        ntfs_attr_map_whole_runlist(vol->lcnbmp_na) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS runlists of $MFT, $MFTMirr or $Bitmap cannot be "
                        "read", c->what);
    return 0;
}

int fsresize_ntfs_relocate(ntfs_volume *vol, blockdev *ov, uint64_t new_nr, const char *what,
                           fsresize_ntfs_result *res, fsresize_ntfs_overflows *over,
                           p2v_err *err)
{
    struct mv_ctx c = { .vol = vol, .ov = ov, .what = what, .new_nr = new_nr, .res = res,
                        .over = over };
    uint64_t nrec = (uint64_t)vol->mft_na->initialized_size >> vol->mft_record_size_bits;
    int r = map_system_runlists(&c, err);
    c.rec = malloc(vol->mft_record_size);
    c.out = malloc(vol->mft_record_size);
    if (r == 0 && (!c.rec || !c.out))
        r = p2v_errf(err, -ENOMEM, "out of memory");
    if (r == 0)
        r = load_bitmap(&c, err);
    if (r == 0 && load_free_extents(&c) < 0)
        r = p2v_errf(err, -ENOMEM, "out of memory");
    for (uint64_t i = 0; r == 0 && i < nrec; i++) {
        bool in_use;
        r = read_record(&c, i, &in_use, err);
        if (r == 0 && in_use)
            r = relocate_record(&c, i, err);
    }
    /* The new places marked in use, through $Bitmap's runlist as mounted. */
    if (r == 0 && c.bm_changed)
        r = rl_write(&c, vol->lcnbmp_na->rl, 0, c.bm, c.bm_bytes, err);
    free(c.bm);
    for (unsigned k = 0; k < 64; k++)
        free(c.fx[k].e);
    free(c.rec);
    free(c.out);
    return r;
}
