/* What the fleet server shows: the page at / and the JSON of /api/pcs. The
 * page is whole without JavaScript: a table, the totals and a chart drawn
 * here as inline SVG; without JavaScript it reloads itself every 5 seconds
 * (a refresh inside <noscript>), with it /app.js fetches the page again and
 * replaces only the rows, totals and chart that changed. Every string a PC
 * sent is escaped where it is written, so the script never builds markup. */
#include "fleet/server.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "util/markup.h"
#include "util/size.h"

static void html(FILE *out, const char *s)
{
    markup_put(out, s, MARKUP_APOS_HTML);
}

static const char *pc_name(const fleet_pc_row *p)
{
    return p->computername ? p->computername : p->serial ? p->serial : p->mac ? p->mac
                                                                            : "(unknown PC)";
}

struct totals {
    unsigned pcs, done, failed, converting;
    uint64_t moved;
    double rate;
};

static void add_total(const fleet_pc_row *p, void *ctx)
{
    struct totals *t = ctx;
    const char *st = p->status ? p->status : "";
    t->pcs++;
    if (!strcmp(st, "done")) {
        t->done++;
        t->moved += p->copied_bytes > 0 ? (uint64_t)p->copied_bytes : 0;
    } else if (!strcmp(st, "failed")) {
        t->failed++;
    } else if (!strcmp(st, "converting")) {
        t->converting++;
        t->moved += p->bytes_done > 0 ? (uint64_t)p->bytes_done : 0;
        t->rate += p->rate;
    }
}

static void progress_cell(FILE *out, const fleet_pc_row *p)
{
    int pct = p->bytes_total > 0 ? (int)(p->bytes_done * 100 / p->bytes_total) : 0;
    if (p->status && !strcmp(p->status, "done"))
        pct = 100;
    char a[32], b[32], r[32];
    fprintf(out, "<td><div class=\"bar\"><div style=\"width:%d%%\"></div></div>", pct);
    if (p->status && !strcmp(p->status, "done")) {
        /* the result's figure: progress events may have been dropped on the way */
        if (p->copied_bytes >= 0)
            fprintf(out, "%s copied", size_human((uint64_t)p->copied_bytes, a, sizeof a));
    } else if (p->bytes_total > 0) {
        fprintf(out, "%d%% &middot; %s of %s", pct, size_human((uint64_t)p->bytes_done, a, sizeof a),
                size_human((uint64_t)p->bytes_total, b, sizeof b));
        if (p->status && !strcmp(p->status, "converting")) {
            fprintf(out, " &middot; %s/s", size_human((uint64_t)p->rate, r, sizeof r));
            if (p->eta >= 0)
                fprintf(out, " &middot; ETA %d:%02d", (int)(p->eta / 60), (int)(p->eta % 60));
        }
        fputs(" &middot; ", out);
        html(out, p->stage);
        if (p->partition > 0)
            fprintf(out, " partition %lld", (long long)p->partition);
    }
    fputs("</td>", out);
}

/* --boot-check's verdict under the status, with the last screen. */
static void check_cell(FILE *out, const fleet_pc_row *p)
{
    if (p->check_id < 0 || !p->check_state)
        return;
    fputs("<div class=\"boot\">", out);
    if (!strcmp(p->check_state, "queued") || !strcmp(p->check_state, "running"))
        fprintf(out, "boot check %s", p->check_state);
    else if (p->check_booted == 1)
        fputs("<span class=\"ok\">&#10003; boots</span>", out);
    else {
        fputs(p->check_booted == 0 ? "<span class=\"bad\">&#10007; does not boot</span>"
                                   : "<span class=\"bad\">&#10007; boot check failed</span>", out);
        if (p->check_reason) {
            fputs(": ", out);
            html(out, p->check_reason);
        }
    }
    if (p->check_shot)
        fprintf(out, "<br><a href=\"checks/%lld.png\"><img class=\"shot\" src=\"checks/%lld.png\""
                     " alt=\"last screen of the boot check\" loading=\"lazy\"></a>",
                (long long)p->check_id, (long long)p->check_id);
    fputs("</div>", out);
}

static void html_row(const fleet_pc_row *p, void *ctx)
{
    FILE *out = ctx;
    const char *st = p->status ? p->status : "waiting";
    if (!strcmp(st, "converting") && p->bytes_total <= 0)
        st = "waiting";
    fprintf(out, "<tr id=\"pc-%lld\" class=\"st-%s\"><td class=\"name\"><a href=\"api/pcs/%lld\">",
            (long long)p->id, st, (long long)p->id);
    html(out, pc_name(p));
    fputs("</a></td><td class=\"model\">", out);
    html(out, p->vendor);
    fputs(p->vendor && p->model ? " " : "", out);
    html(out, p->model);
    fputs("</td>", out);
    progress_cell(out, p);
    fprintf(out, "<td class=\"status\">%s", st);
    if (!strcmp(st, "failed") && p->error) {
        fputs(": ", out);
        html(out, p->error);
    }
    check_cell(out, p);
    fputs("</td><td class=\"image\">", out);
    html(out, p->output);
    char a[32];
    if (p->image_bytes >= 0)
        fprintf(out, " (%s)", size_human((uint64_t)p->image_bytes, a, sizeof a));
    fputs("</td></tr>\n", out);
}

static const char style[] =
    "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}"
    ".bar{width:12em;height:.8em;background:#eee;display:inline-block;margin-right:.5em}"
    ".bar div{height:100%;background:#3a7}.st-failed .status{color:#b00}"
    ".st-done .status{color:#070}#totals span{margin-right:1.5em}"
    ".boot{color:#333}.boot .ok{color:#070}.boot .bad{color:#b00}"
    ".shot{width:160px;border:1px solid #999;margin-top:.2em}"
    "#chart{display:block;margin:.5em 0}#chart text{font-size:11px;fill:#444}#live{color:#888}";

int fleet_page_html(fleet_store *s, FILE *out, p2v_err *err)
{
    struct totals t = { 0 };
    int rc = fleet_store_each(s, -1, add_total, &t, err);
    if (rc < 0)
        return rc;
    char moved[32], rate[32];
    fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                 "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"
                 "<title>p2v fleet</title><style>%s</style>"
                 "<script src=\"app.js\" defer></script></head><body>\n"
                 "<h1>p2v fleet <small id=\"live\"></small></h1>\n<p id=\"totals\">"
                 "<span>PCs: %u</span><span>done: %u</span><span>failed: %u</span>"
                 "<span>converting: %u</span><span>data moved: %s</span>"
                 "<span>aggregate rate: %s/s</span></p>\n",
            style, t.pcs, t.done, t.failed, t.converting, size_human(t.moved, moved, sizeof moved),
            size_human((uint64_t)t.rate, rate, sizeof rate));
    if ((rc = fleet_chart_svg(s, time(NULL), out, err)) < 0)
        return rc;
    fputs("<table id=\"pcs\"><thead><tr><th>PC</th><th>Model</th><th>Progress</th>"
          "<th>Status</th><th>Image</th></tr></thead>\n<tbody>\n", out);
    rc = fleet_store_each(s, -1, html_row, out, err);
    fputs("</tbody></table>\n</body></html>\n", out);
    return rc < 0 ? rc : 0;
}

static void knum(json_writer *j, const char *k, int64_t v)
{
    if (v >= 0)
        json_ki64(j, k, v);
    else
        json_knull(j, k);
}

static void json_row(const fleet_pc_row *p, void *ctx)
{
    json_writer *j = ctx;
    json_obj_begin(j);
    json_ki64(j, "id", p->id);
    json_kstr(j, "name", pc_name(p));
    json_kstr(j, "serial", p->serial);
    json_kstr(j, "uuid", p->uuid);
    json_kstr(j, "vendor", p->vendor);
    json_kstr(j, "model", p->model);
    json_kstr(j, "mac", p->mac);
    json_kstr(j, "computername", p->computername);
    json_kstr(j, "run", p->run);
    json_kstr(j, "status", p->status);
    json_kstr(j, "stage", p->stage);
    knum(j, "partition", p->partition);
    knum(j, "bytes_done", p->bytes_done);
    knum(j, "bytes_total", p->bytes_total);
    fleet_rate_json(j, p->rate);
    knum(j, "eta", p->eta);
    json_kstr(j, "output", p->output);
    knum(j, "image_bytes", p->image_bytes);
    knum(j, "copied_bytes", p->copied_bytes);
    json_kstr(j, "error", p->error);
    json_kstr(j, "started", p->started);
    json_kstr(j, "updated", p->updated);
    knum(j, "events", p->events);
    json_key(j, "boot_check");
    if (p->check_id < 0 || !p->check_state) {
        json_null(j);
    } else {
        json_obj_begin(j);
        json_kstr(j, "state", p->check_state);
        json_key(j, "booted");
        if (p->check_booted < 0)
            json_null(j);
        else
            json_boolean(j, p->check_booted == 1);
        json_kstr(j, "reason", p->check_reason);
        if (p->check_shot) {
            char url[48];
            snprintf(url, sizeof url, "/checks/%lld.png", (long long)p->check_id);
            json_kstr(j, "screenshot", url);
        } else {
            json_knull(j, "screenshot");
        }
        json_obj_end(j);
    }
    json_obj_end(j);
}

int fleet_pcs_json(fleet_store *s, FILE *out, p2v_err *err)
{
    json_writer j;
    json_init(&j, out);
    json_arr_begin(&j);
    int rc = fleet_store_each(s, -1, json_row, &j, err);
    json_arr_end(&j);
    json_end(&j);
    return rc < 0 ? rc : 0;
}

int fleet_pc_json(fleet_store *s, int64_t id, FILE *out, p2v_err *err)
{
    json_writer j;
    json_init(&j, out);
    int rc = fleet_store_each(s, id, json_row, &j, err);
    if (rc == 0)
        return p2v_errf(err, -ENOENT, "no PC %lld", (long long)id);
    json_end(&j);
    return rc < 0 ? rc : 0;
}

/* Every 2 s: fetch the page, parse it (DOMParser runs no script), and put in
 * the rows, totals and chart whose markup changed; new PCs are appended. The
 * markup is the server's, escaped there: nothing here turns text into markup.
 * body's data-updates counts the replaced parts (the browser test reads it). */
const char fleet_page_js[] =
    "'use strict';\n"
    "(function () {\n"
    "  var every = 2000, live = document.getElementById('live'), updates = 0;\n"
    "  function put(cur, next) {\n"
    "    if (!next) return 0;\n"
    "    if (cur && cur.outerHTML === next.outerHTML) return 0;\n"
    "    var n = document.importNode(next, true);\n"
    "    if (cur) cur.replaceWith(n); else document.querySelector('#pcs tbody').appendChild(n);\n"
    "    return 1;\n"
    "  }\n"
    "  function apply(text) {\n"
    "    var doc = new DOMParser().parseFromString(text, 'text/html'), n = 0;\n"
    "    n += put(document.getElementById('totals'), doc.getElementById('totals'));\n"
    "    n += put(document.getElementById('chart'), doc.getElementById('chart'));\n"
    "    doc.querySelectorAll('#pcs tbody tr').forEach(function (row) {\n"
    "      n += put(document.getElementById(row.id), row);\n"
    "    });\n"
    "    updates += n;\n"
    "    document.body.setAttribute('data-updates', String(updates));\n"
    "    live.textContent = 'live';\n"
    "  }\n"
    "  function tick() {\n"
    "    fetch('./', { cache: 'no-store' })\n"
    "      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })\n"
    "      .then(apply)\n"
    "      .catch(function () { live.textContent = 'reconnecting'; })\n"
    "      .then(function () { setTimeout(tick, every); });\n"
    "  }\n"
    "  live.textContent = 'live';\n"
    "  setTimeout(tick, every);\n"
    "})();\n";
