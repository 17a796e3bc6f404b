/* NTFS shrink, last step: runlists that outgrew their MFT records.
 *
 * Placing a file's clusters below the new end can split one run into
 * several or make its offsets longer, and then the mapping pairs no longer
 * fit in the record that holds them. ntfsresize queues such attributes and,
 * once everything else is in place, has libntfs-3g write them
 * (ntfs_attr_update_mapping_pairs), which moves other attributes out of the
 * record, creates or extends the $ATTRIBUTE_LIST and allocates extension
 * records from $MFT's bitmap as needed. The same here: the volume is
 * mounted read-write in its new layout — the edit overlay seen through the
 * moves, with the new boot sector — on an overlay of its own, each queued
 * attribute gets its whole new runlist, and the blocks that mount wrote are
 * carried back into the edit overlay at the places the moves read them
 * from (what is written where a moved cluster now lies belongs at its old
 * place, which is what the final view shows there). The view keeps the old
 * volume's length, so the queued extents, still naming their old clusters,
 * read right until they are rewritten. */
#include <errno.h>
#include <stdarg.h>
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
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "blockdev/remap.h"
#include "fs/resize_impl.h"

#define CARRY_CHUNK (64u * 1024u)

struct rl_out {
    runlist_element *v;
    size_t n;
};

/* Append a run, joining it to the previous one when it continues it. */
static void out_push(struct rl_out *o, VCN vcn, LCN lcn, s64 len)
{
    runlist_element *last = o->n ? &o->v[o->n - 1] : NULL;
    if (len <= 0)
        return;
    if (last && last->vcn + last->length == vcn &&
        ((last->lcn >= 0 && lcn >= 0 && last->lcn + last->length == lcn) ||
         (last->lcn == LCN_HOLE && lcn == LCN_HOLE))) {
        last->length += len;
        return;
    }
    o->v[o->n++] = (runlist_element){ .vcn = vcn, .lcn = lcn, .length = len };
}

/* The part of run e inside VCNs [from, to]. */
static void out_clip(struct rl_out *o, const runlist_element *e, VCN from, VCN to)
{
    VCN s = e->vcn > from ? e->vcn : from, end = e->vcn + e->length - 1;
    if (end > to)
        end = to;
    if (s > end)
        return;
    out_push(o, s, e->lcn >= 0 ? e->lcn + (s - e->vcn) : e->lcn, end - s + 1);
}

/* The whole runlist of the attribute (old, all mapped) with VCNs low..high
 * taken from the overflowing extent's new runlist. NULL on ENOMEM. */
static runlist_element *rl_splice(const runlist_element *old, const fsresize_ntfs_overflow *x)
{
    size_t nold = 0, npiece = 0;
    while (old[nold].length)
        nold++;
    while (x->rl[npiece].length)
        npiece++;
    struct rl_out o = { .v = malloc((nold + npiece + 3) * sizeof *o.v) };
    if (!o.v)
        return NULL;
    for (size_t i = 0; i < nold; i++)
        out_clip(&o, &old[i], 0, x->low - 1);
    for (size_t i = 0; i < npiece; i++)
        if (x->rl[i].lcn != LCN_RL_NOT_MAPPED)
            out_clip(&o, &x->rl[i], x->low, x->high);
    for (size_t i = 0; i < nold; i++)
        out_clip(&o, &old[i], x->high + 1, INT64_MAX);
    o.v[o.n] = old[nold];       /* the terminator: the attribute's end */
    return o.v;
}

static int expand_one(ntfs_volume *vol, const fsresize_ntfs_overflow *x, const char *what,
                      p2v_err *err)
{
    ntfs_inode *ni = ntfs_inode_open(vol, (MFT_REF)x->base);
    ntfs_attr *na = ni ? ntfs_attr_open(ni, cpu_to_le32(x->type), x->name_len ?
                                        (ntfschar *)x->name : AT_UNNAMED, x->name_len)
                       : NULL;
    runlist_element *rl = NULL;
    int r = 0;
    if (!na || ntfs_attr_map_whole_runlist(na) != 0)
        r = p2v_errf(err, -EIO, "%s: NTFS MFT record %llu: attribute type 0x%x cannot be "
                     "opened to write its moved runlist (%s)", what,
                     (unsigned long long)x->base, (unsigned)x->type,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    if (r == 0 && !(rl = rl_splice(na->rl, x)))
        r = p2v_errf(err, -ENOMEM, "out of memory");
    if (r == 0) {
        free(na->rl);
        na->rl = rl;
        if (ntfs_attr_update_mapping_pairs(na, 0) != 0)
            r = p2v_errf(err, -ENOSPC, "%s: NTFS MFT record %llu (attribute type 0x%x) has no "
                         "room for the runlist of its moved clusters, and no extension record "
                         "could be added (%s); this volume cannot be shrunk that far by p2v "
                         "(a larger size, or a defragmented volume)", what,
                         (unsigned long long)x->recno, (unsigned)x->type,
                         ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    }
    if (na)
        ntfs_attr_close(na);
    if (ni && ntfs_inode_close(ni) != 0 && r == 0)
        r = p2v_errf(err, -EIO, "%s: NTFS MFT record %llu cannot be written (%s)", what,
                     (unsigned long long)x->base,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    return r;
}

static int cmp_dst(const void *a, const void *b)
{
    const bd_move *x = a, *y = b;
    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

/* Where byte pos of the new layout is read from in the edit overlay, and
 * for how many bytes (up to lim) that holds. */
static uint64_t carry_place(const bd_move *mv, size_t n, uint64_t pos, uint64_t lim,
                            uint64_t *src)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {           /* the first move ending after pos */
        size_t mid = lo + (hi - lo) / 2;
        if (mv[mid].dst + mv[mid].len <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    *src = pos;
    if (lo < n && mv[lo].dst <= pos) {
        *src = mv[lo].src + (pos - mv[lo].dst);
        return mv[lo].dst + mv[lo].len - pos < lim ? mv[lo].dst + mv[lo].len - pos : lim;
    }
    return lo < n && mv[lo].dst - pos < lim ? mv[lo].dst - pos : lim;
}

/* The blocks the read-write mount wrote into o2, into ov where the moves
 * read them from. The two boot sectors are left out: fsresize_ntfs_finish
 * writes them into the final view, and the backup's place may hold a
 * cluster that moves. */
static int carry_back(blockdev *o2, blockdev *ov, const bd_move *mv, size_t n,
                      const fsresize_ntfs_result *res, p2v_err *err)
{
    uint64_t bps = res->bytes_per_sector, backup = res->sectors * bps;
    extent_list w = { 0 };
    uint8_t *buf = malloc(CARRY_CHUNK);
    int r = buf ? bd_overlay_written(o2, &w, err) : p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < w.count; i++) {
        uint64_t pos = w.v[i].start, end = w.v[i].start + w.v[i].len;
        while (r == 0 && pos < end) {
            uint64_t src, lim = end - pos < CARRY_CHUNK ? end - pos : CARRY_CHUNK;
            if (pos < bps || (pos >= backup && pos < backup + bps)) {
                pos = pos < bps ? bps : backup + bps;
                continue;
            }
            if (pos < backup && backup - pos < lim)
                lim = backup - pos;
            uint64_t len = carry_place(mv, n, pos, lim, &src);
            r = bd_pread(o2, buf, (size_t)len, pos, err);
            if (r == 0)
                r = bd_overlay_pwrite(ov, buf, (size_t)len, src, err);
            pos += len;
        }
    }
    extent_list_free(&w);
    free(buf);
    return r;
}

static int expand_all(blockdev *o2, const fsresize_ntfs_overflows *o, const char *what,
                      p2v_err *err)
{
    fsresize_ntfs_vol v = { 0 };
    int r = fsresize_ntfs_mount(&v, o2, bd_size(o2), true, what, err);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < o->n; i++)
        r = expand_one(v.vol, &o->v[i], what, err);
    p2v_err e2;
    int rc = fsresize_ntfs_umount(&v, what, r < 0 ? &e2 : err);
    return r < 0 ? r : rc;
}

int fsresize_ntfs_expand(blockdev *ov, const fsresize_ntfs_result *res,
                         const fsresize_ntfs_overflows *o, const char *what, p2v_err *err)
{
    blockdev *view = NULL, *o2 = NULL;
    bd_move *mv = malloc((res->nmoves ? res->nmoves : 1) * sizeof *mv);
    if (!mv)
        return p2v_errf(err, -ENOMEM, "out of memory");
    memcpy(mv, res->moves, res->nmoves * sizeof *mv);
    qsort(mv, res->nmoves, sizeof *mv, cmp_dst);
    int r = bd_remap_open(ov, bd_size(ov), mv, res->nmoves, &view, err);
    if (r == 0)
        r = bd_overlay_open(view, 0, 0, NULL, &o2, err);
    if (r == 0)
        r = fsresize_ntfs_finish(o2, res, err);
    if (r == 0)
        r = expand_all(o2, o, what, err);
    if (r == 0)
        r = carry_back(o2, ov, mv, res->nmoves, res, err);
    bd_close(o2);
    bd_close(view);
    free(mv);
    return r;
}
