/* Partitions of their own size (DISK:N=SIZE, DISK:N=min, the last one grown
 * by --size): sizes chosen before planning, and after planning each
 * filesystem fitted to its new partition on a copy-on-write overlay (NTFS;
 * ext2/3/4 grown) or left at its size with a notice (ext2/3/4 that p2v
 * cannot grow, FAT, others). The copy then
 * reads a resized partition from its overlay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "blockdev/remap.h"
#include "blockdev/window.h"
#include "convert/convert_impl.h"
#include "util/size.h"

/* v rounded up to a multiple of unit; UINT64_MAX where that overflows (a
 * size no disk has, which the planner refuses by name). */
static uint64_t round_up(uint64_t v, uint64_t unit)
{
    uint64_t r;
    if (!unit || v % unit == 0)
        return v;
    return __builtin_add_overflow(v, unit - v % unit, &r) ? UINT64_MAX : r;
}

/* DISK:N=min: used + margin for NTFS (never below the last used cluster),
 * the filesystem's own size for the rest, never more than the source. */
static uint64_t min_size(const convert_job *job, const fsresize_info *fi, uint64_t src_bytes,
                         const char *what, const convert_events *ev)
{
    uint64_t align = job->rq.plan.align ? job->rq.plan.align : 1ULL << 20;
    uint64_t want = fi->min_bytes;
    char h1[32];
    if (fi->kind == FSRESIZE_NTFS) {
        uint64_t margin = job->rq.min_free;
        if (!margin && !job->rq.min_free_set)
            margin = fi->used_bytes / 10 > CONVERT_MIN_FREE_FLOOR ? fi->used_bytes / 10
                                                                  : CONVERT_MIN_FREE_FLOOR;
        uint64_t room = fi->used_bytes + margin + fi->bytes_per_sector;
        want = room > fi->min_bytes ? room : fi->min_bytes;
    } else {
        convert_say(ev, CONVERT_NOTICE, "%s=min: %s cannot be shrunk; the partition keeps the "
                    "filesystem's size", what, fi->fstype[0] ? fi->fstype : "its contents");
    }
    want = round_up(want, align);
    if (want >= src_bytes) {
        convert_say(ev, CONVERT_NOTICE, "%s=min: the source partition (%s) is not larger than "
                    "that; it keeps its size", what, size_human(src_bytes, h1, sizeof h1));
        return src_bytes;
    }
    return want;
}

int convert_resize_sizes(convert_job *job, const convert_events *ev, p2v_err *err)
{
    for (size_t i = 0; i < job->rq.nsels; i++) {
        const convert_sel *sel = &job->rq.sels[i];
        const convert_disk *d = job->src[job->psel[i].disk];
        const convert_part *cp = convert_disk_part(d, sel->number);
        if ((!sel->size && !sel->size_min) || !cp || cp->p->container)
            continue;   /* the planner names what is wrong with the selection */
        uint32_t ss = bd_sector_size(d->bd);
        uint64_t off = cp->p->start * ss, len = cp->p->size * ss;
        char what[300];
        snprintf(what, sizeof what, "%s:%u", sel->disk, sel->number);
        fsresize_info fi;
        int r = fsresize_check(d->bd, off, len, what, &fi, err);
        if (r == -EBUSY && job->rq.allow_dirty && !sel->size_min && round_up(sel->size, ss) > len) {
            /* As with --size: a volume that is not clean grows its partition
             * only, copied as it is (resize_part says so). */
            job->psel[i].bytes = round_up(sel->size, ss);
            continue;
        }
        if (r < 0)
            return r;
        uint64_t want = sel->size_min ? min_size(job, &fi, len, what, ev)
                                      : round_up(sel->size, ss);
        if (want < len && (r = fsresize_fits(&fi, want, what, err)) < 0)
            return r;
        job->psel[i].bytes = want;
    }
    return 0;
}

static const char *fs_name(const fsresize_info *fi)
{
    return fi->fstype[0] ? fi->fstype : "unrecognised";
}

/* An NTFS volume fitted to new_bytes: edited on an overlay of the source
 * partition (zero-extended when it grows), seen through a remapped view in
 * which moved clusters appear at their new places, with the boot sectors
 * written into a last overlay (the one the Windows step and the copy use). */
static int resize_ntfs(convert_job *job, const plan_part *pp, convert_resize_part *rp,
                       const char *what, p2v_err *err)
{
    blockdev *bd = job->src[pp->disk]->bd;
    uint64_t edit = rp->new_bytes > rp->old_bytes ? rp->new_bytes : rp->old_bytes;
    fsresize_ntfs_result res = { 0 };
    int r = bd_window_open(bd, pp->src_offset, pp->src_bytes, edit, &rp->window, err);
    if (r == 0)
        r = bd_overlay_open(rp->window, 0, 0, NULL, &rp->edit, err);
    if (r == 0)
        r = fsresize_ntfs_apply(rp->edit, rp->new_bytes, what, &res, err);
    if (r == 0)
        r = bd_remap_open(rp->edit, rp->new_bytes, res.moves, res.nmoves, &rp->view, err);
    if (r == 0)
        r = bd_overlay_open(rp->view, 0, 0, NULL, &rp->overlay, err);
    if (r == 0)
        r = fsresize_ntfs_finish(rp->overlay, &res, err);
    if (r == 0) {
        char h[32];
        rp->relocated = res.relocated;
        rp->fs_new = (res.sectors + 1) * res.bytes_per_sector;
        /* What happens to the volume, which may differ from what happens
         * to its partition (a volume shorter than its partition may grow
         * in a partition that shrinks). */
        const char *how = rp->fs_new > rp->fi.fs_bytes ? "grown to"
                          : rp->fs_new < rp->fi.fs_bytes ? "shrunk to" : "kept at";
        snprintf(rp->action, sizeof rp->action, "NTFS %s %s (%llu clusters of %u bytes)", how,
                 size_human(rp->fs_new, h, sizeof h), (unsigned long long)res.clusters,
                 res.cluster);
    }
    fsresize_ntfs_result_free(&res);
    return r;
}

static void keep_fs(convert_resize_part *rp, const char *what, const char *why,
                    const convert_events *ev)
{
    const fsresize_info *fi = &rp->fi;
    rp->fs_new = fi->fs_bytes;
    if (rp->new_bytes < rp->old_bytes) {
        snprintf(rp->action, sizeof rp->action, "%s kept at its size (the partition's unused "
                 "tail is left out)", fs_name(fi));
        return;
    }
    if (fi->kind == FSRESIZE_EXT)
        snprintf(rp->action, sizeof rp->action, "%s keeps its size; resize2fs in the guest "
                 "grows it to fill the partition%s%s%s", fs_name(fi), why ? " (" : "",
                 why ? why : "", why ? ")" : "");
    else if (fi->kind == FSRESIZE_FAT)
        snprintf(rp->action, sizeof rp->action, "FAT keeps its size (FAT is not grown)");
    else
        snprintf(rp->action, sizeof rp->action, "%s contents keep their size", fs_name(fi));
    convert_say(ev, CONVERT_NOTICE, "%s: %s", what, rp->action);
}

/* An ext2/3/4 filesystem grown on an overlay of its source partition,
 * zero-extended to the new size; the copy reads that overlay (its used map
 * names the new metadata). Where p2v cannot grow it (features, not clean, no
 * room for descriptors), the overlay goes and the filesystem keeps its size
 * with the reason; 1 then, 0 when grown. */
static int resize_ext(convert_job *job, const plan_part *pp, convert_resize_part *rp,
                      const char *what, p2v_err *err)
{
    blockdev *bd = job->src[pp->disk]->bd;
    fsresize_ext_result res;
    int r = bd_window_open(bd, pp->src_offset, pp->src_bytes, rp->new_bytes, &rp->window, err);
    if (r == 0)
        r = bd_overlay_open(rp->window, 0, 0, NULL, &rp->overlay, err);
    if (r == 0)
        r = fsresize_ext_grow(rp->overlay, rp->new_bytes, pp->src_bytes, what, &res, err);
    if (r == -ENOTSUP || (r == 0 && res.blocks == res.old_blocks)) {
        bd_close(rp->overlay);
        bd_close(rp->window);
        rp->overlay = rp->window = NULL;
        if (r < 0)
            return 1;
        /* Not a job left for the guest either: resize2fs would find
         * nothing to do. */
        rp->fs_new = rp->fi.fs_bytes;
        snprintf(rp->action, sizeof rp->action, "%s keeps its size (the new space is too small "
                 "for another block group; resize2fs would not grow it either)",
                 fs_name(&rp->fi));
        return 0;
    }
    if (r < 0)
        return r;
    char h[32];
    rp->fs_new = res.blocks * res.block_size;
    snprintf(rp->action, sizeof rp->action, "%s grown to %s (%llu blocks of %u bytes, %llu -> "
             "%llu block groups)", fs_name(&rp->fi), size_human(rp->fs_new, h, sizeof h),
             (unsigned long long)res.blocks, res.block_size, (unsigned long long)res.old_groups,
             (unsigned long long)res.groups);
    return 0;
}

/* err->msg without the "what: " that starts it. */
static const char *reason_of(const p2v_err *err, const char *what)
{
    size_t n = strlen(what);
    return strncmp(err->msg, what, n) || strncmp(err->msg + n, ": ", 2) ? err->msg
                                                                         : err->msg + n + 2;
}

static int resize_part(convert_job *job, size_t i, const convert_events *ev, p2v_err *err)
{
    const plan *p = job->plan;
    const plan_part *pp = &p->parts[i];
    convert_resize_part *rp = &job->rs.parts[i];
    rp->old_bytes = pp->src_bytes;
    rp->new_bytes = pp->sectors * p->sector_size;
    if (pp->kind != PLAN_PART_COPY || rp->new_bytes == rp->old_bytes)
        return 0;
    /* Only a size asked for (DISK:N=SIZE|min, or --size for the last
     * partition) changes the filesystem; the last partition's rounding up
     * to the alignment does not. */
    bool asked = job->psel[pp->sel].bytes || (job->rq.plan.size && i == p->nparts - 1);
    if (!asked)
        return 0;
    rp->resized = true;
    char what[300];
    convert_part_source_name(job, pp, what, sizeof what);
    blockdev *bd = job->src[pp->disk]->bd;
    int r = fsresize_check(bd, pp->src_offset, pp->src_bytes, what, &rp->fi, err);
    if (r == -EBUSY && rp->new_bytes > rp->old_bytes && job->rq.allow_dirty) {
        /* --allow-dirty copies such a volume whole; it is not edited. */
        convert_say(ev, CONVERT_WARNING, "%s; it keeps its size (--allow-dirty)", err->msg);
        snprintf(rp->action, sizeof rp->action, "kept at its size (not clean)");
        return 0;
    }
    if (r < 0)
        return r;
    if (rp->new_bytes < rp->old_bytes && (r = fsresize_fits(&rp->fi, rp->new_bytes, what, err)) < 0)
        return r;
    if (rp->fi.kind == FSRESIZE_NTFS) {
        r = resize_ntfs(job, pp, rp, what, err);
        if (r == 0 && rp->new_bytes > rp->old_bytes)
            convert_say(ev, CONVERT_NOTICE, "%s: %s", what, rp->action);
        return r;
    }
    if (rp->fi.kind == FSRESIZE_EXT && rp->new_bytes > rp->old_bytes) {
        r = resize_ext(job, pp, rp, what, err);
        if (r == 0)
            convert_say(ev, CONVERT_NOTICE, "%s: %s", what, rp->action);
        if (r != 1)
            return r;
        keep_fs(rp, what, reason_of(err, what), ev);
        return 0;
    }
    keep_fs(rp, what, NULL, ev);
    return 0;
}

int convert_resize_prepare(convert_job *job, const convert_events *ev, p2v_err *err)
{
    size_t n = job->plan->nparts;
    job->rs.parts = calloc(n ? n : 1, sizeof *job->rs.parts);
    if (!job->rs.parts)
        return p2v_errf(err, -ENOMEM, "out of memory");
    job->rs.n = n;
    for (size_t i = 0; i < n; i++) {
        int r = resize_part(job, i, ev, err);
        if (r < 0)
            return r;
    }
    return 0;
}

blockdev *convert_resize_overlay(const convert_job *job, size_t part)
{
    return part < job->rs.n ? job->rs.parts[part].overlay : NULL;
}

const convert_resize_part *convert_resize_part_of(const convert_job *job, size_t part)
{
    return part < job->rs.n ? &job->rs.parts[part] : NULL;
}

void convert_resize_free(convert_resize *rs)
{
    for (size_t i = 0; rs->parts && i < rs->n; i++) {
        bd_close(rs->parts[i].overlay);
        bd_close(rs->parts[i].view);
        bd_close(rs->parts[i].edit);
        bd_close(rs->parts[i].window);
    }
    free(rs->parts);
    memset(rs, 0, sizeof *rs);
}

int convert_parse_new_size(const char *text, uint64_t *size, bool *min)
{
    *size = 0;
    *min = !strcmp(text, "min");
    if (*min)
        return 0;
    if (size_parse(text, size) < 0 || *size == 0) {
        *size = 0;
        return -EINVAL;
    }
    return 0;
}
