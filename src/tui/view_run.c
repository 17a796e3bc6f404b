/* The run and result views: progress while convert_run writes the image,
 * the cancel question, then the result with its check, or the failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/screen_impl.h"

struct run_ui {
    struct ui *u;
    volatile sig_atomic_t cancel;
    bool asking;
    convert_progress pr;
    bool have_pr;
    double t0, phase_t0, last_draw;
    uint64_t *part_done;        /* bytes of each plan part copied so far */
    uint64_t part_mark;         /* pr.done when pr.part became current */
    struct text log;
};

static void fmt_eta(double s, char *out, size_t len)
{
    if (s < 0 || s > 359999)
        snprintf(out, len, "--:--");
    else
        snprintf(out, len, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void progress_bar(const struct ui *u, int y, uint64_t done, uint64_t total)
{
    int w = COLS - 2;
    char *line = w > 0 ? malloc((size_t)w + 3) : NULL;
    if (!line)
        return;
    int fill = total ? (int)((long double)done * w / total) : 0;
    line[0] = '[';
    for (int i = 0; i < w; i++)
        line[1 + i] = i < fill ? '#' : '.';
    line[w + 1] = ']';
    line[w + 2] = '\0';
    ui_put(u, y, 0, C_NORMAL, line);
    free(line);
}

static void draw_run(struct run_ui *ru)
{
    struct ui *u = ru->u;
    const plan *p = convert_job_plan(u->s->job);
    char line[4400], a[32], b[32], c[32], eta[16];
    double el = ui_now_s() - ru->phase_t0;
    uint64_t done = ru->pr.done, total = ru->pr.total;
    double rate = el > 0 ? (double)done / el : 0;
    erase();
    snprintf(line, sizeof line, "Writing %s", u->s->target.output);
    ui_line_fill(u, 0, C_TITLE, line);
    int pct = total ? (int)(done * 100 / total) : 0;
    fmt_eta(rate > 0 && total >= done ? (double)(total - done) / rate : -1, eta, sizeof eta);
    snprintf(line, sizeof line, "%s: %s of %s  %3d%%  %.1f MiB/s  ETA %s  elapsed %.0f s",
             ru->pr.phase == CONVERT_PHASE_VERIFY ? "Verifying" : "Copying",
             size_human(done, a, sizeof a), size_human(total, b, sizeof b), pct,
             rate / 1048576.0, eta, ui_now_s() - ru->t0);
    ui_put(u, 2, 0, C_NORMAL, line);
    progress_bar(u, 3, done, total);
    ui_put(u, 5, 0, C_NORMAL, "New  Source                          State        Copied");
    int y = 6;
    for (size_t i = 0; i < p->nparts && y < LINES - 6; i++, y++) {
        char src[300];
        convert_part_source_name(u->s->job, &p->parts[i], src, sizeof src);
        const char *state = !ru->have_pr || i > ru->pr.part ? "waiting"
                            : i < ru->pr.part || done >= total ? "done" : "copying";
        if (ru->pr.phase == CONVERT_PHASE_VERIFY)
            state = "copied";
        else if (p->parts[i].kind != PLAN_PART_COPY)
            state = ru->have_pr ? "written" : "waiting";
        snprintf(line, sizeof line, "%3u  %-30.30s  %-10s  %10s", p->parts[i].number, src, state,
                 size_human(ru->part_done[i], c, sizeof c));
        ui_put(u, y, 0, i == ru->pr.part && ru->have_pr ? C_SEL : C_NORMAL, line);
    }
    for (size_t i = ru->log.n > 3 ? ru->log.n - 3 : 0; i < ru->log.n && y < LINES - 3; i++)
        ui_put(u, ++y, 0, C_GREY, ru->log.lines[i]);
    if (ru->asking)
        ui_line_fill(u, LINES - 2, C_ERR,
                  "Cancel? Nothing will be left under the output name.  y = cancel, n = go on");
    ui_footer(u, ru->cancel ? " cancelling..." : " q/Esc cancel (asks first)");
    refresh();
}

static void run_keys(struct run_ui *ru)
{
    int ch;
    while ((ch = getch()) != ERR) {
        if (ru->asking && (ch == 'y' || ch == 'Y')) {
            ru->cancel = 1;
            ru->asking = false;
        } else if (ru->asking && (ch == 'n' || ch == 'N' || ch == 27)) {
            ru->asking = false;
        } else if (!ru->asking && (ch == 'q' || ch == 27)) {
            ru->asking = true;
        }
    }
}

static void on_run_progress(void *ctx, const convert_progress *p)
{
    struct run_ui *ru = ctx;
    if (!ru->have_pr || p->phase != ru->pr.phase) {
        ru->phase_t0 = ui_now_s();
        ru->part_mark = 0;
    }
    if (ru->have_pr && p->phase == CONVERT_PHASE_COPY && p->part != ru->pr.part)
        ru->part_mark = ru->pr.done;
    if (p->phase == CONVERT_PHASE_COPY && p->done >= ru->part_mark)
        ru->part_done[p->part] = p->done - ru->part_mark;
    ru->pr = *p;
    ru->have_pr = true;
    double t = ui_now_s();
    if (t - ru->last_draw < 0.1 && p->done < p->total)
        return;
    ru->last_draw = t;
    run_keys(ru);
    draw_run(ru);
}

static void on_run_message(void *ctx, enum convert_level level, const char *msg)
{
    struct run_ui *ru = ctx;
    char line[1300];
    snprintf(line, sizeof line, "%s%s", level == CONVERT_WARNING ? "warning: " : "", msg);
    ui_text_add(&ru->log, line, strlen(line));
}

static void check_text(const tui_state *s, char *out, size_t len)
{
    convert_output_check c;
    p2v_err err;
    if (convert_check_output(s->target.output, s->target.format, &c, &err) < 0)
        snprintf(out, len, "could not be checked: %s", err.msg);
    else if (c.kind == CONVERT_CHECKED_NOT_FILE)
        snprintf(out, len, "written into the %s: nothing to check here", c.what);
    else if (c.kind == CONVERT_CHECKED_RAW)
        snprintf(out, len, "raw image: no metadata to check");
    else if (c.check_errors || c.corruptions || c.leaks)
        snprintf(out, len, "PROBLEMS: %llu corruptions, %llu leaks, %llu check errors",
                 (unsigned long long)c.corruptions, (unsigned long long)c.leaks,
                 (unsigned long long)c.check_errors);
    else
        snprintf(out, len, "No errors were found on the image (%llu/%llu clusters allocated)",
                 (unsigned long long)c.allocated_clusters, (unsigned long long)c.total_clusters);
}

/* Text from line y on, indented by 2 and broken at spaces (a word longer
 * than the line is cut), up to line ymax. */
static void wrap(const struct ui *u, int y, int ymax, const char *text)
{
    size_t w = COLS > 12 ? (size_t)COLS - 4 : 8;
    const char *p = text;
    while (*p && y < ymax) {
        size_t n = strlen(p), k = n;
        if (n > w) {
            k = w;
            while (k > 0 && p[k] != ' ')
                k--;
            if (k == 0)
                k = w;
        }
        char part[4096];
        size_t c = k < sizeof part ? k : sizeof part - 1;
        memcpy(part, p, c);
        part[c] = '\0';
        ui_put(u, y++, 2, C_NORMAL, part);
        p += k;
        while (*p == ' ')
            p++;
    }
}

/* The VM definition field: written after the image, as p2v convert
 * --vm-def does; a failure leaves the image (""  when none was asked). */
static bool vmdef_text(const tui_state *s, char *out, size_t len)
{
    convert_vmdef_done d;
    p2v_err err;
    out[0] = '\0';
    if (!convert_job_request(s->job)->vmdef.spec)
        return true;
    if (convert_write_vmdef(s->job, &d, &err) < 0) {
        snprintf(out, len, "VM definition: not written: %s (the image is kept)", err.msg);
        return false;
    }
    snprintf(out, len, "VM definition (%s): %s%s%s%s", d.format, d.file,
             d.tpm ? ", with a TPM" : "", *d.msdm ? ", MSDM table " : "", d.msdm);
    return true;
}

/* Returns 0 for a new conversion, -1 to quit. */
static int result_screen(struct ui *u, const convert_result *res)
{
    const plan *p = convert_job_plan(u->s->job);
    char chk[1200], cmd[16384], a[32], b[32], c[32], line[4600], vm[9400];
    check_text(u->s, chk, sizeof chk);
    bool vm_ok = vmdef_text(u->s, vm, sizeof vm);
    tui_command_line(u->s, cmd, sizeof cmd);
    for (;;) {
        erase();
        snprintf(line, sizeof line, "Written: %s", u->s->target.output);
        ui_line_fill(u, 0, C_TITLE, line);
        snprintf(line, sizeof line, "Virtual size: %s (%llu bytes), %s table, firmware %s",
                 size_human(plan_disk_bytes(p), a, sizeof a), (unsigned long long)plan_disk_bytes(p),
                 p->table == PTABLE_MBR ? "MBR" : "GPT", plan_firmware_str(p->firmware));
        ui_put(u, 2, 0, C_NORMAL, line);
        snprintf(line, sizeof line, "Image file: %s; %s copied from the sources in %.1f s%s",
                 size_human(res->file_bytes, b, sizeof b), size_human(res->read, c, sizeof c),
                 res->seconds, res->verify_ok ? "; verified" : "");
        ui_put(u, 3, 0, C_NORMAL, line);
        if (p->table == PTABLE_MBR)
            snprintf(line, sizeof line, "New identity: disk signature 0x%08x", p->mbr_signature);
        else
            guid_format(&p->disk_guid, line + snprintf(line, sizeof line, "New identity: disk GUID "));
        ui_put(u, 4, 0, C_NORMAL, line);
        snprintf(line, sizeof line, "Check: %s", chk);
        ui_put(u, 5, 0, strncmp(chk, "No errors", 9) && strncmp(chk, "raw", 3) && strncmp(chk, "written", 7)
                        ? C_ERR : C_OK, line);
        if (vm[0])
            ui_put(u, 6, 0, vm_ok ? C_NORMAL : C_ERR, vm);
        ui_put(u, 7, 0, C_NORMAL, "The same from a shell:");
        wrap(u, 8, LINES - 2, cmd);
        ui_footer(u, " n new conversion  q quit");
        refresh();
        int ch = getch();
        if (ch == 'q')
            return -1;
        if (ch == 'n' || ch == 27 || ch == '\n' || ch == '\r')
            return 0;
    }
}

static void failure_screen(struct ui *u, const char *what, const char *why)
{
    for (;;) {
        erase();
        ui_line_fill(u, 0, C_TITLE, what);
        ui_put(u, 2, 0, C_ERR, why);
        char line[4400];
        snprintf(line, sizeof line, "%s was not written; nothing was left under that name.",
                 u->s->target.output);
        ui_put(u, 3, 0, C_NORMAL, line);
        ui_footer(u, " any key: back to the disks");
        refresh();
        if (getch() != KEY_RESIZE)
            return;
    }
}

/* Returns -1 to quit, 0 to go back to the disks. */
int ui_run(struct ui *u)
{
    const plan *p = convert_job_plan(u->s->job);
    struct run_ui ru = { .u = u, .t0 = ui_now_s() };
    ru.phase_t0 = ru.t0;
    ru.part_done = calloc(p->nparts ? p->nparts : 1, sizeof *ru.part_done);
    if (!ru.part_done) {
        ui_set_msg(u, true, "out of memory");
        return 0;
    }
    convert_events ev = { .message = on_run_message, .progress = on_run_progress, .ctx = &ru };
    convert_result res;
    p2v_err err = { { 0 } };
    sink_signals sigs;
    nodelay(stdscr, TRUE);
    draw_run(&ru);
    sink_catch_signals(&sigs, &ru.cancel);
    int r = convert_run(u->s->job, &ev, &ru.cancel, &res, &err);
    sink_restore_signals(&sigs);
    nodelay(stdscr, FALSE);
    free(ru.part_done);
    ui_text_free(&ru.log);
    int ret = 0;
    if (r == -EINTR)
        failure_screen(u, "Cancelled", "The conversion was cancelled.");
    else if (r < 0)
        failure_screen(u, "Failed", err.msg);
    else
        ret = result_screen(u, &res);
    /* the output exists now (or a new identity is wanted): plan afresh */
    ui_revalidate(u);
    return ret;
}

