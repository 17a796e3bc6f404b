/* The preview: the new disk's bar, the dry run's table and the planner's
 * notes, scrolled; Enter goes on to write it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/screen_impl.h"

/* The new partitions in a few columns, for screens narrower than the table. */
static int preview_short(const tui_state *s, struct text *t)
{
    const plan *p = convert_job_plan(s->job);
    char line[600], src[300], h[32];
    if (ui_text_add(t, "", 0) < 0 || ui_text_add(t, "In short (Left/Right scroll the table):", 39) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        convert_part_source_name(s->job, pp, src, sizeof src);
        snprintf(line, sizeof line, "%-3u %-22.22s %10s  %-5.5s %-16.16s %s%s", pp->number, src,
                 size_human(pp->sectors * p->sector_size, h, sizeof h),
                 pp->fstype[0] ? pp->fstype : "-", pp->label[0] ? pp->label : "-",
                 pp->bootable ? "active " : "", pp->logical ? "logical" : "");
        if (ui_text_add(t, line, strlen(line)) < 0)
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
    int r = buf ? ui_text_split(t, buf) : -ENOMEM;
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
    ui_draw_bar(u, y, 0, COLS, p->disk_sectors, sg, p->nparts);
    free(sg);
}

/* Returns 1 to write, 0 to go back, -1 to quit. */
int ui_preview(struct ui *u)
{
    struct text t = { 0 };
    size_t top = 0, left = 0;
    if (preview_text(u->s, &t) < 0) {
        ui_text_free(&t);
        ui_set_msg(u, true, "out of memory");
        return 0;
    }
    int ret = 0;
    for (;;) {
        erase();
        char title[4400];
        snprintf(title, sizeof title, "Preview: the new disk %s", u->s->target.output);
        ui_line_fill(u, 0, C_TITLE, title);
        plan_bar(u, 1);
        int h = LINES - 4;
        for (int i = 0; i < h && top + (size_t)i < t.n; i++) {
            const char *l = t.lines[top + (size_t)i];
            ui_put(u, 3 + i, 0, C_NORMAL, strlen(l) > left ? l + left : "");
        }
        ui_footer(u, " g/Enter write the image  b/Esc back  arrows scroll  ? help  q quit");
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
            ui_show_help(u);
        if ((ch == KEY_DOWN || ch == 'j') && top + 1 < t.n)
            top++;
        if ((ch == KEY_UP || ch == 'k') && top > 0)
            top--;
    }
    ui_text_free(&t);
    return ret;
}

