/* p2v convert: selected partitions of one or more disks into a new image with
 * a fresh partition table. The run and its output; the arguments are parsed
 * in convert_args.c, the work is src/convert/. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootcheck/bootcheck.h"
#include "cli/commands.h"
#include "cli/copy_timing.h"
#include "convert/convert.h"
#include "convert/planfile.h"
#include "qcow2/qcow2.h"
#include "sink/sink.h"
#include "util/json.h"
#include "windows/drivers.h"
#include "util/nametmpl.h"
#include "util/size.h"

#include "cli/convert_args.h"
#include "cli/convert_report.h"
#include "cli/convert_vmdef.h"

struct progress {
    bool on;
    bool open;                  /* a bar is on the line, not yet ended */
    enum convert_phase phase;
    double t0, last;
    struct cli_report *report;  /* --report-url */
    const convert_job *job;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const convert_progress *p)
{
    struct progress *pr = ctx;
    double t = now_s();
    cli_report_progress(pr->report, pr->job, p);
    if (!pr->on)
        return;
    if (!pr->open || p->phase != pr->phase) {
        if (pr->open)
            fputc('\n', stderr);
        pr->phase = p->phase;
        pr->t0 = t;
        pr->last = 0;
        pr->open = true;
    }
    if (t - pr->last < 0.2 && p->done < p->total)
        return;
    pr->last = t;
    double el = t - pr->t0, rate = el > 0 ? (double)p->done / el : 0;
    int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\r%s [%s] %3d%% %7.1f MiB/s ETA %d:%02d ",
            p->phase == CONVERT_PHASE_VERIFY ? "verifying" : "copying", bar, pct,
            rate / 1048576.0, (int)eta / 60, (int)eta % 60);
    if (p->done >= p->total) {
        fputc('\n', stderr);
        pr->open = false;
    }
    fflush(stderr);
}

/* ---- the command ---- */

static volatile sig_atomic_t g_cancel;

/* --boot-check: boot what was just written, with the firmware the plan made
 * it for. P2V_EXIT_OK when it booted; the verdict is in *bres when *checked. */
static int boot_check(convert_job *job, const char *output, bootcheck_result *bres,
                      bool *checked)
{
    enum plan_firmware fw = convert_job_plan(job)->firmware;
    bootcheck_opts o = { .image = output, .notice = cli_bootcheck_notice, .cancel = &g_cancel,
                         .fw_reason = "the firmware the image was made for",
                         .fw = fw == PLAN_FW_UEFI   ? BOOTCHECK_FW_UEFI
                               : fw == PLAN_FW_BIOS ? BOOTCHECK_FW_BIOS
                                                    : BOOTCHECK_FW_AUTO };
    p2v_err err;
    sink_signals sigs;
    sink_catch_signals(&sigs, &g_cancel);
    int r = bootcheck_run(&o, bres, &err);
    sink_restore_signals(&sigs);
    *checked = r == 0;
    if (r < 0) {
        cli_error("boot-check %s: %s (the image is kept)", output, err.msg);
        return P2V_EXIT_FAIL;
    }
    if (bres->verdict != BOOTCHECK_BOOTED)
        return cli_bootcheck_failure_line(output, bres);
    cli_notice("boot-check %s: booted: %s", output, bres->reason);
    return P2V_EXIT_OK;
}

static int run(convert_job *job, const char *output, const struct convert_args *a,
               struct cli_report *report)
{
    struct progress pr = { .on = a->progress, .report = report, .job = job };
    convert_events ev = { .message = cli_convert_message, .progress = on_progress, .ctx = &pr };
    convert_result res;
    p2v_err err = { { 0 } };
    struct sink_target_info ti;
    sink_target_info(output, &ti);
    /* Every signal that would kill us mid-copy cancels instead, so that the
     * temporary file is removed: Ctrl-C, kill, a dropped ssh session (HUP),
     * a closed pipe, Ctrl-\ and the user signals. */
    sink_signals sigs;
    sink_catch_signals(&sigs, &g_cancel);
    int r = convert_run(job, &ev, &g_cancel, &res, &err);
    sink_restore_signals(&sigs);
    if (pr.open)
        fputc('\n', stderr);
    if (r < 0) {
        cli_error("%s", err.msg);
        if (ti.to_stdout)
            cli_error("the image on standard output is incomplete");
        else if (!ti.direct)
            cli_error("%s was not written", output);
        return P2V_EXIT_FAIL;
    }
    cli_print_copy_timing(&res.copy);
    char h1[32], h2[32], h3[32];
    bool direct = ti.direct;
    cli_notice("%s written: %s virtual, %s copied, %s %s, %.1f s%s",
               ti.to_stdout ? ti.what : output,
               size_human(plan_disk_bytes(convert_job_plan(job)), h1, sizeof h1),
               size_human(res.read, h2, sizeof h2), size_human(res.file_bytes, h3, sizeof h3),
               direct ? "sent" : "in the file", res.seconds, res.verify_ok ? ", verified" : "");
    int status = P2V_EXIT_OK;
    bootcheck_result bres;
    bool checked = false;
    convert_vmdef_done vd;
    bool vm_written = false;
    if (a->vmdef.spec) {
        status = cli_write_vmdef(job, output, &vd);
        vm_written = status == P2V_EXIT_OK;
    }
    if (a->boot_check && status == P2V_EXIT_OK) {
        status = boot_check(job, output, &bres, &checked);
        if (checked && !a->json)
            cli_bootcheck_text(stderr, output, &bres);
    }
    if (cli_report_finish(report, job, &res, output, checked ? &bres : NULL) != P2V_EXIT_OK)
        status = P2V_EXIT_FAIL;
    if (a->json) {
        json_writer j;
        json_init(&j, stdout);
        convert_layout_json_open(job, &j, &res);
        if (vm_written)
            cli_vmdef_json(&j, &vd);
        if (checked) {
            json_key(&j, "boot_check");
            cli_bootcheck_json(&j, output, NULL, &bres);
        }
        json_obj_end(&j);
        json_end(&j);
    }
    return status;
}

/* The request the library takes, from the parsed arguments. */
static int make_request(struct convert_args *a, convert_request *rq, convert_sel **sels,
                        convert_sel *active)
{
    convert_sel *s = calloc((size_t)a->nsels, sizeof *s);
    if (!s)
        return -1;
    *sels = s;
    for (int i = 0; i < a->nsels; i++)
        if (convert_parse_sel_sized(a->sels[i], (char **)&s[i].disk, &s[i].number, &s[i].size,
                            &s[i].size_min) < 0)
            return -1;
    if (a->active && convert_parse_sel(a->active, (char **)&active->disk, &active->number) < 0)
        return -1;
    *rq = (convert_request){ .output = a->output, .sink = a->sink, .plan = a->plan,
                             .sels = s, .nsels = (size_t)a->nsels,
                             .active = a->active ? active : NULL,
                             .sector_size = a->sector_size, .copy_all = a->copy_all,
                             .copy_system_files = a->copy_system_files,
                             .allow_dirty = a->allow_dirty, .verify = a->verify,
                             .force = a->force, .no_windows_fixups = a->no_windows_fixups,
                             .min_free = a->min_free, .min_free_set = a->min_free_set,
                             .drivers = a->drivers, .target_bus = a->target_bus,
                             .keep_services = a->keep_services,
                             .network_dhcp = a->network_dhcp,
                             .allow_mounted = a->allow_mounted, .bad_sectors = a->bad_sectors,
                             .bad_sectors_map = a->bad_sectors_map,
                             .queue_depth = a->queue_depth, .io_timeout = a->io_timeout,
                             .vmdef = a->vmdef };
    /* P2V_MACHINE_ROOT: a sysfs tree standing for this PC (as for reports). */
    rq->vmdef.machine_root = getenv("P2V_MACHINE_ROOT");
    return 0;
}

/* --plan FILE: the request from the file, its disks found again by identity.
 * What shapes the result comes from the file (convert_args.c refuses it
 * here); where and how this run happens may be given on top: -o, --drivers
 * and --bad-sectors-map replace the plan's paths, -f, --verify, -j, --queue-depth and
 * --allow-mounted apply (docs/plan-files.md). */
static int load_plan(const struct convert_args *a, const convert_events *ev,
                     convert_planfile **pf, convert_request *rq)
{
    p2v_err err;
    /* DISK...: the disks to look on (default: the machine's) */
    if (convert_planfile_load(a->plan_file, pf, &err) < 0 ||
        convert_planfile_resolve(*pf, a->nsels ? (const char *const *)a->sels : NULL,
                                 (size_t)a->nsels, ev, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    const convert_request *prq = convert_planfile_request(*pf);
    if (!prq) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    *rq = *prq;
    if (a->output)
        rq->output = a->output;
    rq->force = rq->sink.force = a->force;
    rq->verify = rq->verify || a->verify;
    rq->sink.threads = a->sink.threads;
    rq->queue_depth = a->queue_depth;
    rq->io_timeout = a->io_timeout;
    struct sink_target_info ti;
    sink_target_info(rq->output, &ti);
    if (ti.raw_only)
        rq->sink.format = SINK_RAW;   /* an NBD export receives the disk itself */
    if (a->drivers)
        rq->drivers = a->drivers;   /* where the tree is on this machine */
    if (a->bad_sectors_map)
        rq->bad_sectors_map = a->bad_sectors_map;
    rq->allow_mounted = a->allow_mounted;
    if (a->vmdef.spec)
        rq->vmdef = a->vmdef;       /* the VM around the image, on top of the plan */
    rq->vmdef.machine_root = getenv("P2V_MACHINE_ROOT");
    if (!rq->output && !a->dry_run && !a->save_plan)
        return convert_usage_error("%s", "no OUTPUT given (-o OUTPUT; the plan names none)");
    return 0;
}

/* The VM definition: the command line's (--vm-def and its options, as a
 * whole: load_plan put it in rq) or else the plan's, written after the run. */
static void plan_vmdef(struct convert_args *a, const convert_request *rq)
{
    if (!a->vmdef.spec && rq->vmdef.spec && !a->dry_run)
        a->vmdef = rq->vmdef;
}

/* A role plan's role of each selection, for the report (NULL otherwise). */
static const char **plan_roles(const convert_planfile *pf)
{
    if (!pf || pf->version != CONVERT_PLANFILE_ROLES || !pf->npicks)
        return NULL;
    const char **v = calloc(pf->npicks, sizeof *v);
    for (size_t i = 0; v && i < pf->npicks; i++)
        v[i] = role_name(pf->roles[pf->picks[i].entry].sel.role);
    return v;
}

/* OUTPUT's {fields} filled from this PC (into name), and the PC's
 * ComputerName for the report. 0 or an exit status, said. */
static int name_output(convert_request *rq, const struct cli_report *report, convert_pc *pc,
                       char *name, size_t len)
{
    bool cn = false;
    p2v_err err;
    memset(pc, 0, sizeof *pc);
    if (convert_output_fields(rq->output, &cn, &err) < 0)
        return convert_usage_error("%s", err.msg);
    if (!nametmpl_has_fields(rq->output) && !report->rep)
        return 0;
    /* P2V_MACHINE_ROOT: a sysfs tree standing for this PC (docs/fleet.md). */
    if (convert_pc_read(rq, getenv("P2V_MACHINE_ROOT"), cn || report->rep, pc, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    if (!nametmpl_has_fields(rq->output))
        return 0;
    if (convert_output_expand(rq->output, pc, name, len, &err) < 0) {
        cli_error("%s; nothing was written", err.msg);
        return P2V_EXIT_FAIL;
    }
    rq->output_template = rq->output;
    rq->output = name;
    cli_notice("OUTPUT %s is %s on this PC", rq->output_template, name);
    return 0;
}

static void free_sels(convert_sel *sels, int n, convert_sel *active)
{
    for (int i = 0; sels && i < n; i++)
        free((char *)sels[i].disk);
    free(sels);
    free((char *)active->disk);
}

int cmd_convert(int argc, char **argv)
{
    struct convert_args a = { 0 };
    struct cli_report report = { 0 };
    convert_request rq;
    convert_sel *sels = NULL, active = { 0 };
    convert_job *job = NULL;
    convert_planfile *pf = NULL;
    convert_pc pc;
    char name[4096];
    const char **roles = NULL;
    int nargc, status = P2V_EXIT_FAIL;
    char **joined = NULL;
    char **nargv = convert_join_compress_args(argc, argv, &nargc, &joined);
    if (!nargv) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    int r = convert_parse_args(nargc, nargv, &a);
    if (r != 0) {
        status = r < 0 ? P2V_EXIT_OK : r;
        goto out;
    }
    a.progress = a.progress || isatty(STDERR_FILENO);
    convert_events ev = { .message = cli_convert_message };
    p2v_err err;
    if ((status = cli_report_open(&report, a.report_url, a.report_token_file, a.report_ca,
                                  a.io_timeout)) != 0)
        goto out;
    status = P2V_EXIT_FAIL;
    if (a.plan_file) {
        if ((r = load_plan(&a, &ev, &pf, &rq)) != 0) {
            status = r;
            goto out;
        }
        plan_vmdef(&a, &rq);
    } else if (make_request(&a, &rq, &sels, &active) < 0) {
        cli_error("out of memory");
        goto out;
    }
    if (pf && pf->version == CONVERT_PLANFILE_ROLES)
        convert_planfile_resolution_text(pf, a.dry_run && !a.json ? stdout : stderr);
    if ((r = name_output(&rq, &report, &pc, name, sizeof name)) != 0) {
        status = r;
        goto out;
    }
    /* As gzip does: an image is never useful on a terminal, and would wreck it. */
    struct sink_target_info ti;
    sink_target_info(rq.output, &ti);
    if (!a.dry_run && ti.to_stdout && isatty(STDOUT_FILENO)) {
        cli_error("-o -: standard output is a terminal; not writing a disk image to it "
                  "(redirect it to a file or pipe it into a program)");
        goto out;
    }
    if (a.vmdef.spec && (r = cli_check_vmdef(&a, rq.output)) != 0) {
        status = r;
        goto out;
    }
    roles = plan_roles(pf);
    if (cli_report_start(&report, &rq, pc.computername, roles) != P2V_EXIT_OK)
        goto out;
    if ((r = convert_plan_from_request(&rq, &ev, &job, &err)) < 0) {
        if (r == CONVERT_EUSAGE) {
            status = convert_usage_error("%s", err.msg);
        } else {
            cli_error("%s", err.msg);
        }
        goto out;
    }
    if (a.save_plan) {
        if (convert_planfile_save(job, a.save_plan, &err) < 0) {
            cli_error("%s", err.msg);
            goto out;
        }
        cli_notice("plan saved to %s", a.save_plan);
    }
    if (!rq.output && !a.dry_run) {
        status = P2V_EXIT_OK;   /* --save-plan alone */
        goto out;
    }
    if (a.dry_run) {
        if (a.json) {
            json_writer j;
            json_init(&j, stdout);
            convert_layout_json_open(job, &j, NULL);
            if (pf) {
                json_key(&j, "plan_resolution");
                convert_planfile_resolution_json(pf, &j);
            }
            json_obj_end(&j);
            json_end(&j);
        } else {
            convert_layout_text(job, stdout);
        }
        status = P2V_EXIT_OK;
        goto out;
    }
    if (!a.json)
        convert_layout_text(job, stderr);
    status = run(job, rq.output, &a, &report);
out:
    status = cli_report_close(&report, status);
    convert_job_free(job);
    convert_planfile_free(pf);
    free(roles);
    free_sels(sels, a.nsels, &active);
    convert_free_joined_args(nargv, joined, argc);
    return status;
}
