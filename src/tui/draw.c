/* The picking screen's drawing helpers: attributes, clipped text, filled
 * lines, the proportional bar, the status message and lines of text. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/screen_impl.h"

static attr_t attr_of(const struct ui *u, int c)
{
    switch (c) {
    case C_TITLE: return A_REVERSE | A_BOLD;
    case C_SEL: return A_BOLD | (u->color ? COLOR_PAIR(C_SEL) : 0);
    case C_GREY: return A_DIM; /* no colour: black on a dark terminal would vanish */
    case C_ERR: return A_BOLD | (u->color ? COLOR_PAIR(C_ERR) : 0);
    case C_OK: return u->color ? COLOR_PAIR(C_OK) : A_NORMAL;
    case C_BAR: return A_REVERSE | (u->color ? COLOR_PAIR(C_BAR) : 0);
    case C_CUR: return A_REVERSE;
    default: return A_NORMAL;
    }
}

/* Text at (y, x), cut at the right edge. */
void ui_put(const struct ui *u, int y, int x, int c, const char *text)
{
    int w = COLS - x;
    if (y < 0 || y >= LINES || w <= 0)
        return;
    attr_t a = attr_of(u, c);
    attron(a);
    mvaddnstr(y, x, text, w);
    attroff(a);
}

void ui_line_fill(const struct ui *u, int y, int c, const char *text)
{
    attr_t a = attr_of(u, c);
    attron(a);
    move(y, 0);
    for (int i = 0; i < COLS; i++)
        addch(' ');
    mvaddnstr(y, 0, text, COLS);
    attroff(a);
}

void ui_footer(const struct ui *u, const char *keys)
{
    ui_line_fill(u, LINES - 1, C_TITLE, keys);
}

double ui_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void ui_draw_bar(const struct ui *u, int y, int x, int width, uint64_t total,
                     const struct seg *sg, size_t n)
{
    if (width < 3 || total == 0)
        return;
    char *line = malloc((size_t)width + 1);
    if (!line)
        return;
    memset(line, '.', (size_t)width);
    line[0] = '[';
    line[width - 1] = ']';
    line[width] = '\0';
    int inner = width - 2;
    ui_put(u, y, x, C_NORMAL, line);
    for (size_t i = 0; i < n; i++) {
        int a = (int)((long double)sg[i].start * inner / total);
        int b = (int)((long double)(sg[i].start + sg[i].len) * inner / total);
        if (a >= inner)
            a = inner - 1;
        if (b <= a)
            b = a + 1;
        if (b > inner)
            b = inner;
        int w = b - a;
        for (int k = 0; k < w; k++)
            line[k] = k == 0 ? '|' : '-';
        int tl = (int)strlen(sg[i].text);
        memcpy(line + (w > 1 ? 1 : 0), sg[i].text, (size_t)(tl < w - 1 ? tl : (w > 1 ? w - 1 : 0)));
        line[w] = '\0';
        ui_put(u, y, x + 1 + a, sg[i].hot ? C_BAR : C_NORMAL, line);
    }
    free(line);
}

void ui_set_msg(struct ui *u, bool is_err, const char *text)
{
    snprintf(u->msg, sizeof u->msg, "%.1199s", text);
    u->msg_err = is_err;
}

void ui_text_free(struct text *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i]);
    free(t->lines);
    *t = (struct text){ 0 };
}

int ui_text_add(struct text *t, const char *s, size_t len)
{
    char **v = realloc(t->lines, (t->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    t->lines = v;
    if (!(v[t->n] = strndup(s, len)))
        return -ENOMEM;
    t->n++;
    return 0;
}

int ui_text_split(struct text *t, const char *buf)
{
    for (const char *p = buf; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (ui_text_add(t, p, l) < 0)
            return -ENOMEM;
        p += l + (e ? 1 : 0);
    }
    return 0;
}

