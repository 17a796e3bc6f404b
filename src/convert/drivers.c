/* The Windows driver step of a conversion (docs/drivers.md): for each
 * selected partition holding Windows, the built-in AHCI/IDE drivers at boot
 * start, and with --drivers the virtio drivers; planned from the volume as
 * the Windows step (convert/windows.c) left it, carried out on the
 * partition's edit layer (convert/layers.h), which the copy then reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/layers.h"
#include "convert/steps.h"
#include "windows/drivers.h"
#include "windows/network.h"

static bool needs_virtio(const convert_request *rq)
{
    return drv_bus_service((enum drv_bus)rq->target_bus) != NULL;
}

static void say_job(const convert_events *ev, const char *what, const drv_job *dj)
{
    char desc[96], boot[128] = "", later[160] = "";
    drv_windows_describe(&dj->win, desc, sizeof desc);
    for (size_t i = 0; dj->has_sel && i < dj->sel.n; i++) {
        char *dst = dj->sel.v[i].role == DRV_ROLE_BOOT ? boot : later;
        size_t cap = dj->sel.v[i].role == DRV_ROLE_BOOT ? sizeof boot : sizeof later;
        snprintf(dst + strlen(dst), cap - strlen(dst), "%s%s", *dst ? ", " : "",
                 dj->sel.v[i].pkg.service.name);
    }
    convert_say(ev, CONVERT_NOTICE, "%s: %s: built-in AHCI/IDE drivers set to boot start%s%s%s%s",
                what, desc, *boot ? "; boot drivers " : "", boot,
                *later ? "; staged for first boot: " : "", later);
}

/* Plan from the volume as the Windows step left it (its overlay, else the
 * source), read-only. A Windows whose registry p2v cannot read is copied
 * as it is, with a word, when nothing was asked for. */
static int plan_windows(convert_job *job, size_t i, const char *what, const convert_events *ev,
                     drv_job **out, p2v_err *err)
{
    ntvol *v = NULL;
    int rc = convert_part_ntvol(job, i, false, &v, err);
    if (rc < 0)
        return p2v_err_prefix(err, rc, "%s", what);
    drv_job *dj = calloc(1, sizeof *dj);
    rc = dj ? drv_job_prepare(v, what, job->drv_tree, (enum drv_bus)job->rq.target_bus,
                              (job->rq.keep_services ? DRV_JOB_KEEP_SERVICES : 0) |
                                  (job->rq.network_dhcp ? DRV_JOB_NETWORK_DHCP : 0),
                              job->vm_mac_only ? job->vm_mac : NULL, dj, err)
            : p2v_errf(err, -ENOMEM, "out of memory");
    p2v_err ignored;
    ntvol_close(v, &ignored);
    if (rc < 0 && rc != -ENOMEM && !job->rq.drivers && !needs_virtio(&job->rq)) {
        convert_say(ev, CONVERT_WARNING, "%s: Windows drivers left as they are: %s", what, err->msg);
        rc = 0;
        free(dj);
        dj = NULL;
    }
    if (rc < 0)
        free(dj);
    else
        *out = dj;
    return rc;
}

/* Carry the plan out on the part's edit layer (made here if the Windows
 * step made none; the copy then reads it). */
static int apply_part(convert_job *job, size_t i, const char *what, const drv_job *dj, p2v_err *err)
{
    ntvol *v = NULL;
    int rc = convert_part_ntvol(job, i, true, &v, err);
    if (rc == -EBUSY)
        p2v_err_prefix(err, rc, "%s: the Windows volume is not clean (shut Windows down fully, "
                       "or give --no-windows-fixups to copy it unchanged)", what);
    if (rc == 0)
        rc = drv_job_apply(v, what, job->drv_tree, dj, err);
    if (v) {
        p2v_err cerr;
        int crc = ntvol_close(v, rc == 0 ? err : &cerr);
        rc = rc < 0 ? rc : crc;
    }
    return rc;
}

static int prepare_part(convert_job *job, size_t i, const convert_events *ev, p2v_err *err)
{
    char what[300];
    convert_part_source_name(job, &job->plan->parts[i], what, sizeof what);
    drv_job *dj = NULL;
    int rc = plan_windows(job, i, what, ev, &dj, err);
    if (rc < 0 || !dj)
        return rc;
    job->drv[i] = dj;
    say_job(ev, what, dj);
    return apply_part(job, i, what, dj, err);
}

static bool holds_windows(const convert_job *job, const plan_part *pp)
{
    if (pp->kind != PLAN_PART_COPY || fs_kind_of(pp->fstype) != FS_NTFS)
        return false;
    const convert_part *cp = convert_part_source(job, pp);
    return cp && cp->win_probed && cp->win.win.present;
}

int convert_drivers_prepare(convert_job *job, const convert_events *ev, p2v_err *err)
{
    const convert_request *rq = &job->rq;
    if (rq->no_windows_fixups) {
        if (rq->drivers || rq->target_bus)
            return p2v_errf(err, CONVERT_EUSAGE, "--%s cannot go with --no-windows-fixups",
                            rq->drivers ? "drivers" : "target-bus");
        return 0;
    }
    int rc;
    if (rq->drivers && (rc = drv_tree_open(rq->drivers, &job->drv_tree, err)) < 0)
        return p2v_err_prefix(err, rc, "--drivers");
    size_t n = job->plan->nparts;
    job->drv = calloc(n ? n : 1, sizeof *job->drv);
    if (!job->drv)
        return p2v_errf(err, -ENOMEM, "out of memory");
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (!holds_windows(job, &job->plan->parts[i]))
            continue;
        found = true;
        if ((rc = prepare_part(job, i, ev, err)) < 0)
            return rc;
    }
    if (!found && (rq->drivers || needs_virtio(rq)))
        convert_say(ev, CONVERT_NOTICE, "no Windows among the selected partitions: %s has "
                    "nothing to do", rq->drivers ? "--drivers" : "--target-bus");
    return 0;
}

void convert_drivers_free(convert_job *job)
{
    for (size_t i = 0; job->drv && i < job->plan->nparts; i++) {
        drv_job_free(job->drv[i]);
        free(job->drv[i]);
    }
    free(job->drv);
    drv_tree_close(job->drv_tree);
    job->drv = NULL;
    job->drv_tree = NULL;
}

/* Part i's driver job, with the part's DISK:N name in what; NULL if it has none. */
static const drv_job *reported(const convert_job *job, size_t i, char *what, size_t n)
{
    const drv_job *dj = job->drv ? job->drv[i] : NULL;
    if (dj)
        convert_part_source_name(job, &job->plan->parts[i], what, n);
    return dj;
}

void convert_drivers_text(const convert_job *job, FILE *f)
{
    char what[300];
    for (size_t i = 0; job->drv && i < job->plan->nparts; i++) {
        const drv_job *dj = reported(job, i, what, sizeof what);
        if (!dj)
            continue;
        fprintf(f, "\n%s: ", what);
        drv_report_text(&dj->win, dj->has_sel ? &dj->sel : NULL, job->drv_tree, &dj->plan, f);
        if (dj->net)
            net_report_text(dj->net, &dj->win, dj->net_keep, f);
    }
}

void convert_drivers_json(const convert_job *job, json_writer *j)
{
    json_key(j, "windows_drivers");
    json_arr_begin(j);
    char what[300];
    for (size_t i = 0; job->drv && i < job->plan->nparts; i++) {
        const drv_job *dj = reported(job, i, what, sizeof what);
        if (!dj)
            continue;
        json_obj_begin(j);
        json_kstr(j, "partition", what);
        json_ku64(j, "number", job->plan->parts[i].number);
        json_key(j, "changes");
        drv_report_json(&dj->win, dj->has_sel ? &dj->sel : NULL, job->drv_tree, &dj->plan, j);
        if (dj->net)
            net_report_json(dj->net, &dj->win, dj->net_keep, j);
        json_obj_end(j);
    }
    json_arr_end(j);
}
