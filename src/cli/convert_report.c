/* p2v convert --report-url: what the command tells the receiver and when. */
#include "cli/convert_report.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bootcheck/bootcheck.h"
#include "cli/commands.h"
#include "util/json.h"

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    cli_warning("%s", msg);
}

int cli_report_open(struct cli_report *cr, const char *url, const char *token_file,
                    const char *ca_file,
                    unsigned io_timeout)
{
    memset(cr, 0, sizeof *cr);
    if (!url)
        return P2V_EXIT_OK;
    /* P2V_MACHINE_ROOT: a sysfs tree standing for this PC (docs/fleet.md),
     * so that one machine can play many PCs in a test or a demo. */
    fleet_opts o = { .url = url, .token_file = token_file, .ca_file = ca_file,
                     .io_timeout = io_timeout,
                     .machine_root = getenv("P2V_MACHINE_ROOT"), .warn = on_warn };
    p2v_err err;
    if (fleet_reporter_open(&o, &cr->rep, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}

int cli_report_start(struct cli_report *cr, const convert_request *rq)
{
    if (!cr->rep)
        return P2V_EXIT_OK;
    p2v_err err;
    char **sel = calloc(rq->nsels ? rq->nsels : 1, sizeof *sel);
    int rc = sel ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < rq->nsels; i++)
        if (asprintf(&sel[i], "%s:%u", rq->sels[i].disk, rq->sels[i].number) < 0)
            sel[i] = NULL, rc = -1;
    if (rc == 0)
        rc = fleet_reporter_set_job(cr->rep, rq->output, (const char *const *)sel, rq->nsels,
                                    &err);
    for (size_t i = 0; sel && i < rq->nsels; i++)
        free(sel[i]);
    free(sel);
    if (rc == 0)
        rc = fleet_report_start(cr->rep, &err);
    else
        snprintf(err.msg, sizeof err.msg, "out of memory");
    if (rc < 0) {
        cli_error("%s; nothing was written", err.msg);
        fleet_reporter_free(cr->rep);   /* a failed report would not get through either */
        cr->rep = NULL;
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}

void cli_report_progress(struct cli_report *cr, const convert_job *job,
                         const convert_progress *p)
{
    if (!cr->rep)
        return;
    double t = mono_s();
    if (!cr->phase_open || p->phase != cr->phase) {
        cr->phase = p->phase;
        cr->phase_open = true;
        cr->t0 = t;
    }
    double el = t - cr->t0, rate = el > 0 ? (double)p->done / el : 0;
    const plan *pl = convert_job_plan(job);
    fleet_progress fp = { .stage = p->phase == CONVERT_PHASE_VERIFY ? "verify" : "copy",
                          .partition = pl && p->part < pl->nparts ? pl->parts[p->part].number : 0,
                          .bytes_done = p->done, .bytes_total = p->total, .rate = rate,
                          .eta = rate > 0 ? (double)(p->total - p->done) / rate : -1 };
    fleet_report_progress(cr->rep, &fp);
}

struct result_ctx {
    const convert_job *job;
    const convert_result *res;
    const char *output;
    const bootcheck_result *bres;
};

static void write_result(json_writer *j, void *ctx)
{
    const struct result_ctx *rc = ctx;
    convert_layout_json_open(rc->job, j, rc->res);
    if (rc->bres) {
        json_key(j, "boot_check");
        cli_bootcheck_json(j, rc->output, NULL, rc->bres);
    }
    json_obj_end(j);
}

int cli_report_finish(struct cli_report *cr, const convert_job *job, const convert_result *res,
                      const char *output, const struct bootcheck_result *bres)
{
    if (!cr->rep)
        return P2V_EXIT_OK;
    struct result_ctx ctx = { job, res, output, bres };
    p2v_err err;
    if (fleet_report_finish(cr->rep, write_result, &ctx, &err) < 0) {
        cli_error("%s (the image is written)", err.msg);
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}

int cli_report_close(struct cli_report *cr, int status)
{
    if (!cr->rep)
        return status;
    p2v_err err;
    int rc = 0;
    if (!fleet_reporter_ended(cr->rep)) {
        if (status == P2V_EXIT_OK)
            rc = fleet_report_finish(cr->rep, NULL, NULL, &err);
        else
            rc = fleet_report_failed(cr->rep, cli_first_error()[0] ? cli_first_error()
                                                                   : "usage error", &err);
    }
    if (rc < 0) {
        cli_error("%s", err.msg);
        status = P2V_EXIT_FAIL;
    }
    fleet_reporter_free(cr->rep);
    cr->rep = NULL;
    return status;
}
