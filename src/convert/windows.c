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
#include "fs/fatfile.h"
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
    int r = wf->overlays[i] ? 0
                            : bd_overlay_open(job->src[pp->disk]->bd, pp->src_offset,
                                              pp->src_bytes, NULL, &wf->overlays[i], err);
    if (r == 0)
        r = fatvol_open(wf->overlays[i], 0, pp->src_bytes, true, &v, err);
    if (r == 0)
        r = fatvol_read_file(v, path, HIVE_MAX, &data, &len, err);
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
    if (r < 0 && strncmp(err->msg, name, strlen(name)))
        p2v_err_prefix(err, r, "%s: Windows fixups", name);
    return r;
}

static int fix_part(convert_job *job, size_t i, const convert_part *cp, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    blockdev *bd = job->src[pp->disk]->bd;
    char name[300];
    ntvol *v = NULL;
    convert_part_source_name(job, pp, name, sizeof name);
    int r = bd_overlay_open(bd, pp->src_offset, pp->src_bytes, NULL, &job->win.overlays[i], err);
    if (r == 0)
        r = ntvol_open(job->win.overlays[i], 0, pp->src_bytes, NTVOL_WRITE, &v, err);
    if (r == 0 && cp->win.bcd_bios)
        r = fix_hive(job, v, name, "\\Boot\\BCD", true, err);
    if (r == 0 && cp->win.win.present)
        r = fix_hive(job, v, name, "\\Windows\\System32\\config\\SYSTEM", false, err);
    p2v_err e2;
    int rc = v ? ntvol_close(v, r < 0 ? &e2 : err) : 0;
    r = r < 0 ? r : rc;
    if (r < 0 && strncmp(err->msg, name, strlen(name)))
        p2v_err_prefix(err, r, "%s: Windows fixups", name);
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

/* ---- firmware switch to BIOS: an offline bcdboot ---- */

#define PCAT_MAX 64
#define PCAT_FILE_MAX ((size_t)16 << 20)

struct pcat {
    char *name[PCAT_MAX];
    size_t n;
};

static int pcat_add(void *ctx, const char *name, bool is_dir)
{
    struct pcat *p = ctx;
    if (!is_dir && p->n < PCAT_MAX && !(p->name[p->n] = strdup(name)))
        return -ENOMEM;
    p->n += !is_dir && p->n < PCAT_MAX;
    return 0;
}

/* A read-only look at plan part i: through its overlay when it has one. */
static int open_ro(convert_job *job, size_t i, ntvol **v, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    blockdev *ov = job->win.overlays ? job->win.overlays[i] : NULL;
    return ov ? ntvol_open(ov, 0, pp->src_bytes, 0, v, err)
              : ntvol_open(job->src[pp->disk]->bd, pp->src_offset, pp->src_bytes, 0, v, err);
}

static int copy_file(ntvol *from, ntvol *to, const char *src, const char *dst, p2v_err *err)
{
    uint8_t *d = NULL;
    size_t len = 0;
    int r = ntvol_read_file(from, src, PCAT_FILE_MAX, &d, &len, err);
    if (r == 0)
        r = ntvol_write_file(to, dst, d, len, err);
    free(d);
    return r;
}

/* bootmgr at the root and \Windows\Boot\PCAT's files in \Boot of the active
 * partition, and a \Boot\BCD made from BCD-Template. */
static int bios_boot_files(convert_job *job, size_t wi, size_t ai, ntvol *win, ntvol *act,
                           p2v_err *err)
{
    const plan *p = job->plan;
    const convert_part *wcp = source_part(job, &p->parts[wi]);
    struct pcat pc = { 0 };
    uint8_t *tmpl = NULL, *out = NULL;
    size_t tlen = 0, olen = 0;
    win_hive *h = NULL;
    char path[600], name[300];
    convert_part_source_name(job, &p->parts[ai], name, sizeof name);
    int r = ntvol_list(win, "/Windows/Boot/PCAT", pcat_add, &pc, err);
    if (r == 0)
        r = ntvol_mkdir(act, "/Boot", err);
    if (r == 0)
        r = copy_file(win, act, "/Windows/Boot/PCAT/bootmgr", "/bootmgr", err);
    for (size_t i = 0; r == 0 && i < pc.n && i < PCAT_MAX; i++) {
        snprintf(path, sizeof path, "/Windows/Boot/PCAT/%s", pc.name[i]);
        char dst[600];
        snprintf(dst, sizeof dst, "/Boot/%s", pc.name[i]);
        r = copy_file(win, act, path, dst, err);
    }
    if (r == 0)
        r = ntvol_read_file(win, "/Windows/System32/config/BCD-Template", HIVE_MAX, &tmpl, &tlen,
                            err);
    snprintf(path, sizeof path, "%s \\Boot\\BCD", name);
    if (r == 0)
        r = win_hive_open(tmpl, tlen, true, path, &h, err);
    win_bcd_bios b = { .boot = target_id(p, &p->parts[ai]), .os = target_id(p, &p->parts[wi]),
                       .description = wcp->win.win.product[0] ? wcp->win.win.product : NULL };
    if (r == 0)
        r = win_bcd_create_bios(h, &b, &job->win.rep, err);
    if (r == 0 && (r = win_hive_save(h, &out, &olen, err)) == 0)
        r = ntvol_write_file(act, "/Boot/BCD", out, olen, err);
    if (r == 0)
        p2v_warn(&job->win.rep.changes, "%s: firmware switch to BIOS: \\bootmgr and %zu files "
                 "in \\Boot from \\Windows\\Boot\\PCAT, a new \\Boot\\BCD from BCD-Template",
                 name, pc.n);
    for (size_t i = 0; i < pc.n && i < PCAT_MAX; i++)
        free(pc.name[i]);
    win_hive_close(h);
    free(tmpl);
    free(out);
    return r;
}

static int bios_switch(convert_job *job, size_t wi, size_t ai, p2v_err *err)
{
    const plan_part *ap = &job->plan->parts[ai];
    const convert_part *acp = source_part(job, ap);
    char name[300];
    convert_part_source_name(job, ap, name, sizeof name);
    if (!acp || strcmp(acp->fs.type, "ntfs"))
        return p2v_errf(err, -EINVAL, "%s: the active partition must be NTFS to hold Windows' "
                        "BIOS boot files (bootmgr, \\Boot); make Windows' partition active "
                        "(--active)", name);
    ntvol *win = NULL, *act = NULL;
    int r = 0;
    if (!job->win.overlays[ai])
        r = bd_overlay_open(job->src[ap->disk]->bd, ap->src_offset, ap->src_bytes, NULL,
                            &job->win.overlays[ai], err);
    /* The Windows files are read first, from its overlay; the active
     * partition may be the same volume, so it is opened for writing after. */
    if (r == 0 && wi != ai)
        r = open_ro(job, wi, &win, err);
    if (r == 0)
        r = ntvol_open(job->win.overlays[ai], 0, ap->src_bytes, NTVOL_WRITE, &act, err);
    if (r == 0)
        r = bios_boot_files(job, wi, ai, win ? win : act, act, err);
    p2v_err e2;
    if (win)
        ntvol_close(win, &e2);
    int rc = act ? ntvol_close(act, r < 0 ? &e2 : err) : 0;
    r = r < 0 ? r : rc;
    if (r < 0 && strncmp(err->msg, name, strlen(name)))
        p2v_err_prefix(err, r, "%s: firmware switch to BIOS", name);
    return r;
}

/* BIOS target, Windows selected, and no BIOS boot store among the
 * selection (it booted UEFI): make one. */
static int maybe_bios_switch(convert_job *job, p2v_err *err)
{
    const plan *p = job->plan;
    size_t wi = SIZE_MAX, ai = SIZE_MAX;
    bool bios_store = false;
    if (p->firmware != PLAN_FW_BIOS)
        return 0;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        const convert_part *cp = pp->kind == PLAN_PART_COPY ? source_part(job, pp) : NULL;
        if (pp->bootable)
            ai = i;
        if (cp && cp->win_probed && cp->win.bcd_bios)
            bios_store = true;
        if (cp && cp->win_probed && cp->win.win.present && cp->win.win.bcd_template &&
            wi == SIZE_MAX)
            wi = i;
    }
    if (bios_store || wi == SIZE_MAX)
        return 0;
    if (ai == SIZE_MAX || p->parts[ai].kind != PLAN_PART_COPY)
        return p2v_errf(err, -EINVAL, "firmware switch to BIOS: no selected partition is "
                        "active to hold Windows' boot files (--active DISK:N)");
    return bios_switch(job, wi, ai, err);
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
        r = maybe_bios_switch(job, err);
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
