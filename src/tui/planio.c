/* The picking screen's plan files: the current plan saved as p2v convert
 * --save-plan writes it, and a saved plan's picks and options loaded back
 * (docs/plan-files.md). No terminal here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/planfile.h"
#include "tui/tui.h"

int tui_save_plan(const tui_state *s, const char *path, p2v_err *err)
{
    if (!s->valid || !s->job)
        return p2v_errf(err, -EINVAL, "no valid plan to save (%s)", s->status);
    return convert_planfile_save(s->job, path, err);
}

static void on_plan_message(void *ctx, enum convert_level level, const char *msg)
{
    p2v_warn(ctx, "%s%s", level == CONVERT_WARNING ? "warning: " : "", msg);
}

/* The index of the listed disk PATH, opening and listing it if needed. */
static int listed_disk(tui_state *s, const char *path, size_t *index, p2v_err *err)
{
    for (size_t i = 0; i < s->ndisks; i++)
        if (!strcmp(s->disks[i].path, path) && s->disks[i].d) {
            *index = i;
            return 0;
        }
    convert_disk *d;
    convert_disk_opts o = { .sector_size = s->sector_size, .used = true };
    int r = convert_disk_open(path, &o, &d, err);
    if (r < 0 || (r = tui_add_disk(s, d, err)) < 0)
        return r;
    *index = s->ndisks - 1;
    return 0;
}

static void take_options(tui_state *s, const convert_request *rq)
{
    tui_target *t = &s->target;
    free(t->active_disk);
    t->active_disk = NULL;
    t->table = rq->plan.table;
    t->boot = rq->plan.boot;
    t->size = rq->plan.size;
    t->align = rq->plan.align;
    t->no_msr = rq->plan.no_msr;
    t->add_esp = 0;
    for (size_t i = 0; i < rq->plan.nextra; i++)
        if (rq->plan.extra[i].role == PLAN_ROLE_ESP)
            t->add_esp = rq->plan.extra[i].bytes;
    t->format = rq->sink.format;
    t->compression = rq->sink.compression;
    t->cluster_size = rq->sink.cluster_size;
    t->copy_all = rq->copy_all;
    t->allow_dirty = rq->allow_dirty;
    t->min_free = rq->min_free;
    t->min_free_set = rq->min_free_set;
    t->verify = rq->verify;
    t->force = rq->force;
    if (rq->vmdef.spec && strlen(rq->vmdef.spec) < sizeof t->vmdef)
        snprintf(t->vmdef, sizeof t->vmdef, "%s", rq->vmdef.spec);
    /* "-" would stream into this screen: the current output stays */
    struct sink_target_info ti;
    sink_target_info(rq->output, &ti);
    if (rq->output && !ti.to_stdout && strlen(rq->output) < sizeof t->output)
        snprintf(t->output, sizeof t->output, "%s", rq->output);
    if (rq->active && (t->active_disk = strdup(rq->active->disk)))
        t->active_number = rq->active->number;
}

int tui_load_plan(tui_state *s, const char *path, const char *const *candidates, size_t n,
                  p2v_warnings *notes, p2v_err *err)
{
    convert_planfile *pf = NULL;
    convert_events ev = { .message = on_plan_message, .ctx = notes };
    const convert_request *rq;
    int r;
    if ((r = convert_planfile_load(path, &pf, err)) < 0)
        return r;
    if ((r = convert_planfile_resolve(pf, candidates, n, &ev, err)) < 0)
        goto out;
    if (!(rq = convert_planfile_request(pf))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (rq->sector_size)
        s->sector_size = rq->sector_size;
    size_t *idx = calloc(rq->nsels ? rq->nsels : 1, sizeof *idx);
    if (!idx) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < rq->nsels && r == 0; i++)
        r = listed_disk(s, rq->sels[i].disk, &idx[i], err);
    if (r == 0) {
        tui_clear_picks(s);
        for (size_t i = 0; i < rq->nsels && r == 0; i++) {
            r = tui_toggle(s, idx[i], rq->sels[i].number, err);
            size_t pos = tui_pick_pos(s, s->disks[idx[i]].path, rq->sels[i].number);
            if (r == 0 && pos) {    /* the plan's own sizes (selections[].new_size) */
                s->picks[pos - 1].size = rq->sels[i].size;
                s->picks[pos - 1].size_min = rq->sels[i].size_min;
            }
        }
        take_options(s, rq);
    }
    free(idx);
out:
    if (r < 0)
        p2v_err_prefix(err, r, "%s", path);
    convert_planfile_free(pf);
    return r;
}
