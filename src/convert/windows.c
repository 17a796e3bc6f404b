/* The Windows step of a conversion, made while planning so the dry run
 * shows it and refuses what the run would refuse: the map from every
 * copied partition's old identity to its new one, then the Windows fixes
 * of convert_winfixes[] (convert/winfix.h), each a row: per partition the
 * part fixes that apply (BCD device elements, MountedDevices, ReAgent.xml),
 * then the job fixes (the firmware switches of convert/bcdboot.c). Edits go
 * to the partition's edit layer (convert/layers.h); the source is never
 * written, and the copy reads the edited layer, whose written blocks join
 * its used-block map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/steps.h"
#include "convert/winfix.h"
#include "fs/fatbuild.h"

/* The table: part fixes in the order they run on a partition, then job
 * fixes. A new fix is a file defining its row and one line here (and its
 * extern in winfix.h). */
static const convert_winfix *const rows[] = {
    &convert_winfix_bcd,
    &convert_winfix_mounted_devices,
    &convert_winfix_reagent,
    &convert_winfix_firmware_bios,
    &convert_winfix_firmware_uefi,
};
const convert_winfix *const *const convert_winfixes = rows;
const size_t convert_nwinfixes = sizeof rows / sizeof rows[0];
_Static_assert(sizeof rows / sizeof rows[0] <= CONVERT_WINFIX_MAX,
               "convert_winstate.changed has a count per row");

static int build_map(convert_job *job, p2v_err *err)
{
    const plan *p = job->plan;
    convert_winstate *ws = &job->win;
    ws->moves = calloc(p->nparts ? p->nparts : 1, sizeof *ws->moves);
    if (!ws->moves)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY)
            continue;
        win_move *mv = &ws->moves[ws->nmoves++];
        mv->from = convert_win_source_id(job, pp);
        mv->to = convert_win_target_id(p, pp);
        convert_part_source_name(job, pp, mv->what, sizeof mv->what);
    }
    return 0;
}

static bool part_fix_applies(const convert_winfix *f, const convert_job *job,
                             const convert_part *cp)
{
    return f->run_part && f->applies(job, cp);
}

/* The part fixes that apply to plan part i: an NTFS volume is read once,
 * as it reads now, and every file they rewrote is written in one mount. */
static int fix_part(convert_job *job, size_t i, const convert_part *cp, p2v_err *err)
{
    char name[300];
    convert_winvol vol = { .job = job, .part = i, .cp = cp, .name = name };
    bool any = false;
    for (size_t k = 0; k < convert_nwinfixes; k++)
        any = any || part_fix_applies(convert_winfixes[k], job, cp);
    if (!any)
        return 0;
    convert_part_source_name(job, &job->plan->parts[i], name, sizeof name);
    bool ntfs = cp->fs.kind == FS_NTFS;
    int r = ntfs ? convert_part_ntvol(job, i, false, &vol.v, err) : 0;
    for (size_t k = 0; r == 0 && k < convert_nwinfixes; k++)
        if (part_fix_applies(convert_winfixes[k], job, cp))
            r = convert_winfixes[k]->run_part(&vol, &job->win.changed[k], err);
    p2v_err e2;
    if (vol.v)
        ntvol_close(vol.v, &e2);
    vol.v = NULL;
    if (r == 0)
        r = convert_winvol_write(&vol, err);
    convert_winvol_free(&vol);
    if (r < 0) /* named here unless a lower layer named this partition */
        p2v_err_at(err, r, name, "Windows fixups");
    if (r == -EBUSY && ntfs) {
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
        const convert_part *cp = convert_part_source(job, pp);
        if (!cp)
            continue;
        if (cp->win_probed && (cp->win.bcd_bios || cp->win.bcd_efi || cp->win.win.bcd_template))
            store = true;
        if (cp->fs.kind == FS_FAT && pp->role == PLAN_ROLE_ESP)
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
        const convert_part *cp = convert_part_source(job, &job->plan->parts[i]);
        if (cp && cp->win_probed)
            r = fix_part(job, i, cp, err);
    }
    for (size_t k = 0; r == 0 && k < convert_nwinfixes; k++)
        if (convert_winfixes[k]->run_job)
            r = convert_winfixes[k]->run_job(job, &job->win.changed[k], err);
    for (size_t i = 0; r == 0 && i < job->win.rep.warnings.count; i++)
        convert_say(ev, CONVERT_WARNING, "%s", job->win.rep.warnings.msgs[i]);
    return r;
}

void convert_winstate_free(convert_winstate *ws)
{
    free(ws->moves);
    fatbuild_free(ws->esp_tree);
    win_report_free(&ws->rep);
    memset(ws, 0, sizeof *ws);
}
