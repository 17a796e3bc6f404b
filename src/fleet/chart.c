/* The page's chart, drawn on the server as inline SVG so that it shows
 * without JavaScript: the fleet's throughput (bars: bytes the running
 * conversions moved per second) and the PCs completed so far (a line), from
 * the first report to now, in at most CHART_COLS columns. Only numbers the
 * server computed go into it; no string a PC sent. */
#include "fleet/server.h"

#include <errno.h>
#include <stdlib.h>

#include "util/size.h"

#define CHART_COLS 60
#define CHART_SPAN_MIN 600             /* seconds: a short fleet is not one wide bar */
#define CHART_W 640
#define CHART_H 150
#define PLOT_X 70                      /* left edge of the plot */
#define PLOT_W 500
#define PLOT_Y 12
#define PLOT_H 100

struct flow {
    int64_t *t, *bytes, *done;
    size_t n, cap;
    bool oom;
};

static void add_flow(int64_t t, int64_t bytes, int64_t done, void *ctx)
{
    struct flow *f = ctx;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        int64_t *a = realloc(f->t, cap * sizeof *a);
        int64_t *b = a ? realloc(f->bytes, cap * sizeof *b) : NULL;
        int64_t *c = b ? realloc(f->done, cap * sizeof *c) : NULL;
        if (a)
            f->t = a;
        if (b)
            f->bytes = b;
        if (!c) {
            f->oom = true;
            return;
        }
        f->done = c;
        f->cap = cap;
    }
    f->t[f->n] = t;
    f->bytes[f->n] = bytes;
    f->done[f->n++] = done;
}

/* "12 min", "3 h 05 min": how long before now the chart starts. */
static void span_text(int64_t s, char *buf, size_t len)
{
    if (s < 3600)
        snprintf(buf, len, "%lld min ago", (long long)((s + 59) / 60));
    else
        snprintf(buf, len, "%lld h %02lld min ago", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
}

struct cols {
    int n;
    int64_t width;                     /* seconds per column */
    double rate[CHART_COLS], max_rate;
    int64_t done[CHART_COLS], total;   /* cumulative at each column's end */
};

/* Columns of whole FLEET_FLOW_STEPs from *t0 to now; *t0 moves back to
 * make the span at least CHART_SPAN_MIN. */
static void bin(const struct flow *f, int64_t *t0, int64_t now, struct cols *c)
{
    int64_t span = now - *t0 + FLEET_FLOW_STEP;
    if (span < CHART_SPAN_MIN) {
        *t0 -= CHART_SPAN_MIN - span;
        span = CHART_SPAN_MIN;
    }
    int64_t w = (span + CHART_COLS - 1) / CHART_COLS;
    c->width = (w + FLEET_FLOW_STEP - 1) / FLEET_FLOW_STEP * FLEET_FLOW_STEP;
    c->n = (int)((span + c->width - 1) / c->width);
    if (c->n > CHART_COLS)
        c->n = CHART_COLS;
    int64_t bytes[CHART_COLS] = { 0 }, done[CHART_COLS] = { 0 };
    for (size_t i = 0; i < f->n; i++) {
        int64_t k = (f->t[i] - *t0) / c->width;
        k = k < 0 ? 0 : k >= c->n ? c->n - 1 : k;
        bytes[k] += f->bytes[i];
        done[k] += f->done[i];
    }
    c->max_rate = c->total = 0;
    for (int k = 0; k < c->n; k++) {
        c->rate[k] = (double)bytes[k] / (double)c->width;
        c->max_rate = c->rate[k] > c->max_rate ? c->rate[k] : c->max_rate;
        c->total += done[k];
        c->done[k] = c->total;
    }
}

static void draw(const struct cols *c, int64_t t0, int64_t now, FILE *out)
{
    double cw = (double)PLOT_W / c->n;
    char a[32], ago[48];
    fputs("<g class=\"rate\" fill=\"#3a7\" fill-opacity=\"0.7\">", out);
    for (int k = 0; k < c->n; k++) {
        double h = c->max_rate > 0 ? c->rate[k] / c->max_rate * PLOT_H : 0;
        if (h > 0)
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                    PLOT_X + k * cw + 0.5, PLOT_Y + PLOT_H - h, cw > 2 ? cw - 1 : cw, h);
    }
    /* PCs done: a step up at the end of each column that finished some */
    fprintf(out, "</g><polyline class=\"done\" fill=\"none\" stroke=\"#25c\" stroke-width=\"2\""
                 " points=\"%d,%d", PLOT_X, PLOT_Y + PLOT_H);
    double prev = 0;
    for (int k = 0; k < c->n; k++) {
        double y = c->total > 0 ? (double)c->done[k] / (double)c->total * PLOT_H : 0;
        if (y != prev)
            fprintf(out, " %.1f,%.1f", PLOT_X + k * cw + cw / 2, PLOT_Y + PLOT_H - prev);
        fprintf(out, " %.1f,%.1f", PLOT_X + k * cw + cw / 2, PLOT_Y + PLOT_H - y);
        prev = y;
    }
    fprintf(out, " %d,%.1f", PLOT_X + PLOT_W, PLOT_Y + PLOT_H - prev);
    fputs("\"/>", out);
    span_text(now - t0, ago, sizeof ago);
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s/s</text>"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
                 "<text x=\"%d\" y=\"%d\" fill=\"#25c\">%lld done</text>"
                 "<text x=\"%d\" y=\"%d\">%s</text>"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">now</text>"
                 "<text x=\"%d\" y=\"%d\"><tspan fill=\"#3a7\">&#9632; throughput</tspan>"
                 " <tspan fill=\"#25c\">&#9473; PCs done</tspan></text>",
            PLOT_X - 4, PLOT_Y + 10, size_human((uint64_t)c->max_rate, a, sizeof a),
            PLOT_X - 4, PLOT_Y + PLOT_H, PLOT_X + PLOT_W + 4, PLOT_Y + 10, (long long)c->total,
            PLOT_X, PLOT_Y + PLOT_H + 14, ago, PLOT_X + PLOT_W, PLOT_Y + PLOT_H + 14,
            PLOT_X, PLOT_Y + PLOT_H + 32);
}

int fleet_chart_svg(fleet_store *s, int64_t now, FILE *out, p2v_err *err)
{
    struct flow f = { 0 };
    int rc = fleet_store_flow(s, add_flow, &f, err);
    if (rc == 0 && f.oom)
        rc = p2v_errf(err, -ENOMEM, "out of memory");
    if (rc == 0) {
        fprintf(out, "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
                     " height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\""
                     " aria-label=\"throughput and PCs done over time\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f6f6f6\"/>",
                CHART_W, CHART_H, CHART_W, CHART_H, PLOT_X, PLOT_Y, PLOT_W, PLOT_H);
        if (f.n == 0) {
            fprintf(out, "<text x=\"%d\" y=\"%d\">no reports yet</text>", PLOT_X + 8,
                    PLOT_Y + PLOT_H / 2);
        } else {
            struct cols c;
            int64_t t0 = f.t[0] < now ? f.t[0] : now;
            bin(&f, &t0, now, &c);
            draw(&c, t0, now, out);
        }
        fputs("</svg>\n", out);
    }
    free(f.t);
    free(f.bytes);
    free(f.done);
    return rc;
}
