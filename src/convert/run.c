/* Writing a planned job: the new table's sectors and formatted ESPs (the
 * "regions"), the selected partitions through the copy engine with their
 * fixups, verify, then the file gets its name. All or nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev/overlay.h"
#include "source/source.h"
#include "boot/boot.h"
#include "convert/layers.h"
#include "convert/steps.h"
#include "copy/copy.h"
#include "copy/salvage.h"
#include "fs/fsmap.h"
#include "fs/relocate.h"
#include "sink/guard.h"
#include "util/size.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- table regions, written in offset order between partitions ---- */

struct region {
    uint64_t off;
    size_t len;
    uint8_t *data;
};

struct regions {
    struct region *v;
    size_t n, next;
    sink *sink;
};

static int capture_region(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct regions *rs = ctx;
    struct region *n = realloc(rs->v, (rs->n + 1) * sizeof *n);
    if (!n)
        return p2v_errf(err, -ENOMEM, "out of memory");
    rs->v = n;
    if (!(n[rs->n].data = malloc(len)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    memcpy(n[rs->n].data, buf, len);
    n[rs->n].off = offset;
    n[rs->n].len = len;
    rs->n++;
    return 0;
}

static int cmp_region(const void *a, const void *b)
{
    const struct region *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int flush_regions(struct regions *rs, uint64_t limit, p2v_err *err)
{
    for (; rs->next < rs->n && rs->v[rs->next].off < limit; rs->next++) {
        int r = sink_write(rs->sink, rs->v[rs->next].off, rs->v[rs->next].data,
                           rs->v[rs->next].len, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static void regions_free(struct regions *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].data);
    free(rs->v);
}

/* New ESPs: their few non-zero sectors join the table regions. */
static int format_new_esps(const convert_job *job, struct regions *rs, p2v_err *err)
{
    const plan *p = job->plan;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_SYNTHETIC || pp->role != PLAN_ROLE_ESP)
            continue;
        int r = boot_format_esp_tree(pp->start, pp->sectors, p->sector_size,
                                     convert_windows_esp_tree(job, i), capture_region, rs, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- the copy job: one range per copied partition ---- */

struct job_ranges {
    salvage *salvage;
    copy_range *ranges;
    size_t *part;               /* plan part index of each range */
    fsmap *maps;
    reloc_patches *patches;
    char (*names)[300];
    size_t n;
};

static void ranges_free(struct job_ranges *jb)
{
    for (size_t i = 0; i < jb->n; i++) {
        fsmap_free(&jb->maps[i]);
        reloc_patches_free(&jb->patches[i]);
    }
    salvage_free(jb->salvage);
    free(jb->ranges);
    free(jb->part);
    free(jb->maps);
    free(jb->patches);
    free(jb->names);
}

/* fsmap names the disk ("DISK: partition at byte ..."): DISK:N replaces it
 * rather than repeating it. */
static int fsmap_error(const char *name, blockdev *bd, int rc, p2v_err *err)
{
    const char *path = bd_path(bd);
    size_t n = strlen(path);
    /* where: "<path>" or "<path>: partition at byte N", which the message starts with */
    if (p2v_err_names(err, path) && (!err->where[n] || err->where[n] == ':')) {
        char rest[sizeof err->msg];
        snprintf(rest, sizeof rest, "%s", err->msg + n + 2);
        return p2v_errf_at(err, rc, name, "%s", rest);
    }
    return p2v_err_prefix(err, rc, "%s", name);
}

/* The blocks an overlay changed are copied even where the edited
 * filesystem's map would not name them. */
static int add_overlay_blocks(blockdev *ov, fsmap *m, p2v_err *err)
{
    extent_list w;
    int r = bd_overlay_written(ov, &w, err);
    for (size_t i = 0; r == 0 && !m->full && i < w.count; i++)
        if (extent_list_add(&m->used, w.v[i].start, w.v[i].len) < 0)
            r = p2v_errf(err, -ENOMEM, "out of memory");
    if (r == 0 && !m->full)
        extent_list_normalize(&m->used);
    extent_list_free(&w);
    return r;
}

/* The notice of Windows' page, swap and hibernation files left out of a map. */
static void say_system_files(const char *name, const fs_sysfiles *sf, const convert_events *ev)
{
    char list[160] = "", h[32];
    for (size_t i = 0; i < sf->n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 sf->v[i].name);
    convert_say(ev, CONVERT_NOTICE, "%s: %s not copied (%s saved): %s as zeros, Windows "
                "recreates %s (--copy-system-files copies %s)", name, list,
                size_human(sf->bytes, h, sizeof h), sf->n > 1 ? "they read" : "it reads",
                sf->n > 1 ? "them" : "it", sf->n > 1 ? "them" : "it");
}

static int prepare_range(convert_job *job, const plan_part *pp, struct job_ranges *jb,
                         const convert_events *ev, p2v_err *err)
{
    const plan *p = job->plan;
    size_t k = jb->n++;
    /* The top of the partition's stack: the source, or the overlay the
     * resize step or the Windows fixes edited it in. */
    convert_view view;
    convert_part_view(job, jb->part[k], &view);
    blockdev *bd = view.bd;
    uint64_t src_off = view.off;
    uint64_t dst_len = pp->sectors * p->sector_size;
    /* A partition made smaller than its source (its filesystem fits) ends there. */
    uint64_t src_len = view.len < dst_len ? view.len : dst_len;
    copy_range *r = &jb->ranges[k];
    convert_part_source_name(job, pp, jb->names[k], sizeof jb->names[k]);
    *r = (copy_range){ .src = bd, .src_offset = src_off, .src_len = src_len,
                       .dst_offset = pp->start * p->sector_size,
                       .dst_len = dst_len, .what = jb->names[k],
                       .salvage = jb->salvage };
    if (!job->rq.copy_all) {
        fsmap_opts fo = { .allow_dirty = job->rq.allow_dirty,
                          .skip_system_files = !job->rq.copy_system_files };
        int rc = fsmap_build(bd, src_off, src_len, &fo, &jb->maps[k], err);
        if (rc == -EIO && job->rq.bad_sectors == SALVAGE_ZERO) {
            /* unreadable metadata: no map to trust; every readable sector is copied */
            convert_say(ev, CONVERT_NOTICE, "%s: copying every sector: its filesystem's "
                        "metadata cannot be read (%s)", jb->names[k], err->msg);
            memset(&jb->maps[k], 0, sizeof jb->maps[k]);
            jb->maps[k].full = true;
            rc = 0;
        }
        if (rc == 0 && view.overlay)
            rc = add_overlay_blocks(view.bd, &jb->maps[k], err);
        if (rc < 0)
            return fsmap_error(jb->names[k], bd, rc, err);
        if (!jb->maps[k].full && jb->maps[k].skipped.n)
            say_system_files(jb->names[k], &jb->maps[k].skipped, ev);
        if (!jb->maps[k].full)
            r->used = &jb->maps[k].used;
        else if (jb->maps[k].notice[0])
            convert_say(ev, CONVERT_NOTICE, "%s: copying every sector: %s", jb->names[k],
                        jb->maps[k].notice);
    }
    int rc = reloc_build(bd, src_off, src_len, pp->start, r->dst_len,
                         p->sector_size, jb->names[k], &jb->patches[k], err);
    if (rc < 0)
        return rc;
    reloc_patches *rp = &jb->patches[k];
    if (rp->hidden_too_big)
        convert_say(ev, CONVERT_WARNING,
                    "%s: starts beyond sector 2^32; its boot sector cannot record that "
                    "position and is left as it was", jb->names[k]);
    if (rp->backup_bad)
        convert_say(ev, CONVERT_WARNING,
                    "%s: the backup boot sector is not valid on the source; left as it was",
                    jb->names[k]);
    r->patches = rp;
    return 0;
}

static int prepare_ranges(convert_job *job, struct job_ranges *jb, const convert_events *ev,
                          p2v_err *err)
{
    size_t n = job->plan->nparts;
    jb->ranges = calloc(n, sizeof *jb->ranges);
    jb->part = calloc(n, sizeof *jb->part);
    jb->maps = calloc(n, sizeof *jb->maps);
    jb->patches = calloc(n, sizeof *jb->patches);
    jb->names = calloc(n, sizeof *jb->names);
    if (!jb->ranges || !jb->part || !jb->maps || !jb->patches || !jb->names)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int rc = salvage_new(job->rq.bad_sectors, &jb->salvage, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (job->plan->parts[i].kind != PLAN_PART_COPY)
            continue;
        jb->part[jb->n] = i;
        int r = prepare_range(job, &job->plan->parts[i], jb, ev, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- progress ---- */

struct run_state {
    struct regions rs;
    const struct job_ranges *jb;
    const convert_events *ev;
    convert_progress pr;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct run_state *st = ctx;
    if (done < st->pr.done)     /* the engine's counts only grow; say so to callers */
        done = st->pr.done;
    st->pr.done = done;
    st->pr.total = total;
    if (st->ev && st->ev->progress)
        st->ev->progress(st->ev->ctx, &st->pr);
}

static int before_range(void *ctx, const copy_range *r, p2v_err *err)
{
    struct run_state *st = ctx;
    st->pr.part = st->jb->part[(size_t)(r - st->jb->ranges)];
    return flush_regions(&st->rs, r->dst_offset, err);
}

/* ---- bad sectors written as zeros: what they cost ---- */

/* "sectors 2148-2149, 5048" of the runs of range k, in the disk's sectors. */
static void runs_text(const salvage *sv, const char *what, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < salvage_count(sv) && used + 32 < cap; i++) {
        const salvage_bad *b = salvage_get(sv, i);
        if (strcmp(b->what, what))
            continue;
        uint64_t a = b->disk_offset / b->sector_size;
        uint64_t e = (b->disk_offset + b->len - 1) / b->sector_size;
        used += (size_t)snprintf(out + used, cap - used, used ? ", %llu" : "%llu",
                                 (unsigned long long)a);
        if (e != a && used < cap)
            used += (size_t)snprintf(out + used, cap - used, "-%llu", (unsigned long long)e);
    }
    if (used + 32 >= cap)
        snprintf(out + cap - 8, 8, ", ...");
}

/* The files of range k that hold bytes of `bad` (range-relative), said in
 * one message: "sectors ...: /a, /b" or "no file affected (free space)". */
static void say_files(convert_job *job, const struct job_ranges *jb, size_t k,
                      const extent_list *bad, const char *sectors, const convert_events *ev)
{
    const copy_range *r = &jb->ranges[k];
    const plan_part *pp = &job->plan->parts[jb->part[k]];
    const char *fstype = jb->maps[k].fstype[0] ? jb->maps[k].fstype : pp->fstype;
    extent_list abs = { 0 };
    blockdev *masked = NULL;
    fs_names names = { 0 };
    p2v_err e;
    int rc = 0;
    /* the source as its copy now reads: known bad sectors as zeros, never re-read */
    for (size_t i = 0; i < salvage_count(jb->salvage) && rc == 0; i++) {
        const salvage_bad *b = salvage_get(jb->salvage, i);
        if (!strcmp(b->what, r->what))
            rc = extent_list_add(&abs, b->src_offset, b->len);
    }
    if (rc < 0 || (rc = bd_open_masked(r->src, &abs, &masked, &e)) < 0 ||
        (rc = fs_files_at(masked, r->src_offset, r->src_len, fstype, bad, &names, &e)) < 0) {
        convert_say(ev, CONVERT_WARNING, "%s: %s: cannot tell which files lost data: %s",
                    r->what, sectors, rc == -ENOMEM ? "out of memory" : e.msg);
    } else if (names.count == 0) {
        convert_say(ev, CONVERT_WARNING, "%s: %s: no file affected (free space)",
                    r->what, sectors);
    } else {
        char list[1000];
        size_t used = 0;
        list[0] = '\0';
        for (size_t i = 0; i < names.count && used + 8 < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     names.v[i]);
        convert_say(ev, CONVERT_WARNING, "%s: %s: data lost in %s", r->what, sectors,
                    list);
    }
    fs_names_free(&names);
    bd_close(masked);
    extent_list_free(&abs);
}

/* Say per range which sectors were zero-filled and which files they hit
 * (each run on its own when there are few, else all at once). */
static void say_range_losses(convert_job *job, const struct job_ranges *jb, size_t k,
                             const convert_events *ev)
{
    extent_list bad = { 0 };
    p2v_err e;
    char sectors[400];
    const char *what = jb->ranges[k].what;
    if (salvage_extents_of(jb->salvage, what, &bad, &e) < 0 || bad.count == 0) {
        extent_list_free(&bad);
        return;
    }
    size_t runs = 0;
    for (size_t i = 0; i < salvage_count(jb->salvage); i++)
        runs += !strcmp(salvage_get(jb->salvage, i)->what, what);
    if (runs <= 16) {
        /* each run on its own, named in the source disk's sectors */
        for (size_t i = 0; i < salvage_count(jb->salvage); i++) {
            const salvage_bad *b = salvage_get(jb->salvage, i);
            if (strcmp(b->what, what))
                continue;
            extent_list one = { 0 };
            uint64_t a = b->disk_offset / b->sector_size;
            uint64_t z = (b->disk_offset + b->len - 1) / b->sector_size;
            if (a == z)
                snprintf(sectors, sizeof sectors, "sector %llu", (unsigned long long)a);
            else
                snprintf(sectors, sizeof sectors, "sectors %llu-%llu", (unsigned long long)a,
                         (unsigned long long)z);
            if (extent_list_add(&one, b->rel, b->len) == 0)
                say_files(job, jb, k, &one, sectors, ev);
            extent_list_free(&one);
        }
    } else {
        memcpy(sectors, "sectors ", 8);
        runs_text(jb->salvage, what, sectors + 8, sizeof sectors - 8);
        say_files(job, jb, k, &bad, sectors, ev);
    }
    extent_list_free(&bad);
}

static int salvage_report(convert_job *job, const struct job_ranges *jb, const convert_events *ev,
                          convert_result *res, p2v_err *err)
{
    const salvage *sv = jb->salvage;
    if (salvage_count(sv) == 0)
        return 0;
    res->bad_bytes = salvage_bad_bytes(sv);
    for (size_t i = 0; i < salvage_count(sv); i++) {
        const salvage_bad *b = salvage_get(sv, i);
        res->bad_sectors += (b->len + b->sector_size - 1) / b->sector_size;
    }
    snprintf(res->badmap, sizeof res->badmap, "%s", job->badmap);
    FILE *f = job->badmap[0] ? fopen(res->badmap, "w") : NULL;
    if (!f) {
        int e = job->badmap[0] ? errno : EINVAL;
        res->badmap[0] = '\0';
        return p2v_errf(err, -e, "%s: cannot create the bad-sector map: %s", job->badmap,
                        strerror(e));
    }
    int r = salvage_write_map(sv, plan_disk_bytes(job->plan), f, err);
    if (fclose(f) != 0 && r == 0)
        r = p2v_errf(err, -EIO, "%s: %s", res->badmap, strerror(errno));
    if (r < 0)
        return r;
    convert_say(ev, CONVERT_WARNING,
                "%llu unreadable sectors (%llu bytes) were written as zeros; their map (ddrescue "
                "format) is %s", (unsigned long long)res->bad_sectors,
                (unsigned long long)res->bad_bytes, res->badmap);
    for (size_t k = 0; k < jb->n; k++)
        say_range_losses(job, jb, k, ev);
    return 0;
}

static int verify_image(convert_job *job, sink *sk, const struct job_ranges *jb,
                        copy_opts *co, struct run_state *st, convert_result *res, p2v_err *err)
{
    blockdev *img = NULL;
    int r;
    st->pr = (convert_progress){ .phase = CONVERT_PHASE_VERIFY };
    if ((r = sink_readback_open(sk, &img, err)) < 0)
        return p2v_err_prefix(err, r, "verify");
    if (bd_size(img) != plan_disk_bytes(job->plan))
        r = p2v_errf(err, -EIO, "verify: the image's virtual size is %llu, not %llu",
                     (unsigned long long)bd_size(img),
                     (unsigned long long)plan_disk_bytes(job->plan));
    else
        r = copy_verify(jb->ranges, jb->n, img, co, &res->verified, err);
    bd_close(img);
    if (r == 0)
        res->verify_ok = true;
    return r;
}

/* Tell the sink every range that will be written (a stream plans its
 * layout from it before the first byte). */
static int announce_layout(sink *sk, const struct regions *rs, const struct job_ranges *jb,
                           p2v_err *err)
{
    extent_list all = { 0 };
    int r = 0;
    for (size_t i = 0; i < rs->n && r == 0; i++)
        r = extent_list_add(&all, rs->v[i].off, rs->v[i].len);
    for (size_t i = 0; i < jb->n && r == 0; i++) {
        extent_list l;
        if ((r = copy_range_extents(&jb->ranges[i], sink_granularity(sk), &l)) < 0)
            break;
        for (size_t k = 0; k < l.count && r == 0; k++)
            r = extent_list_add(&all, jb->ranges[i].dst_offset + l.v[k].start, l.v[k].len);
        extent_list_free(&l);
    }
    if (r < 0) {
        extent_list_free(&all);
        return p2v_errf(err, r, "out of memory");
    }
    extent_list_normalize(&all);
    r = sink_set_layout(sk, &all, err);
    extent_list_free(&all);
    return r;
}

static int interrupted(volatile sig_atomic_t *cancel, p2v_err *err)
{
    return cancel && *cancel ? p2v_errf(err, -EINTR, "interrupted by a signal") : 0;
}

static int write_image(convert_job *job, sink *sk, const struct job_ranges *jb,
                       const convert_events *ev, volatile sig_atomic_t *cancel,
                       convert_result *res, p2v_err *err)
{
    int r;
    struct run_state st = { .rs = { .sink = sk }, .jb = jb, .ev = ev };
    ptable *t = NULL;

    if ((r = plan_to_ptable(job->plan, &t, err)) < 0 ||
        (r = ptable_serialize(t, capture_region, &st.rs, err)) < 0 ||
        (r = format_new_esps(job, &st.rs, err)) < 0)
        goto out;
    qsort(st.rs.v, st.rs.n, sizeof *st.rs.v, cmp_region);
    if ((r = announce_layout(sk, &st.rs, jb, err)) < 0)
        goto out;
    copy_opts co = { .progress = on_progress, .progress_ctx = &st, .cancel = cancel,
                     .before_range = before_range, .before_ctx = &st,
                     .queue_depth = job->rq.queue_depth };
    sink_copy_opts(sk, &co);
    copy_stats cs;
    if ((r = copy_run(jb->ranges, jb->n, &co, &cs, err)) < 0 ||
        (r = flush_regions(&st.rs, UINT64_MAX, err)) < 0 || (r = interrupted(cancel, err)) < 0 ||
        (r = sink_finish(sk, err)) < 0)
        goto out;
    for (size_t i = 0; i < jb->n; i++)
        if (!jb->maps[i].full)
            res->system_files_bytes += jb->maps[i].skipped.bytes;
    res->planned = cs.planned;
    res->read = cs.read;
    res->written = cs.written;
    res->copy = cs;
    res->file_bytes = sink_file_bytes(sk);
    if ((r = salvage_report(job, jb, ev, res, err)) < 0)
        goto out;
    if (job->rq.verify && (r = verify_image(job, sk, jb, &co, &st, res, err)) < 0)
        goto out;
    if ((r = interrupted(cancel, err)) < 0)
        goto out;
    r = sink_commit(sk, err);
out:
    if (r < 0 && res->badmap[0]) {
        unlink(res->badmap);
        res->badmap[0] = '\0';
    }
    regions_free(&st.rs);
    plan_ptable_free(t);
    return r;
}

int convert_run(convert_job *job, const convert_events *ev, volatile sig_atomic_t *cancel,
                convert_result *res, p2v_err *err)
{
    struct job_ranges jb = { 0 };
    sink *sk = NULL;
    double t0 = now_s();
    int r;
    *res = (convert_result){ 0 };
    if (!job->rq.output)
        return p2v_errf(err, -EINVAL, "no OUTPUT to write");
    sink_opts so = job->rq.sink;
    so.io_timeout = job->rq.io_timeout;
    so.queue_depth = job->rq.queue_depth;
    char where[1024];
    if ((r = prepare_ranges(job, &jb, ev, err)) < 0 ||
        (r = sink_create(job->write_path ? job->write_path : job->rq.output,
                         plan_disk_bytes(job->plan), &so, &sk, err)) < 0)
        goto out;
    sink_describe(sk, where, sizeof where);
    snprintf(res->target, sizeof res->target, "%s", where);
    if (where[0])
        convert_say(ev, CONVERT_NOTICE, "%s: %s", job->rq.output, where);
    if ((r = write_image(job, sk, &jb, ev, cancel, res, err)) < 0)
        goto out;
    res->done = true;
    res->seconds = now_s() - t0;
out:;
    struct sink_target_info ti;
    sink_target_info(job->rq.output, &ti);
    if (r < 0 && sk && ti.partial)
        p2v_err_prefix(err, r, "%s: %s", job->rq.output, ti.partial);
    /* A signal that broke a read or write shows as that error: say it was a signal. */
    if (r < 0 && r != -EINTR && r != -EPIPE && cancel && *cancel) {
        char was[sizeof err->msg];
        snprintf(was, sizeof was, "%s", err->msg);
        r = p2v_errf(err, -EINTR, "interrupted by a signal (%s)", was);
    }
    p2v_err derr;
    if (r < 0 && sk && sink_discard(sk, &derr) < 0) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "; %s", derr.msg);
    }
    char *temp = r < 0 && sk && sink_temp_path(sk) ? strdup(sink_temp_path(sk)) : NULL;
    sink_close(sk);
    p2v_err terr;
    if (temp && sink_guard_remove_temp(temp, &terr) < 0) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "; %s", terr.msg);
    }
    free(temp);
    ranges_free(&jb);
    return r;
}
