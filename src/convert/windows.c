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
#include "fs/fatbuild.h"
#include "fs/fatfile.h"
#include "convert/convert_impl.h"


static win_part_id source_id(const convert_job *job, const plan_part *pp)
{
    const ptable *t = job->src[pp->disk]->pt;
    win_part_id id = { .gpt = t->type == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = t->disk_guid;
        id.part_guid = pp->src->uuid;
    } else {
        id.mbr_signature = t->mbr_signature;
    }
    id.mbr_offset = pp->src_offset;
    return id;
}

win_part_id convert_win_target_id(const plan *p, const plan_part *pp)
{
    win_part_id id = { .gpt = p->table == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = p->disk_guid;
        id.part_guid = pp->uuid;
    } else {
        id.mbr_signature = p->mbr_signature;
    }
    id.mbr_offset = pp->start * p->sector_size;
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
        mv->to = convert_win_target_id(p, pp);
        convert_part_source_name(job, pp, mv->what, sizeof mv->what);
    }
    return 0;
}

const convert_part *convert_win_source_part(const convert_job *job, const plan_part *pp)
{
    if (pp->kind != PLAN_PART_COPY)
        return NULL;
    return convert_disk_part(job->src[pp->disk], pp->src->number);
}

/* Read a hive file of the volume and rewrite it in memory: *out holds the
 * new bytes, or stays NULL when nothing changed. */
static int fix_hive(convert_job *job, ntvol *v, const char *name, const char *path, bool bcd,
                    uint8_t **out, size_t *olen, p2v_err *err)
{
    convert_winfix *wf = &job->win;
    win_map m = { wf->moves, wf->nmoves };
    uint8_t *data = NULL;
    size_t len = 0;
    win_hive *h = NULL;
    unsigned changed = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", name, path);
    *out = NULL;
    int r = ntvol_read_file(v, path, CONVERT_HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = win_hive_open(data, len, true, what, &h, err);
    if (r == 0)
        r = bcd ? win_bcd_rewrite(h, &m, what, &wf->rep, &changed, err)
                : win_md_rewrite(h, &m, &wf->rep, &changed, err);
    if (r == 0 && changed)
        r = win_hive_save(h, out, olen, err);
    if (bcd)
        wf->bcd_changed += changed;
    else
        wf->md_changed += changed;
    win_hive_close(h);
    free(data);
    return r;
}

#define REAGENT "\\Windows\\System32\\Recovery\\ReAgent.xml"
#define REAGENT_MAX ((size_t)1 << 20)

/* WinRE's ReAgent.xml, rewritten in memory when it names a moved
 * partition (*out NULL otherwise, or when there is none). */
static int fix_reagent(convert_job *job, ntvol *v, const char *name, uint8_t **out, size_t *olen,
                       p2v_err *err)
{
    convert_winfix *wf = &job->win;
    win_map m = { wf->moves, wf->nmoves };
    uint8_t *data = NULL;
    size_t len = 0;
    unsigned changed = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", name, REAGENT);
    *out = NULL;
    p2v_err e2;
    if (ntvol_read_file(v, REAGENT, REAGENT_MAX, &data, &len, &e2) < 0)
        return 0; /* no WinRE configured (or unreadable): nothing to keep right */
    int r = win_reagent_rewrite(data, len, &m, what, out, olen, &wf->rep, &changed, err);
    wf->reagent_changed += changed;
    free(data);
    return r;
}

/* The overlay plan part i is edited in: its resize overlay when it was
 * resized (the resize step owns it), else its own, made on first use. */
int convert_part_overlay(convert_job *job, size_t i, blockdev **ov, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    *ov = convert_resize_overlay(job, i);
    if (*ov)
        return 0;
    if (!job->win.overlays || i >= job->win.noverlays)
        return p2v_errf(err, -EINVAL, "internal: no overlay table for plan part %zu", i);
    int r = job->win.overlays[i] ? 0
                                 : bd_overlay_open(job->src[pp->disk]->bd, pp->src_offset,
                                                   pp->src_bytes, NULL, &job->win.overlays[i],
                                                   err);
    *ov = job->win.overlays[i];
    return r;
}

/* A BCD on a FAT volume (an ESP's \EFI\Microsoft\Boot\BCD, or \Boot\BCD on a
 * FAT System Reserved partition), rewritten in place. */
static int fix_fat_bcd(convert_job *job, size_t i, const char *path, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    convert_winfix *wf = &job->win;
    win_map m = { wf->moves, wf->nmoves };
    char name[300], what[600];
    fatvol *v = NULL;
    win_hive *h = NULL;
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    unsigned changed = 0;
    convert_part_source_name(job, pp, name, sizeof name);
    snprintf(what, sizeof what, "%s %s", name, path);
    blockdev *ov = NULL;
    int r = convert_part_overlay(job, i, &ov, err);
    if (r == 0)
        r = fatvol_open(ov, 0, bd_size(ov), true, &v, err);
    if (r == 0)
        r = fatvol_read_file(v, path, CONVERT_HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = win_hive_open(data, len, true, what, &h, err);
    if (r == 0)
        r = win_bcd_rewrite(h, &m, what, &wf->rep, &changed, err);
    if (r == 0 && changed && (r = win_hive_save(h, &out, &olen, err)) == 0)
        r = fatvol_replace_file(v, path, out, olen, err);
    wf->bcd_changed += changed;
    win_hive_close(h);
    fatvol_close(v);
    free(data);
    free(out);
    if (r < 0) /* named here unless a lower layer named this partition */
        p2v_err_at(err, r, name, "Windows fixups");
    return r;
}

struct hive_edit {
    const char *path;
    uint8_t *data;            /* new bytes, NULL: unchanged */
    size_t len;
};

/* Write the changed hives into the partition's overlay (made here): the
 * volume is mounted for writing only when something changes. */
static int write_edits(convert_job *job, size_t i, struct hive_edit *ed, size_t n, p2v_err *err)
{
    ntvol *v = NULL;
    blockdev *ov = NULL;
    int r = convert_part_overlay(job, i, &ov, err);
    if (r == 0)
        r = ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, &v, err);
    for (size_t k = 0; r == 0 && k < n; k++)
        if (ed[k].data)
            r = ntvol_write_file(v, ed[k].path, ed[k].data, ed[k].len, err);
    p2v_err e2;
    int rc = v ? ntvol_close(v, r < 0 ? &e2 : err) : 0;
    return r < 0 ? r : rc;
}

static int fix_part(convert_job *job, size_t i, const convert_part *cp, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    char name[300];
    ntvol *v = NULL;
    struct hive_edit ed[3] = { { .path = "\\Boot\\BCD" },
                               { .path = "\\Windows\\System32\\config\\SYSTEM" },
                               { .path = REAGENT } };
    convert_part_source_name(job, pp, name, sizeof name);
    /* A resized partition is read (and edited) in its resized view. */
    blockdev *rov = convert_resize_overlay(job, i);
    int r = rov ? ntvol_open(rov, 0, bd_size(rov), 0, &v, err)
                : ntvol_open(job->src[pp->disk]->bd, pp->src_offset, pp->src_bytes, 0, &v, err);
    if (r == 0 && cp->win.bcd_bios)
        r = fix_hive(job, v, name, ed[0].path, true, &ed[0].data, &ed[0].len, err);
    if (r == 0 && cp->win.win.present)
        r = fix_hive(job, v, name, ed[1].path, false, &ed[1].data, &ed[1].len, err);
    if (r == 0 && cp->win.win.present)
        r = fix_reagent(job, v, name, &ed[2].data, &ed[2].len, err);
    p2v_err e2;
    if (v)
        ntvol_close(v, &e2);
    if (r == 0 && (ed[0].data || ed[1].data || ed[2].data))
        r = write_edits(job, i, ed, 3, err);
    for (size_t k = 0; k < 3; k++)
        free(ed[k].data);
    if (r < 0) /* named here unless a lower layer named this partition */
        p2v_err_at(err, r, name, "Windows fixups");
    if (r == -EBUSY) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "; shut Windows down fully, or pass "
                 "--no-windows-fixups to copy it without fixing its boot references");
    }
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
        const convert_part *cp = convert_win_source_part(job, pp);
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
        const convert_part *cp = convert_win_source_part(job, pp);
        if (!cp || !cp->win_probed)
            continue;
        if (!strcmp(cp->fs.type, "vfat")) {
            if (cp->win.bcd_efi)
                r = fix_fat_bcd(job, i, "\\EFI\\Microsoft\\Boot\\BCD", err);
            if (r == 0 && cp->win.bcd_bios)
                r = fix_fat_bcd(job, i, "\\Boot\\BCD", err);
        } else if (!strcmp(cp->fs.type, "ntfs") && (cp->win.win.present || cp->win.bcd_bios))
            r = fix_part(job, i, cp, err);
    }
    if (r == 0)
        r = convert_bcdboot_bios(job, err);
    if (r == 0)
        r = convert_bcdboot_uefi(job, err);
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
    fatbuild_free(wf->esp_tree);
    win_report_free(&wf->rep);
    memset(wf, 0, sizeof *wf);
}
