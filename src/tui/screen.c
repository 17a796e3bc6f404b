/* The picking screen over ncurses: starts the terminal and runs the disk
 * view's loop. The model (tui_state) decides; the views (view_*.c) only
 * show it and keys.c turns keys into model calls; screen_impl.h lists them. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tui/screen_impl.h"

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

static int start(struct ui *u)
{
    if (ui_rescan(u) < 0)
        return -ENOMEM;
    u->msg[0] = '\0';
    ui_cursor_first(u);
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
        ui_draw_disks(&u);
        int ch = getch();
        if (ch == KEY_RESIZE)
            continue;
        r = ui_disks_key(&u, ch);
    }
    endwin();
    delscreen(scr);
    free(u.rows);
    tui_state_free(&s);
    if (r < -1)
        return p2v_errf(err, r, "out of memory");
    return 0;
}
