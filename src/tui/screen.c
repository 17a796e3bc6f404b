/* The picking screen's views over ncurses: disks and selection, preview,
 * run, result, help. The model (tui_state) decides; this file only shows it
 * and turns keys into model calls. */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "qcow2/qcow2.h"
#include "tui/tui.h"
#include "util/size.h"

enum { C_NORMAL = 0, C_TITLE, C_SEL, C_GREY, C_ERR, C_OK, C_BAR, C_CUR };

struct ui {
    tui_state *s;
    const tui_opts *o;
    bool color;
    tui_row *rows;
    size_t nrows;
    size_t cur;                 /* index into rows (a partition row when there is one) */
    size_t top;                 /* first display line shown */
    char msg[1200];             /* a one-off message that replaces the status once */
    bool msg_err;
    char plan_path[4096];       /* the plan file last saved or loaded */
};

/* ---- drawing helpers ---- */

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
static void put(const struct ui *u, int y, int x, int c, const char *text)
{
    int w = COLS - x;
    if (y < 0 || y >= LINES || w <= 0)
        return;
    attr_t a = attr_of(u, c);
    attron(a);
    mvaddnstr(y, x, text, w);
    attroff(a);
}

static void line_fill(const struct ui *u, int y, int c, const char *text)
{
    attr_t a = attr_of(u, c);
    attron(a);
    move(y, 0);
    for (int i = 0; i < COLS; i++)
        addch(' ');
    mvaddnstr(y, 0, text, COLS);
    attroff(a);
}

static void footer(const struct ui *u, const char *keys)
{
    line_fill(u, LINES - 1, C_TITLE, keys);
}

static void init_colors(struct ui *u)
{
    const char *nc = getenv("NO_COLOR");
    u->color = !(nc && nc[0]) && has_colors();
    if (!u->color)
        return;
    start_color();
    use_default_colors();
    init_pair(C_SEL, COLOR_GREEN, -1);
    init_pair(C_ERR, COLOR_RED, -1);
    init_pair(C_OK, COLOR_GREEN, -1);
    init_pair(C_BAR, COLOR_CYAN, -1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the proportional bar ---- */

struct seg {
    uint64_t start, len;        /* any unit, same as total */
    char text[64];
    bool hot;                   /* selected: drawn highlighted */
};

static void draw_bar(const struct ui *u, int y, int x, int width, uint64_t total,
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
    put(u, y, x, C_NORMAL, line);
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
        put(u, y, x + 1 + a, sg[i].hot ? C_BAR : C_NORMAL, line);
    }
    free(line);
}

static void disk_bar(const struct ui *u, int y, size_t di)
{
    const convert_disk *d = u->s->disks[di].d;
    const ptable *t = d->pt;
    struct seg *sg = calloc(t->nparts ? t->nparts : 1, sizeof *sg);
    size_t n = 0;
    if (!sg)
        return;
    for (size_t i = 0; i < t->nparts; i++) {
        const convert_part *cp = &d->parts[i];
        if (cp->p->container)
            continue;
        size_t pos = tui_pick_pos(u->s, d->path, cp->p->number);
        sg[n] = (struct seg){ .start = cp->p->start, .len = cp->p->size, .hot = pos > 0 };
        if (pos)
            snprintf(sg[n].text, sizeof sg[n].text, "#%zu %.40s", pos, cp->fs.label);
        else
            snprintf(sg[n].text, sizeof sg[n].text, "%u %.40s", cp->p->number, cp->fs.label);
        n++;
    }
    draw_bar(u, y, 2, COLS - 3, t->disk_sectors, sg, n);
    free(sg);
}

/* ---- the disk view ---- */

struct cols {
    int type, fs, label;
};

static struct cols col_widths(void)
{
    if (COLS >= 150)
        return (struct cols){ 30, 10, 28 };
    if (COLS >= 110)
        return (struct cols){ 24, 9, 20 };
    return (struct cols){ 14, 5, 15 };
}

static void part_flags(const convert_disk *d, const convert_part *cp, char *out, size_t len)
{
    const ptable_part *p = cp->p;
    out[0] = '\0';
    size_t o = 0;
#define FLAG(cond, s)                                                                   \
    do {                                                                                \
        if ((cond) && o + strlen(s) + 2 < len)                                          \
            o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", (s));         \
    } while (0)
    p2v_guid esp;
    guid_parse(GPT_TYPE_ESP, &esp);
    FLAG(p->bootable, "active");
    FLAG(p->logical, "logical");
    FLAG(d->pt->type == PTABLE_GPT ? guid_equal(&p->type_guid, &esp) : p->mbr_type == 0xEF, "ESP");
    FLAG(plan_is_windows_part(d->pt, p, cp->fs.type), "win");
    FLAG(cp->bios_boot_code, "bootcode");
    FLAG(cp->fs.bitlocker, "bitlocker");
#undef FLAG
}

static void type_text(const convert_disk *d, const ptable_part *p, char *out, size_t len)
{
    if (d->pt->type == PTABLE_GPT)
        snprintf(out, len, "%s", ptable_gpt_type_name(&p->type_guid));
    else
        snprintf(out, len, "%02x %s", p->mbr_type, ptable_mbr_type_name(p->mbr_type));
}

/* "-> 16.0 MiB" for a pick with a size of its own: the planned size when
 * the plan is valid, else what was asked ("-> min" until it is planned). */
static void new_size_text(const struct ui *u, size_t pos, char *out, size_t len)
{
    const tui_pick *pk = &u->s->picks[pos - 1];
    uint64_t nb = tui_pick_new_bytes(u->s, pos - 1);
    char h[32];
    out[0] = '\0';
    if (!pk->size && !pk->size_min)
        return;
    if (nb)
        snprintf(out, len, "-> %s%s", size_human(nb, h, sizeof h), pk->size_min ? " (min)" : "");
    else if (pk->size_min)
        snprintf(out, len, "-> min");
    else
        snprintf(out, len, "-> %s", size_human(pk->size, h, sizeof h));
}

static void part_line(const struct ui *u, int y, const tui_row *r, bool cursor)
{
    const convert_disk *d = u->s->disks[r->disk].d;
    const convert_part *cp = r->part;
    struct cols cw = col_widths();
    char why[600], sel[32], size[32], used[32], type[128], flags[96], line[1400], nsz[48] = "";
    bool refused = tui_part_refused(cp, why, sizeof why);
    size_t pos = tui_pick_pos(u->s, d->path, cp->p->number);
    if (refused)
        snprintf(sel, sizeof sel, " - ");
    else if (pos) {
        snprintf(sel, sizeof sel, "[%zu]", pos);
        new_size_text(u, pos, nsz, sizeof nsz);
    }
    else
        snprintf(sel, sizeof sel, "[ ]");
    size_human(cp->p->size * d->pt->sector_size, size, sizeof size);
    type_text(d, cp->p, type, sizeof type);
    part_flags(d, cp, flags, sizeof flags);
    if (cp->used_known)
        size_human(cp->used, used, sizeof used);
    else
        snprintf(used, sizeof used, "-");
    if (refused)
        snprintf(line, sizeof line, "%c%-4s%2u %10s  %-*.*s  %s", cursor ? '>' : ' ', sel,
                 cp->p->number, size, cw.type, cw.type, type, why);
    else
        snprintf(line, sizeof line, "%c%-4s%2u %10s  %-*.*s %-*.*s %-*.*s %10s  %s%s%s",
                 cursor ? '>' : ' ', sel, cp->p->number, size, cw.type, cw.type, type, cw.fs,
                 cw.fs, cp->fs.type[0] ? cp->fs.type : "-", cw.label, cw.label, cp->fs.label, used,
                 nsz, nsz[0] && flags[0] ? "  " : "", flags);
    int c = refused ? C_GREY : pos ? C_SEL : C_NORMAL;
    if (cursor) {
        line_fill(u, y, C_CUR, line);
        return;
    }
    put(u, y, 0, c, line);
}

static void disk_header(const struct ui *u, int y, size_t di)
{
    const tui_disk *td = &u->s->disks[di];
    char line[1200], h[32], id[64];
    if (!td->d) {
        snprintf(line, sizeof line, "%s: %s", td->path, td->error);
        put(u, y, 0, C_GREY, line);
        return;
    }
    const ptable *t = td->d->pt;
    if (t->type == PTABLE_MBR)
        snprintf(id, sizeof id, "MBR 0x%08x", t->mbr_signature);
    else if (t->type == PTABLE_GPT)
        guid_format(&t->disk_guid, id + snprintf(id, sizeof id, "GPT "));
    else
        snprintf(id, sizeof id, "no partition table");
    snprintf(line, sizeof line, "%s  %s  %s  %u-byte sectors%s", td->path,
             size_human(bd_size(td->d->bd), h, sizeof h), id, t->sector_size,
             t->warnings.count ? "  (table warnings)" : "");
    put(u, y, 0, C_NORMAL, line);
    attron(A_BOLD);
    mvaddnstr(y, 0, td->path, COLS);
    attroff(A_BOLD);
}

/* Display lines: each disk is a header, a bar (when it has partitions) and
 * its rows; line_of gives the display line of row i. */
static size_t row_line(const struct ui *u, size_t ri)
{
    size_t line = 0;
    for (size_t i = 0; i <= ri && i < u->nrows; i++) {
        const tui_row *r = &u->rows[i];
        if (!r->part) {
            line += i ? 1 : 0;
            if (u->s->disks[r->disk].d && u->s->disks[r->disk].d->pt->nparts)
                line += 1; /* the bar */
        } else {
            line++;
        }
    }
    return line;
}

static void order_line(const struct ui *u, int y)
{
    char line[2048] = "Order:";
    size_t o = strlen(line);
    for (size_t i = 0; i < u->s->npicks && o < sizeof line - 1; i++) {
        char word[1024];
        tui_pick_word(u->s, i, word, sizeof word);
        int k = snprintf(line + o, sizeof line - o, "%s%s", i ? " > " : " ", word);
        if (k > 0)
            o += (size_t)k;
    }
    if (!u->s->npicks)
        snprintf(line + o, sizeof line - o, " (none: Space picks the partition under the cursor)");
    put(u, y, 0, C_NORMAL, line);
}

static void target_panel(const struct ui *u, int y)
{
    static const struct {
        enum tui_field f;
        const char *label;
    } row1[] = { { TUI_F_TABLE, "[t]able" }, { TUI_F_BOOT, "[b]oot" }, { TUI_F_ESP, "[e]sp" },
                 { TUI_F_SIZE, "si[z]e" }, { TUI_F_VERIFY, "[v]erify" } },
      row2[] = { { TUI_F_OUTPUT, "[o]utput" }, { TUI_F_FORMAT, "[f]ormat" },
                 { TUI_F_COMPRESS, "[c]ompress" }, { TUI_F_FORCE, "over[w]rite" } };
    char line[5000], v[4200];
    size_t o = (size_t)snprintf(line, sizeof line, "Target:");
    for (size_t i = 0; i < sizeof row1 / sizeof row1[0]; i++) {
        tui_field_value(u->s, row1[i].f, v, sizeof v);
        o += (size_t)snprintf(line + o, sizeof line - o, " %s %s ", row1[i].label, v);
    }
    put(u, y, 0, C_NORMAL, line);
    o = (size_t)snprintf(line, sizeof line, "       ");
    /* the output name last, so that a long one does not hide the others */
    for (size_t i = 1; i < sizeof row2 / sizeof row2[0]; i++) {
        tui_field_value(u->s, row2[i].f, v, sizeof v);
        o += (size_t)snprintf(line + o, sizeof line - o, " %s %s ", row2[i].label, v);
    }
    tui_field_value(u->s, TUI_F_OUTPUT, v, sizeof v);
    snprintf(line + o, sizeof line - o, " %s %s", row2[0].label, v);
    put(u, y + 1, 0, C_NORMAL, line);
}

/* Where to break text to fit width columns: at the last space before it. */
static size_t break_at(const char *text, size_t width)
{
    size_t n = strlen(text), k;
    if (n <= width)
        return n;
    for (k = width; k > width / 2 && text[k] != ' '; k--)
        ;
    return text[k] == ' ' ? k : width;
}

/* The status on lines y and y + 1: one line when it fits, else two. */
static void status_line(struct ui *u, int y)
{
    char line[1400];
    int c;
    if (u->msg[0]) {
        snprintf(line, sizeof line, "%s", u->msg);
        c = u->msg_err ? C_ERR : C_OK;
        u->msg[0] = '\0';
    } else {
        if (u->s->valid)
            snprintf(line, sizeof line, "Plan %s", u->s->status);
        else
            snprintf(line, sizeof line, "%s %s", u->s->npicks ? "Error:" : "Plan:", u->s->status);
        c = u->s->valid || !u->s->npicks ? C_OK : C_ERR;
    }
    size_t k = break_at(line, COLS > 0 ? (size_t)COLS : 1);
    if (!line[k]) {
        line_fill(u, y + 1, c, line);
        return;
    }
    const char *rest = line + k + (line[k] == ' ');
    line[k] = '\0';
    line_fill(u, y, c, line);
    line_fill(u, y + 1, c, rest);
}

static void draw_disks(struct ui *u)
{
    erase();
    char title[200];
    snprintf(title, sizeof title, "p2v - pick the partitions to copy, in the order of the new disk  (%zu disk%s)",
             u->s->ndisks, u->s->ndisks == 1 ? "" : "s");
    line_fill(u, 0, C_TITLE, title);
    struct cols cw = col_widths();
    char head[300];
    snprintf(head, sizeof head, "%-5s%2s %10s  %-*s %-*s %-*s %10s  Flags", " Pick", "#", "Size",
             cw.type, "Type", cw.fs, "FS", cw.label, "Label", "Used");
    put(u, 1, 0, C_NORMAL, head);
    int region_top = 2, region_h = LINES - 8;
    if (region_h < 1)
        region_h = 1;
    size_t cl = u->nrows ? row_line(u, u->cur) : 0;
    if (cl < u->top)
        u->top = cl > 0 ? cl - 1 : 0;
    if (cl >= u->top + (size_t)region_h)
        u->top = cl - (size_t)region_h + 1;
    for (size_t i = 0; i < u->nrows; i++) {
        const tui_row *r = &u->rows[i];
        size_t l = row_line(u, i);
        if (!r->part) {
            bool bar = u->s->disks[r->disk].d && u->s->disks[r->disk].d->pt->nparts;
            size_t hl = bar ? l - 1 : l;
            if (hl >= u->top && hl < u->top + (size_t)region_h)
                disk_header(u, region_top + (int)(hl - u->top), r->disk);
            if (bar && l >= u->top && l < u->top + (size_t)region_h)
                disk_bar(u, region_top + (int)(l - u->top), r->disk);
            continue;
        }
        if (l >= u->top && l < u->top + (size_t)region_h)
            part_line(u, region_top + (int)(l - u->top), r, i == u->cur);
    }
    if (!u->s->ndisks)
        put(u, region_top, 0, C_GREY, "No disks. Plug one in and press r, or name them: p2v tui DISK...");
    order_line(u, LINES - 6);
    target_panel(u, LINES - 5);
    status_line(u, LINES - 3);
    footer(u, "Up/Dn move  Space pick  -/+ order  p preview  r rescan  s/l plan  ? help  q quit");
    refresh();
}

/* ---- input helpers ---- */

static void set_msg(struct ui *u, bool is_err, const char *text)
{
    snprintf(u->msg, sizeof u->msg, "%.1199s", text);
    u->msg_err = is_err;
}

/* A line editor on the status line. Returns true with the text on Enter,
 * false on Esc. */
static bool prompt(struct ui *u, const char *label, const char *initial, char *out, size_t len)
{
    size_t n = strlen(initial) < len - 1 ? strlen(initial) : len - 1;
    memcpy(out, initial, n);
    out[n] = '\0';
    curs_set(1);
    for (;;) {
        char line[4400];
        snprintf(line, sizeof line, "%s: %s", label, out);
        line_fill(u, LINES - 2, C_NORMAL, line);
        footer(u, " Enter accept  Esc cancel  Backspace delete");
        int x = (int)(strlen(label) + 2 + n);
        move(LINES - 2, x < COLS ? x : COLS - 1);
        refresh();
        int ch = getch();
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            curs_set(0);
            return true;
        }
        if (ch == 27) {
            curs_set(0);
            return false;
        }
        if (ch == KEY_RESIZE) {
            draw_disks(u);
        } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0) {
            out[--n] = '\0';
        } else if (ch == 21) { /* Ctrl-U */
            n = 0;
            out[0] = '\0';
        } else if (ch >= 32 && ch < 256 && ch != 127 && n + 1 < len) {
            out[n++] = (char)ch;
            out[n] = '\0';
        }
    }
}

static void revalidate(struct ui *u) { tui_validate(u->s); }

static int reload_rows(struct ui *u)
{
    free(u->rows);
    u->rows = NULL;
    u->nrows = 0;
    if (tui_rows(u->s, &u->rows, &u->nrows) < 0)
        return -ENOMEM;
    if (u->cur >= u->nrows)
        u->cur = u->nrows ? u->nrows - 1 : 0;
    return 0;
}

/* Move the cursor to the next partition row in direction dir. */
static void cursor_step(struct ui *u, int dir)
{
    size_t i = u->cur;
    while (u->nrows) {
        if (dir < 0 && i == 0)
            return;
        if (dir > 0 && i + 1 >= u->nrows)
            return;
        i = dir < 0 ? i - 1 : i + 1;
        if (u->rows[i].part) {
            u->cur = i;
            return;
        }
    }
}

static void cursor_first(struct ui *u)
{
    for (size_t i = 0; i < u->nrows; i++)
        if (u->rows[i].part) {
            u->cur = i;
            return;
        }
    u->cur = 0;
}

static int rescan(struct ui *u)
{
    char **paths = u->o->paths, **mine = NULL;
    size_t n = u->o->npaths, dropped = 0;
    p2v_err err;
    if (!paths) {
        if (bd_list_machine_disks(&mine, &n, &err) < 0) {
            set_msg(u, true, err.msg);
            return 0;
        }
        paths = mine;
    }
    int r = tui_open_disks(u->s, paths, n, &dropped, &err);
    if (mine)
        bd_list_free(mine, n);
    if (r < 0)
        return r;
    if ((r = reload_rows(u)) < 0)
        return r;
    if (!u->rows || !u->rows[u->cur].part)
        cursor_first(u);
    revalidate(u);
    char m[200];
    snprintf(m, sizeof m, "Rescanned: %zu disk%s%s", u->s->ndisks, u->s->ndisks == 1 ? "" : "s",
             dropped ? "; picks of disks that are gone were dropped" : "");
    set_msg(u, false, m);
    return 0;
}

/* ---- help ---- */

static const char *const help_lines[] = {
    "p2v tui - keys",
    "",
    "Disks (the list):",
    "  Up/Down, k/j       move between partitions (PgUp/PgDn, Home/End)",
    "  Space              pick the partition, or drop it: picks go to the end of the order",
    "  - / +  (K / J)     move the picked partition earlier / later in the new disk",
    "  x                  drop every pick",
    "  p or Enter         preview the new disk (layout, new identity), then write it",
    "  r                  rescan the disks (a disk plugged in later appears)",
    "  s / l              save the plan to a file / load one (p2v convert --plan runs it)",
    "  n                  the picked partition's own size: SIZE or min (NTFS fits it)",
    "Target (checked by the planner after every change; its error shows in the status line):",
    "  t  table: auto / MBR / GPT          b  firmware: auto / BIOS / UEFI",
    "  e  add an empty ESP of SIZE         z  disk size: larger grows the LAST partition",
    "  o  output file                      f  format: qcow2 / raw",
    "  c  qcow2 compression: none/zlib/zstd  w  overwrite an existing output",
    "  v  verify: read the image back and compare",
    "",
    "Preview: g or Enter writes, b or Esc goes back.  Run: q or Esc asks to cancel;",
    "a cancelled or failed run leaves nothing under the output name.",
    "Grey rows cannot be copied; the reason is on the row.",
    "Press any key to go back.",
};

static void show_help(struct ui *u)
{
    for (;;) {
        erase();
        for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0] && (int)i < LINES - 1; i++)
            put(u, (int)i, 0, i == 0 ? C_TITLE : C_NORMAL, help_lines[i]);
        footer(u, " any key: back");
        refresh();
        if (getch() != KEY_RESIZE)
            return;
    }
}

/* ---- preview ---- */

struct text {
    char **lines;
    size_t n;
};

static void text_free(struct text *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i]);
    free(t->lines);
    *t = (struct text){ 0 };
}

static int text_add(struct text *t, const char *s, size_t len)
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

static int text_split(struct text *t, const char *buf)
{
    for (const char *p = buf; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (text_add(t, p, l) < 0)
            return -ENOMEM;
        p += l + (e ? 1 : 0);
    }
    return 0;
}

/* The new partitions in a few columns, for screens narrower than the table. */
static int preview_short(const tui_state *s, struct text *t)
{
    const plan *p = convert_job_plan(s->job);
    char line[600], src[300], h[32];
    if (text_add(t, "", 0) < 0 || text_add(t, "In short (Left/Right scroll the table):", 39) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        convert_part_source_name(s->job, pp, src, sizeof src);
        snprintf(line, sizeof line, "%-3u %-22.22s %10s  %-5.5s %-16.16s %s%s", pp->number, src,
                 size_human(pp->sectors * p->sector_size, h, sizeof h),
                 pp->fstype[0] ? pp->fstype : "-", pp->label[0] ? pp->label : "-",
                 pp->bootable ? "active " : "", pp->logical ? "logical" : "");
        if (text_add(t, line, strlen(line)) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The dry run's table and the planner's notes, as lines. */
static int preview_text(const tui_state *s, struct text *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    convert_layout_text(s->job, f);
    if (s->notes.count)
        fputs("\nNotes:\n", f);
    for (size_t i = 0; i < s->notes.count; i++)
        fprintf(f, "  %s\n", s->notes.msgs[i]);
    fclose(f);
    int r = buf ? text_split(t, buf) : -ENOMEM;
    free(buf);
    size_t widest = 0;
    for (size_t i = 0; i < t->n; i++)
        widest = strlen(t->lines[i]) > widest ? strlen(t->lines[i]) : widest;
    if (r == 0 && widest > (size_t)COLS)
        r = preview_short(s, t);
    return r;
}

static void plan_bar(const struct ui *u, int y)
{
    const plan *p = convert_job_plan(u->s->job);
    struct seg *sg = calloc(p->nparts ? p->nparts : 1, sizeof *sg);
    if (!sg)
        return;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        sg[i] = (struct seg){ .start = pp->start, .len = pp->sectors, .hot = true };
        snprintf(sg[i].text, sizeof sg[i].text, "%u %.40s", pp->number,
                 pp->label[0] ? pp->label
                 : pp->kind == PLAN_PART_MSR ? "MSR" : pp->fstype);
    }
    draw_bar(u, y, 0, COLS, p->disk_sectors, sg, p->nparts);
    free(sg);
}

/* Returns 1 to write, 0 to go back, -1 to quit. */
static int preview(struct ui *u)
{
    struct text t = { 0 };
    size_t top = 0, left = 0;
    if (preview_text(u->s, &t) < 0) {
        text_free(&t);
        set_msg(u, true, "out of memory");
        return 0;
    }
    int ret = 0;
    for (;;) {
        erase();
        char title[4400];
        snprintf(title, sizeof title, "Preview: the new disk %s", u->s->target.output);
        line_fill(u, 0, C_TITLE, title);
        plan_bar(u, 1);
        int h = LINES - 4;
        for (int i = 0; i < h && top + (size_t)i < t.n; i++) {
            const char *l = t.lines[top + (size_t)i];
            put(u, 3 + i, 0, C_NORMAL, strlen(l) > left ? l + left : "");
        }
        footer(u, " g/Enter write the image  b/Esc back  arrows scroll  ? help  q quit");
        refresh();
        int ch = getch();
        if (ch == 'g' || ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            ret = 1;
            break;
        }
        if (ch == 'b' || ch == 27)
            break;
        if (ch == KEY_RIGHT || ch == 'l')
            left += 8;
        if ((ch == KEY_LEFT || ch == 'h') && left > 0)
            left -= 8;
        if (ch == 'q') {
            ret = -1;
            break;
        }
        if (ch == '?')
            show_help(u);
        if ((ch == KEY_DOWN || ch == 'j') && top + 1 < t.n)
            top++;
        if ((ch == KEY_UP || ch == 'k') && top > 0)
            top--;
    }
    text_free(&t);
    return ret;
}

/* ---- run ---- */

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
    put(u, y, 0, C_NORMAL, line);
    free(line);
}

static void draw_run(struct run_ui *ru)
{
    struct ui *u = ru->u;
    const plan *p = convert_job_plan(u->s->job);
    char line[4400], a[32], b[32], c[32], eta[16];
    double el = now_s() - ru->phase_t0;
    uint64_t done = ru->pr.done, total = ru->pr.total;
    double rate = el > 0 ? (double)done / el : 0;
    erase();
    snprintf(line, sizeof line, "Writing %s", u->s->target.output);
    line_fill(u, 0, C_TITLE, line);
    int pct = total ? (int)(done * 100 / total) : 0;
    fmt_eta(rate > 0 && total >= done ? (double)(total - done) / rate : -1, eta, sizeof eta);
    snprintf(line, sizeof line, "%s: %s of %s  %3d%%  %.1f MiB/s  ETA %s  elapsed %.0f s",
             ru->pr.phase == CONVERT_PHASE_VERIFY ? "Verifying" : "Copying",
             size_human(done, a, sizeof a), size_human(total, b, sizeof b), pct,
             rate / 1048576.0, eta, now_s() - ru->t0);
    put(u, 2, 0, C_NORMAL, line);
    progress_bar(u, 3, done, total);
    put(u, 5, 0, C_NORMAL, "New  Source                          State        Copied");
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
        put(u, y, 0, i == ru->pr.part && ru->have_pr ? C_SEL : C_NORMAL, line);
    }
    for (size_t i = ru->log.n > 3 ? ru->log.n - 3 : 0; i < ru->log.n && y < LINES - 3; i++)
        put(u, ++y, 0, C_GREY, ru->log.lines[i]);
    if (ru->asking)
        line_fill(u, LINES - 2, C_ERR,
                  "Cancel? Nothing will be left under the output name.  y = cancel, n = go on");
    footer(u, ru->cancel ? " cancelling..." : " q/Esc cancel (asks first)");
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
        ru->phase_t0 = now_s();
        ru->part_mark = 0;
    }
    if (ru->have_pr && p->phase == CONVERT_PHASE_COPY && p->part != ru->pr.part)
        ru->part_mark = ru->pr.done;
    if (p->phase == CONVERT_PHASE_COPY && p->done >= ru->part_mark)
        ru->part_done[p->part] = p->done - ru->part_mark;
    ru->pr = *p;
    ru->have_pr = true;
    double t = now_s();
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
    text_add(&ru->log, line, strlen(line));
}

/* ---- result ---- */

static void check_text(const tui_state *s, char *out, size_t len)
{
    struct sink_target_info ti;
    sink_target_info(s->target.output, &ti);
    if (!ti.is_file) {
        snprintf(out, len, "written into the %s: nothing to check here", ti.what);
        return;
    }
    if (s->target.format == SINK_RAW) {
        snprintf(out, len, "raw image: no metadata to check");
        return;
    }
    qcow2_image *img;
    qcow2_check_result cr = { 0 };
    p2v_err err;
    if (qcow2_image_open(s->target.output, QCOW2_OPEN_CHECK, &img, &err) < 0) {
        snprintf(out, len, "could not be checked: %s", err.msg);
        return;
    }
    int r = qcow2_check(img, &cr, &err);
    if (r < 0 && !cr.check_errors)
        snprintf(out, len, "could not be checked: %s", err.msg);
    else if (r < 0 || cr.check_errors || cr.corruptions || cr.leaks)
        snprintf(out, len, "PROBLEMS: %llu corruptions, %llu leaks, %llu check errors",
                 (unsigned long long)cr.corruptions, (unsigned long long)cr.leaks,
                 (unsigned long long)cr.check_errors);
    else
        snprintf(out, len, "No errors were found on the image (%llu/%llu clusters allocated)",
                 (unsigned long long)cr.allocated_clusters, (unsigned long long)cr.total_clusters);
    qcow2_check_result_free(&cr);
    qcow2_image_close(img);
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
        put(u, y++, 2, C_NORMAL, part);
        p += k;
        while (*p == ' ')
            p++;
    }
}

/* Returns 0 for a new conversion, -1 to quit. */
static int result_screen(struct ui *u, const convert_result *res)
{
    const plan *p = convert_job_plan(u->s->job);
    char chk[1200], cmd[16384], a[32], b[32], c[32], line[4600];
    check_text(u->s, chk, sizeof chk);
    tui_command_line(u->s, cmd, sizeof cmd);
    for (;;) {
        erase();
        snprintf(line, sizeof line, "Written: %s", u->s->target.output);
        line_fill(u, 0, C_TITLE, line);
        snprintf(line, sizeof line, "Virtual size: %s (%llu bytes), %s table, firmware %s",
                 size_human(plan_disk_bytes(p), a, sizeof a), (unsigned long long)plan_disk_bytes(p),
                 p->table == PTABLE_MBR ? "MBR" : "GPT", plan_firmware_str(p->firmware));
        put(u, 2, 0, C_NORMAL, line);
        snprintf(line, sizeof line, "Image file: %s; %s copied from the sources in %.1f s%s",
                 size_human(res->file_bytes, b, sizeof b), size_human(res->read, c, sizeof c),
                 res->seconds, res->verify_ok ? "; verified" : "");
        put(u, 3, 0, C_NORMAL, line);
        if (p->table == PTABLE_MBR)
            snprintf(line, sizeof line, "New identity: disk signature 0x%08x", p->mbr_signature);
        else
            guid_format(&p->disk_guid, line + snprintf(line, sizeof line, "New identity: disk GUID "));
        put(u, 4, 0, C_NORMAL, line);
        snprintf(line, sizeof line, "Check: %s", chk);
        put(u, 5, 0, strncmp(chk, "No errors", 9) && strncmp(chk, "raw", 3) && strncmp(chk, "written", 7)
                        ? C_ERR : C_OK, line);
        put(u, 7, 0, C_NORMAL, "The same from a shell:");
        wrap(u, 8, LINES - 2, cmd);
        footer(u, " n new conversion  q quit");
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
        line_fill(u, 0, C_TITLE, what);
        put(u, 2, 0, C_ERR, why);
        char line[4400];
        snprintf(line, sizeof line, "%s was not written; nothing was left under that name.",
                 u->s->target.output);
        put(u, 3, 0, C_NORMAL, line);
        footer(u, " any key: back to the disks");
        refresh();
        if (getch() != KEY_RESIZE)
            return;
    }
}

/* Returns -1 to quit, 0 to go back to the disks. */
static int run(struct ui *u)
{
    const plan *p = convert_job_plan(u->s->job);
    struct run_ui ru = { .u = u, .t0 = now_s() };
    ru.phase_t0 = ru.t0;
    ru.part_done = calloc(p->nparts ? p->nparts : 1, sizeof *ru.part_done);
    if (!ru.part_done) {
        set_msg(u, true, "out of memory");
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
    text_free(&ru.log);
    int ret = 0;
    if (r == -EINTR)
        failure_screen(u, "Cancelled", "The conversion was cancelled.");
    else if (r < 0)
        failure_screen(u, "Failed", err.msg);
    else
        ret = result_screen(u, &res);
    /* the output exists now (or a new identity is wanted): plan afresh */
    revalidate(u);
    return ret;
}

/* ---- the main loop ---- */

static void edit_field(struct ui *u, enum tui_field f)
{
    char cur[4200], text[4200];
    p2v_err err;
    if (f == TUI_F_OUTPUT)
        snprintf(cur, sizeof cur, "%s", u->s->target.output);
    else
        cur[0] = '\0';
    const char *label = f == TUI_F_OUTPUT ? "Output file"
                        : f == TUI_F_ESP  ? "Add an empty ESP of SIZE (empty: none)"
                                          : "Disk size, SIZE (empty: the smallest)";
    if (!prompt(u, label, cur, text, sizeof text))
        return;
    if (tui_set_field(u->s, f, text, &err) < 0)
        set_msg(u, true, err.msg);
    revalidate(u);
}

/* n: the picked partition under the cursor gets a size of its own
 * (DISK:N=SIZE|min); the planner checks it like p2v convert does. */
static void size_key(struct ui *u)
{
    const tui_row *r = u->nrows ? &u->rows[u->cur] : NULL;
    char cur[64] = "", text[64], label[1200];
    p2v_err err;
    if (!r || !r->part)
        return;
    const char *path = u->s->disks[r->disk].path;
    unsigned number = r->part->p->number;
    size_t pos = tui_pick_pos(u->s, path, number);
    if (!pos) {
        set_msg(u, true, "pick the partition first (Space), then give it a size of its own");
        return;
    }
    tui_pick_word(u->s, pos - 1, label, sizeof label);
    const char *eq = strrchr(label, '=');
    if (eq && strrchr(label, ':') < eq)
        snprintf(cur, sizeof cur, "%s", eq + 1);
    snprintf(label, sizeof label, "Size of %.1000s:%u: SIZE or min (empty: as the source)", path,
             number);
    if (!prompt(u, label, cur, text, sizeof text))
        return;
    if (tui_set_pick_size(u->s, path, number, text, &err) < 0)
        set_msg(u, true, err.msg);
    revalidate(u);
}

/* s: save the current plan; l: load one (docs/plan-files.md). */
static void plan_file_key(struct ui *u, int ch)
{
    char path[4096], m[1400];
    p2v_err err;
    if (ch == 's' && !u->s->valid) {
        beep();
        return;
    }
    if (!prompt(u, ch == 's' ? "Save the plan to" : "Load the plan from", u->plan_path, path,
                sizeof path) || !path[0])
        return;
    memcpy(u->plan_path, path, sizeof path);
    if (ch == 's') {
        if (tui_save_plan(u->s, path, &err) < 0) {
            set_msg(u, true, err.msg);
            return;
        }
        snprintf(m, sizeof m, "Plan saved to %.1200s (p2v convert --plan replays it)", path);
        set_msg(u, false, m);
        return;
    }
    p2v_warnings notes = { 0 };
    int r = tui_load_plan(u->s, path, (const char *const *)u->o->paths, u->o->npaths, &notes,
                          &err);
    if (r < 0) {
        set_msg(u, true, err.msg);
    } else {
        snprintf(m, sizeof m, "Plan loaded from %.600s%s%.700s", path, notes.count ? ": " : "",
                 notes.count ? notes.msgs[notes.count - 1] : "");
        set_msg(u, false, m);
    }
    p2v_warnings_free(&notes);
    if (reload_rows(u) < 0)
        set_msg(u, true, "out of memory");
    revalidate(u);
}

static const struct {
    int key;
    enum tui_field f;
} field_keys[] = {
    { 't', TUI_F_TABLE }, { 'b', TUI_F_BOOT },   { 'e', TUI_F_ESP },
    { 'z', TUI_F_SIZE },  { 'o', TUI_F_OUTPUT }, { 'f', TUI_F_FORMAT },
    { 'c', TUI_F_COMPRESS }, { 'w', TUI_F_FORCE }, { 'v', TUI_F_VERIFY },
};

static bool field_key(struct ui *u, int ch)
{
    for (size_t i = 0; i < sizeof field_keys / sizeof field_keys[0]; i++)
        if (field_keys[i].key == ch || toupper(field_keys[i].key) == ch) {
            if (tui_field_is_text(field_keys[i].f))
                edit_field(u, field_keys[i].f);
            else {
                tui_cycle(u->s, field_keys[i].f, ch == field_keys[i].key ? 1 : -1);
                revalidate(u);
            }
            return true;
        }
    return false;
}

static void pick_key(struct ui *u, int ch)
{
    const tui_row *r = u->nrows ? &u->rows[u->cur] : NULL;
    p2v_err err;
    if (!r || !r->part)
        return;
    const char *path = u->s->disks[r->disk].path;
    if (ch == ' ') {
        if (tui_toggle(u->s, r->disk, r->part->p->number, &err) < 0)
            set_msg(u, true, err.msg);
    } else {
        int delta = ch == '-' || ch == 'K' || ch == KEY_SR ? -1 : 1;
        if (!tui_move(u->s, path, r->part->p->number, delta)) {
            set_msg(u, true, "pick the partition first (Space), then move it in the order");
            return;
        }
    }
    revalidate(u);
}

/* One key of the disk view; returns -1 to quit. */
static int disks_key(struct ui *u, int ch)
{
    switch (ch) {
    case 'q': return -1;
    case KEY_UP: case 'k': cursor_step(u, -1); break;
    case KEY_DOWN: case 'j': cursor_step(u, 1); break;
    case KEY_PPAGE: for (int i = 0; i < 10; i++) cursor_step(u, -1); break;
    case KEY_NPAGE: for (int i = 0; i < 10; i++) cursor_step(u, 1); break;
    case KEY_HOME: cursor_first(u); break;
    case KEY_END: for (size_t i = 0; i < u->nrows; i++) cursor_step(u, 1); break;
    case ' ': case '-': case '+': case '=': case 'K': case 'J': case KEY_SR: case KEY_SF:
        pick_key(u, ch);
        break;
    case 'x': tui_clear_picks(u->s); revalidate(u); break;
    case 'n': size_key(u); break;
    case 's': case 'l': plan_file_key(u, ch); break;
    case 'r': return rescan(u);
    case '?': show_help(u); break;
    case 'p': case '\n': case '\r': case KEY_ENTER:
        revalidate(u);
        if (!u->s->valid) {
            beep(); /* the status line already shows why */
            break;
        }
        switch (preview(u)) {
        case -1: return -1;
        case 1: return run(u);
        default: break;
        }
        break;
    default: field_key(u, ch); break;
    }
    return 0;
}

static int start(struct ui *u)
{
    if (rescan(u) < 0)
        return -ENOMEM;
    u->msg[0] = '\0';
    cursor_first(u);
    return 0;
}

int tui_main(const tui_opts *o, p2v_err *err)
{
    tui_state s;
    struct ui u = { .s = &s, .o = o, .plan_path = "p2v-plan.json" };
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return p2v_errf(err, -ENOTTY, "the picking screen needs a terminal (stdin and stdout)");
    tui_state_init(&s, o->sector_size);
    if (o->output)
        snprintf(s.target.output, sizeof s.target.output, "%s", o->output);
    setlocale(LC_ALL, "");
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        tui_state_free(&s);
        return p2v_errf(err, -ENOTTY, "cannot start the screen (TERM=%s)",
                        getenv("TERM") ? getenv("TERM") : "");
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    init_colors(&u);
    int r = start(&u);
    while (r == 0) {
        draw_disks(&u);
        int ch = getch();
        if (ch == KEY_RESIZE)
            continue;
        r = disks_key(&u, ch);
    }
    endwin();
    delscreen(scr);
    free(u.rows);
    tui_state_free(&s);
    if (r < -1)
        return p2v_errf(err, r, "out of memory");
    return 0;
}
