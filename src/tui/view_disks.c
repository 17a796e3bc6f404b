/* The disk view: each disk's header and bar, its partitions as rows, the
 * order of the picks, the target options and the planner's verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/screen_impl.h"

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
    ui_draw_bar(u, y, 2, COLS - 3, t->disk_sectors, sg, n);
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
    /* what p2v disks knows: the Windows installed here, a boot store */
    char winver[96] = "";
    if (cp->win_probed && cp->win.win.present)
        win_install_short(&cp->win.win, winver, sizeof winver);
    FLAG(winver[0], winver);
    FLAG(cp->win_probed && (cp->win.bcd_bios || cp->win.bcd_efi), "boot store");
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
        ui_line_fill(u, y, C_CUR, line);
        return;
    }
    ui_put(u, y, 0, c, line);
}

static void disk_header(const struct ui *u, int y, size_t di)
{
    const tui_disk *td = &u->s->disks[di];
    char line[1200], h[32], id[64];
    if (!td->d) {
        snprintf(line, sizeof line, "%s: %s", td->path, td->error);
        ui_put(u, y, 0, C_GREY, line);
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
             size_human(convert_disk_bytes(td->d), h, sizeof h), id, t->sector_size,
             t->warnings.count ? "  (table warnings)" : "");
    ui_put(u, y, 0, C_NORMAL, line);
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
    ui_put(u, y, 0, C_NORMAL, line);
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
    ui_put(u, y, 0, C_NORMAL, line);
    o = (size_t)snprintf(line, sizeof line, "       ");
    /* the output name last, so that a long one does not hide the others */
    for (size_t i = 1; i < sizeof row2 / sizeof row2[0]; i++) {
        tui_field_value(u->s, row2[i].f, v, sizeof v);
        o += (size_t)snprintf(line + o, sizeof line - o, " %s %s ", row2[i].label, v);
    }
    tui_field_value(u->s, TUI_F_OUTPUT, v, sizeof v);
    snprintf(line + o, sizeof line - o, " %s %s", row2[0].label, v);
    ui_put(u, y + 1, 0, C_NORMAL, line);
    tui_field_value(u->s, TUI_F_VMDEF, v, sizeof v);
    snprintf(line, sizeof line, "        vm-[d]ef %s", v);
    ui_put(u, y + 2, 0, C_NORMAL, line);
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
        ui_line_fill(u, y + 1, c, line);
        return;
    }
    const char *rest = line + k + (line[k] == ' ');
    line[k] = '\0';
    ui_line_fill(u, y, c, line);
    ui_line_fill(u, y + 1, c, rest);
}

void ui_draw_disks(struct ui *u)
{
    erase();
    char title[200];
    snprintf(title, sizeof title, "p2v - pick the partitions to copy, in the order of the new disk  (%zu disk%s)",
             u->s->ndisks, u->s->ndisks == 1 ? "" : "s");
    ui_line_fill(u, 0, C_TITLE, title);
    struct cols cw = col_widths();
    char head[300];
    snprintf(head, sizeof head, "%-5s%2s %10s  %-*s %-*s %-*s %10s  Flags", " Pick", "#", "Size",
             cw.type, "Type", cw.fs, "FS", cw.label, "Label", "Used");
    ui_put(u, 1, 0, C_NORMAL, head);
    int region_top = 2, region_h = LINES - 9;
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
        ui_put(u, region_top, 0, C_GREY, "No disks. Plug one in and press r, or name them: p2v tui DISK...");
    order_line(u, LINES - 7);
    target_panel(u, LINES - 6);
    status_line(u, LINES - 3);
    ui_footer(u, "Up/Dn move  Space pick  -/+ order  p preview  r rescan  s/l plan  ? help  q quit");
    refresh();
}
