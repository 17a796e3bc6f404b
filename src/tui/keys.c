/* The disk view's keys: the cursor, picks and their order, target fields,
 * sizes of their own, plan files, rescans, and the help they are listed in. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/screen_impl.h"

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
        ui_line_fill(u, LINES - 2, C_NORMAL, line);
        ui_footer(u, " Enter accept  Esc cancel  Backspace delete");
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
            ui_draw_disks(u);
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

void ui_revalidate(struct ui *u) { tui_validate(u->s); }

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

void ui_cursor_first(struct ui *u)
{
    for (size_t i = 0; i < u->nrows; i++)
        if (u->rows[i].part) {
            u->cur = i;
            return;
        }
    u->cur = 0;
}

int ui_rescan(struct ui *u)
{
    char **paths = u->o->paths, **mine = NULL;
    size_t n = u->o->npaths, dropped = 0;
    p2v_err err;
    if (!paths) {
        if (convert_machine_disks(&mine, &n, &err) < 0) {
            ui_set_msg(u, true, err.msg);
            return 0;
        }
        paths = mine;
    }
    int r = tui_open_disks(u->s, paths, n, &dropped, &err);
    if (mine)
        convert_machine_disks_free(mine, n);
    if (r < 0)
        return r;
    if ((r = reload_rows(u)) < 0)
        return r;
    if (!u->rows || !u->rows[u->cur].part)
        ui_cursor_first(u);
    ui_revalidate(u);
    char m[200];
    snprintf(m, sizeof m, "Rescanned: %zu disk%s%s", u->s->ndisks, u->s->ndisks == 1 ? "" : "s",
             dropped ? "; picks of disks that are gone were dropped" : "");
    ui_set_msg(u, false, m);
    return 0;
}


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
    "  v  verify: read the image back      d  VM definition: FORMAT[:FILE] (--vm-def)",
    "",
    "Preview: g or Enter writes, b or Esc goes back.  Run: q or Esc asks to cancel;",
    "a cancelled or failed run leaves nothing under the output name.",
    "Grey rows cannot be copied; the reason is on the row.",
    "Press any key to go back.",
};

void ui_show_help(struct ui *u)
{
    for (;;) {
        erase();
        for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0] && (int)i < LINES - 1; i++)
            ui_put(u, (int)i, 0, i == 0 ? C_TITLE : C_NORMAL, help_lines[i]);
        ui_footer(u, " any key: back");
        refresh();
        if (getch() != KEY_RESIZE)
            return;
    }
}

static void edit_field(struct ui *u, enum tui_field f)
{
    char cur[4200], text[4200];
    p2v_err err;
    if (f == TUI_F_OUTPUT)
        snprintf(cur, sizeof cur, "%s", u->s->target.output);
    else if (f == TUI_F_VMDEF)
        snprintf(cur, sizeof cur, "%s", u->s->target.vmdef);
    else
        cur[0] = '\0';
    const char *label = f == TUI_F_OUTPUT ? "Output file"
                        : f == TUI_F_ESP  ? "Add an empty ESP of SIZE (empty: none)"
                        : f == TUI_F_VMDEF
                            ? "VM definition, libvirt|qemu|proxmox|openstack[:FILE] (empty: none)"
                            : "Disk size, SIZE (empty: the smallest)";
    if (!prompt(u, label, cur, text, sizeof text))
        return;
    if (tui_set_field(u->s, f, text, &err) < 0)
        ui_set_msg(u, true, err.msg);
    ui_revalidate(u);
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
        ui_set_msg(u, true, "pick the partition first (Space), then give it a size of its own");
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
        ui_set_msg(u, true, err.msg);
    ui_revalidate(u);
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
            ui_set_msg(u, true, err.msg);
            return;
        }
        snprintf(m, sizeof m, "Plan saved to %.1200s (p2v convert --plan replays it)", path);
        ui_set_msg(u, false, m);
        return;
    }
    p2v_warnings notes = { 0 };
    int r = tui_load_plan(u->s, path, (const char *const *)u->o->paths, u->o->npaths, &notes,
                          &err);
    if (r < 0) {
        ui_set_msg(u, true, err.msg);
    } else {
        snprintf(m, sizeof m, "Plan loaded from %.600s%s%.700s", path, notes.count ? ": " : "",
                 notes.count ? notes.msgs[notes.count - 1] : "");
        ui_set_msg(u, false, m);
    }
    p2v_warnings_free(&notes);
    if (reload_rows(u) < 0)
        ui_set_msg(u, true, "out of memory");
    ui_revalidate(u);
}

static const struct {
    int key;
    enum tui_field f;
} field_keys[] = {
    { 't', TUI_F_TABLE }, { 'b', TUI_F_BOOT },   { 'e', TUI_F_ESP },
    { 'z', TUI_F_SIZE },  { 'o', TUI_F_OUTPUT }, { 'f', TUI_F_FORMAT },
    { 'c', TUI_F_COMPRESS }, { 'w', TUI_F_FORCE }, { 'v', TUI_F_VERIFY },
    { 'd', TUI_F_VMDEF },
};

static bool field_key(struct ui *u, int ch)
{
    for (size_t i = 0; i < sizeof field_keys / sizeof field_keys[0]; i++)
        if (field_keys[i].key == ch || toupper(field_keys[i].key) == ch) {
            if (tui_field_is_text(field_keys[i].f))
                edit_field(u, field_keys[i].f);
            else {
                tui_cycle(u->s, field_keys[i].f, ch == field_keys[i].key ? 1 : -1);
                ui_revalidate(u);
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
            ui_set_msg(u, true, err.msg);
    } else {
        int delta = ch == '-' || ch == 'K' || ch == KEY_SR ? -1 : 1;
        if (!tui_move(u->s, path, r->part->p->number, delta)) {
            ui_set_msg(u, true, "pick the partition first (Space), then move it in the order");
            return;
        }
    }
    ui_revalidate(u);
}

/* One key of the disk view; returns -1 to quit. */
int ui_disks_key(struct ui *u, int ch)
{
    switch (ch) {
    case 'q': return -1;
    case KEY_UP: case 'k': cursor_step(u, -1); break;
    case KEY_DOWN: case 'j': cursor_step(u, 1); break;
    case KEY_PPAGE: for (int i = 0; i < 10; i++) cursor_step(u, -1); break;
    case KEY_NPAGE: for (int i = 0; i < 10; i++) cursor_step(u, 1); break;
    case KEY_HOME: ui_cursor_first(u); break;
    case KEY_END: for (size_t i = 0; i < u->nrows; i++) cursor_step(u, 1); break;
    case ' ': case '-': case '+': case '=': case 'K': case 'J': case KEY_SR: case KEY_SF:
        pick_key(u, ch);
        break;
    case 'x': tui_clear_picks(u->s); ui_revalidate(u); break;
    case 'n': size_key(u); break;
    case 's': case 'l': plan_file_key(u, ch); break;
    case 'r': return ui_rescan(u);
    case '?': ui_show_help(u); break;
    case 'p': case '\n': case '\r': case KEY_ENTER:
        ui_revalidate(u);
        if (!u->s->valid) {
            beep(); /* the status line already shows why */
            break;
        }
        switch (ui_preview(u)) {
        case -1: return -1;
        case 1: return ui_run(u);
        default: break;
        }
        break;
    default: field_key(u, ch); break;
    }
    return 0;
}

