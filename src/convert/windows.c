/* The Windows step of a conversion, made while planning so the dry run
 * shows it and refuses what the run would refuse: every selected NTFS
 * partition holding Windows or a BIOS boot store gets a copy-on-write
 * overlay; its BCD device elements and MountedDevices are rewritten there
 * (the source is never written); the copy then reads that partition from
 * the overlay, whose written blocks join its used-block map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "convert/convert_impl.h"

#define HIVE_MAX ((size_t)1 << 30)

static win_part_id source_id(const convert_job *job, const plan_part *pp)
{
    const ptable *t = job->src[pp->disk]->pt;
    win_part_id id = { .gpt = t->type == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = t->disk_guid;
        id.part_guid = pp->src->uuid;
    } else {
        id.mbr_signature = t->mbr_signature;
        id.mbr_offset = pp->src_offset;
    }
    return id;
}

static win_part_id target_id(const plan *p, const plan_part *pp)
{
    win_part_id id = { .gpt = p->table == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = p->disk_guid;
        id.part_guid = pp->uuid;
    } else {
        id.mbr_signature = p->mbr_signature;
        id.mbr_offset = pp->start * p->sector_size;
    }
    return id;
}

static int build_map(convert_job *job, p2v_err *err)
{
    const plan *p = job->plan;
    convert_winfix *wf = &job->win;
    wf->moves = calloc(p->nparts ? p->nparts : 1, sizeof *wf->moves);
    wf->overlays = calloc(p->nparts ? p->nparts : 1, sizeof *wf->overlays);
    if (!wf->moves || !wf->overlays)
        return p2v_errf(err, -ENOMEM, "out of memory");
    wf->noverlays = p->nparts;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY)
            continue;
        win_move *mv = &wf->moves[wf->nmoves++];
        mv->from = source_id(job, pp);
        mv->to = target_id(p, pp);
        convert_part_source_name(job, pp, mv->what, sizeof mv->what);
    }
    return 0;
}

static const convert_part *source_part(const convert_job *job, const plan_part *pp)
{
    return convert_disk_part(job->src[pp->disk], pp->src->number);
}

/* Read a hive file of the volume, rewrite it, write it back when it changed. */
static int fix_hive(convert_job *job, ntvol *v, const char *name, const char *path, bool bcd,
                    p2v_err *err)
{
    convert_winfix *wf = &job->win;
    win_map m = { wf->moves, wf->nmoves };
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    win_hive *h = NULL;
    unsigned changed = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", name, path);
    int r = ntvol_read_file(v, path, HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = win_hive_open(data, len, true, what, &h, err);
    if (r == 0)
        r = bcd ? win_bcd_rewrite(h, &m, what, &wf->rep, &changed, err)
                : win_md_rewrite(h, &m, &wf->rep, &changed, err);
    if (r == 0 && changed && (r = win_hive_save(h, &out, &olen, err)) == 0)
        r = ntvol_write_file(v, path, out, olen, err);
    if (bcd)
        wf->bcd_changed += changed;
    else
        wf->md_changed += changed;
    win_hive_close(h);
    free(data);
    free(out);
    return r;
}

static int fix_part(convert_job *job, size_t i, const convert_part *cp, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    blockdev *bd = job->src[pp->disk]->bd;
    char name[300];
    ntvol *v = NULL;
    convert_part_source_name(job, pp, name, sizeof name);
    /* A resized partition is edited on its resize overlay (which the resize
     * step owns), else on an overlay of its own. */
    blockdev *ov = convert_resize_overlay(job, i);
    int r = ov ? 0 : bd_overlay_open(bd, pp->src_offset, pp->src_bytes, NULL,
                                     &job->win.overlays[i], err);
    if (!ov)
        ov = job->win.overlays[i];
    if (r == 0)
        r = ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, &v, err);
    if (r == 0 && cp->win.bcd_bios)
        r = fix_hive(job, v, name, "\\Boot\\BCD", true, err);
    if (r == 0 && cp->win.win.present)
        r = fix_hive(job, v, name, "\\Windows\\System32\\config\\SYSTEM", false, err);
    p2v_err e2;
    int rc = v ? ntvol_close(v, r < 0 ? &e2 : err) : 0;
    r = r < 0 ? r : rc;
    if (r < 0 && strncmp(err->msg, name, strlen(name)))
        p2v_err_prefix(err, r, "%s: Windows fixups", name);
    return r;
}

/* Windows selected without any boot store among the selection (no BCD on a
 * selected NTFS partition, no ESP selected, no BCD-Template to make one):
 * the image could not start it. */
static int check_boot_store(const convert_job *job, p2v_err *err)
{
    const plan *p = job->plan;
    const char *win_name = NULL;
    char name[300] = "";
    bool store = false;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        const convert_part *cp = pp->kind == PLAN_PART_COPY ? source_part(job, pp) : NULL;
        if (!cp)
            continue;
        if (cp->win_probed && (cp->win.bcd_bios || cp->win.bcd_efi || cp->win.win.bcd_template))
            store = true;
        if (!strcmp(cp->fs.type, "vfat") && pp->role == PLAN_ROLE_ESP)
            store = true;
        if (cp->win_probed && cp->win.win.present && !win_name) {
            convert_part_source_name(job, pp, name, sizeof name);
            win_name = name;
        }
    }
    if (win_name && !store)
        return p2v_errf(err, -ENOENT,
                        "%s holds Windows, but no selected partition holds a boot store "
                        "(\\Boot\\BCD, an EFI System Partition) and it has no "
                        "\\Windows\\System32\\config\\BCD-Template to make one: select its "
                        "System Reserved or EFI System Partition too, or pass "
                        "--no-windows-fixups",
                        win_name);
    return 0;
}

int convert_windows_prepare(convert_job *job, const convert_events *ev, p2v_err *err)
{
    if (job->rq.no_windows_fixups)
        return 0;
    int r = check_boot_store(job, err);
    if (r == 0)
        r = build_map(job, err);
    for (size_t i = 0; r == 0 && i < job->plan->nparts; i++) {
        const plan_part *pp = &job->plan->parts[i];
        const convert_part *cp = pp->kind == PLAN_PART_COPY ? source_part(job, pp) : NULL;
        if (cp && cp->win_probed && (cp->win.win.present || cp->win.bcd_bios))
            r = fix_part(job, i, cp, err);
    }
    for (size_t i = 0; r == 0 && i < job->win.rep.warnings.count; i++)
        convert_say(ev, CONVERT_WARNING, "%s", job->win.rep.warnings.msgs[i]);
    return r;
}

blockdev *convert_windows_overlay(const convert_job *job, size_t part)
{
    return part < job->win.noverlays ? job->win.overlays[part] : NULL;
}

void convert_winfix_free(convert_winfix *wf)
{
    for (size_t i = 0; wf->overlays && i < wf->noverlays; i++)
        bd_close(wf->overlays[i]);
    free(wf->overlays);
    free(wf->moves);
    win_report_free(&wf->rep);
    memset(wf, 0, sizeof *wf);
}
