/* Partitions of their own size (DISK:N=SIZE, DISK:N=min, the last one grown
 * by --size): sizes chosen before planning, and after planning each
 * filesystem fitted to its new partition on a copy-on-write overlay, or
 * left at its size with a notice, as its row in the fs driver table decides
 * (fsresize_apply: NTFS grows and shrinks, ext2/3/4 grows where it can, FAT
 * and the rest keep their size). The copy then reads a resized partition
 * from its overlay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* DISK:N=min: used + margin for a filesystem that shrinks (never below the
 * last used byte), the filesystem's own size for the rest, never more than
 * the source. */
static uint64_t min_size(const convert_job *job, const fsresize_info *fi, uint64_t src_bytes,
                         const char *what, const convert_events *ev)
{
    uint64_t align = job->rq.plan.align ? job->rq.plan.align : 1ULL << 20;
    uint64_t want = fi->min_bytes;
    uint64_t margin = job->rq.min_free;
    char h1[32];
    if (!margin && !job->rq.min_free_set)
        margin = fi->used_bytes / 10 > CONVERT_MIN_FREE_FLOOR ? fi->used_bytes / 10
                                                              : CONVERT_MIN_FREE_FLOOR;
    if (!fsresize_min(fi, margin, &want))
        convert_say(ev, CONVERT_NOTICE, "%s=min: %s cannot be shrunk; the partition keeps the "
                    "filesystem's size", what, fi->fstype[0] ? fi->fstype : "its contents");
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
        snprintf(rp->fs.action, sizeof rp->fs.action, "kept at its size (not clean)");
        return 0;
    }
    if (r < 0)
        return r;
    if (rp->new_bytes < rp->old_bytes && (r = fsresize_fits(&rp->fi, rp->new_bytes, what, err)) < 0)
        return r;
    r = fsresize_apply(bd, pp->src_offset, pp->src_bytes, rp->new_bytes, &rp->fi, what, &rp->fs,
                       err);
    /* A partition that grows says what happens to its filesystem; one that
     * shrinks tells in the report. */
    if (r >= 0 && rp->new_bytes > rp->old_bytes)
        convert_say(ev, CONVERT_NOTICE, "%s: %s", what, rp->fs.action);
    return r < 0 ? r : 0;
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
    return part < job->rs.n ? job->rs.parts[part].fs.overlay : NULL;
}

const convert_resize_part *convert_resize_part_of(const convert_job *job, size_t part)
{
    return part < job->rs.n ? &job->rs.parts[part] : NULL;
}

void convert_resize_free(convert_resize *rs)
{
    for (size_t i = 0; rs->parts && i < rs->n; i++)
        fsresize_done_free(&rs->parts[i].fs);
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
