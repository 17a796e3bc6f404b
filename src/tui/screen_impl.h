/* The picking screen's private parts, shared by its files:
 *
 *   screen.c        the terminal and the disk view's loop (tui_main)
 *   draw.c          drawing helpers: clipped text, filled lines, the bar, lines of text
 *   view_disks.c    the disk view: disks, partitions, order, target, status
 *   view_preview.c  the preview of the new disk
 *   view_run.c      progress while writing, the result and the failure views
 *   keys.c          the disk view's keys and the help that lists them
 *
 * The views include only the model (tui/tui.h, over src/convert/) and
 * src/util/; what they need of a disk or of the written image comes from
 * convert_ calls (convert/check.c). */
#ifndef P2V_TUI_SCREEN_IMPL_H
#define P2V_TUI_SCREEN_IMPL_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- draw.c ---- */

/* Text at (y, x) in colour c, cut at the right edge. */
void ui_put(const struct ui *u, int y, int x, int c, const char *text);
/* Line y filled with spaces in colour c, then text over it. */
void ui_line_fill(const struct ui *u, int y, int c, const char *text);
/* The key line at the bottom. */
void ui_footer(const struct ui *u, const char *keys);
double ui_now_s(void);

/* One segment of a proportional bar. */
struct seg {
    uint64_t start, len;        /* any unit, same as total */
    char text[64];
    bool hot;                   /* selected: drawn highlighted */
};

void ui_draw_bar(const struct ui *u, int y, int x, int width, uint64_t total,
                 const struct seg *sg, size_t n);

/* A one-off message shown instead of the status, once. */
void ui_set_msg(struct ui *u, bool is_err, const char *text);

/* Lines of text (a preview, a run's log). */
struct text {
    char **lines;
    size_t n;
};

void ui_text_free(struct text *t);
int ui_text_add(struct text *t, const char *s, size_t len);
int ui_text_split(struct text *t, const char *buf);

/* ---- the views ---- */

void ui_draw_disks(struct ui *u);
/* Returns 1 to write, 0 to go back, -1 to quit. */
int ui_preview(struct ui *u);
/* Writes the image; returns -1 to quit, 0 to go back to the disks. */
int ui_run(struct ui *u);

/* ---- keys.c ---- */

/* One key of the disk view; returns -1 to quit, < -1 on a fatal error. */
int ui_disks_key(struct ui *u, int ch);
/* (Re)open the disks and reload the rows; < 0 only when out of memory. */
int ui_rescan(struct ui *u);
void ui_cursor_first(struct ui *u);
/* Ask the planner again after a change. */
void ui_revalidate(struct ui *u);
void ui_show_help(struct ui *u);

#endif
