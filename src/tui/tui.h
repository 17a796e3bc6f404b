/* The picking screen (`p2v tui`): a model of what the user chose — the source
 * disks, the selected partitions in their target order, the target options —
 * and the ncurses screens that show and edit it. The model is plain data and
 * pure functions (tested without a terminal); every change is checked by the
 * conversion library's planner, the same one `p2v convert` uses.
 *
 *   model.c   state, selection and order, target options, request
 *   cmdline.c the equivalent command line
 *   planio.c  plan files saved and loaded
 *   screen.c  the ncurses views (with draw.c, view_*.c and keys.c, listed in
 *             screen_impl.h): disks, preview, run, result, help */
#ifndef P2V_TUI_H
#define P2V_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convert/convert.h"
#include "util/err.h"

/* A disk the screen lists: opened, or the reason it could not be. */
typedef struct tui_disk {
    char *path;
    convert_disk *d;            /* NULL when it could not be opened */
    char error[1024];           /* why d is NULL */
} tui_disk;

/* One selected partition, by the path of its disk and its number, with the
 * size of its own it may have (DISK:N=SIZE|min: its filesystem is fitted). */
typedef struct tui_pick {
    char *disk;
    unsigned number;
    uint64_t size;              /* bytes; 0: as the source (or min) */
    bool size_min;
} tui_pick;

enum tui_field {
    TUI_F_TABLE = 0, TUI_F_BOOT, TUI_F_ESP, TUI_F_SIZE, TUI_F_OUTPUT, TUI_F_FORMAT,
    TUI_F_COMPRESS, TUI_F_FORCE, TUI_F_VERIFY, TUI_F_VMDEF, TUI_NFIELDS
};

typedef struct tui_target {
    enum ptable_type table;             /* PTABLE_NONE: automatic */
    enum plan_firmware boot;            /* PLAN_FW_NONE: automatic */
    uint64_t add_esp;                   /* bytes of a new ESP; 0: none */
    uint64_t size;                      /* virtual size; 0: the smallest */
    char output[4096];
    enum sink_format format;
    enum sink_compression compression;  /* qcow2 only */
    bool force;
    bool verify;
    char vmdef[4200];                   /* --vm-def FORMAT[:FILE] after the run; "": none */
    /* kept from a loaded plan file (no key on the screen; p2v convert's options) */
    uint64_t align;                     /* 0: 1 MiB */
    bool no_msr, copy_all, allow_dirty;
    uint64_t min_free;                  /* what DISK:N=min leaves free; 0: the default */
    bool min_free_set;                  /* ... unless this says 0 was given */
    uint32_t cluster_size;              /* qcow2; 0: 64 KiB */
    char *active_disk;                  /* --active DISK:N; NULL: automatic */
    unsigned active_number;
} tui_target;

typedef struct tui_state {
    tui_disk *disks;
    size_t ndisks;
    uint32_t sector_size;               /* image files; 0: detected */
    tui_pick *picks;                    /* the selection in target order */
    size_t npicks;
    tui_target target;
    /* the last validation */
    convert_job *job;                   /* the planned job when valid */
    struct tui_request *rq;             /* the request behind job (it points into it) */
    bool valid;
    char status[1024];                  /* the planner's error, or what the plan is */
    p2v_warnings notes;                 /* the planner's notices and warnings */
} tui_state;

/* A row of the disk view: a disk header or one of its partitions. */
typedef struct tui_row {
    size_t disk;
    const convert_part *part;           /* NULL: the disk's header row */
} tui_row;

int tui_state_init(tui_state *s, uint32_t sector_size);
void tui_state_free(tui_state *s);

/* (Re)open the disks named; picks of disks or partitions that are gone are
 * dropped (*dropped counts them). Disks that cannot be opened stay listed
 * with their error. */
int tui_open_disks(tui_state *s, char *const *paths, size_t n, size_t *dropped, p2v_err *err);
/* Add an already open disk (memory disks in tests); takes ownership of d,
 * also on failure. */
int tui_add_disk(tui_state *s, convert_disk *d, p2v_err *err);
/* Why partition cp of disk d cannot be picked ("" when it can). */
bool tui_part_refused(const convert_part *cp, char *why, size_t len);

/* The selection: 1-based position of (disk, number) in the order, 0 if not picked. */
size_t tui_pick_pos(const tui_state *s, const char *disk, unsigned number);
/* Pick it at the end of the order, or drop it if picked. Refused partitions
 * are not picked (-EPERM, why in err). */
int tui_toggle(tui_state *s, size_t disk, unsigned number, p2v_err *err);
/* Move the pick of (disk, number) delta places in the order (clamped);
 * returns its new 1-based position, 0 if it is not picked. */
size_t tui_move(tui_state *s, const char *disk, unsigned number, int delta);
void tui_clear_picks(tui_state *s);

/* A size as the command line writes it: the largest exact K/M/G suffix. */
void tui_size_word(uint64_t v, char *num, size_t len);

/* The picked partition's own size, from what the user typed: SIZE or "min"
 * as `p2v convert DISK:N=SIZE|min` takes it (the library's parser), "" for
 * the source's size. -ENOENT when it is not picked, -EINVAL with the reason
 * for text that is not a size. The planner judges the size (tui_validate). */
int tui_set_pick_size(tui_state *s, const char *disk, unsigned number, const char *text,
                      p2v_err *err);
/* The pick (0-based position) as a selection word: "DISK:N", "DISK:N=min",
 * "DISK:N=60G". */
void tui_pick_word(const tui_state *s, size_t pick, char *out, size_t len);
/* The size the valid plan gives the pick (0-based position), in bytes; 0
 * when there is no valid plan. */
uint64_t tui_pick_new_bytes(const tui_state *s, size_t pick);

/* Target options: cycle a choice field by dir (+1/-1); a text field takes
 * its value with tui_set_field (sizes as SIZE, "" or "0" meaning none/auto). */
void tui_cycle(tui_state *s, enum tui_field f, int dir);
int tui_set_field(tui_state *s, enum tui_field f, const char *text, p2v_err *err);
/* The field's value as shown ("auto", "GPT", "64.0 MiB", ...). */
void tui_field_value(const tui_state *s, enum tui_field f, char *out, size_t len);
const char *tui_field_name(enum tui_field f);
bool tui_field_is_text(enum tui_field f);

/* The rows of the disk view, in disk order; *n rows. Caller frees. */
int tui_rows(const tui_state *s, tui_row **rows, size_t *n);

/* Plan the current choices with the library (no writing): fills s->job,
 * s->valid, s->status and s->notes. Returns what the planner returned. */
int tui_validate(tui_state *s);

/* Plan files (docs/plan-files.md). Save: the current valid plan, as
 * `p2v convert --save-plan` writes it. Load: the plan's disks are found again
 * (at their recorded path, else by identity among `candidates`, or among the
 * machine's disks when candidates is NULL), opened if not listed yet, and the
 * plan's picks and options replace the current ones. Notices (a disk that
 * moved) go to *notes. */
int tui_save_plan(const tui_state *s, const char *path, p2v_err *err);
int tui_load_plan(tui_state *s, const char *path, const char *const *candidates, size_t n,
                  p2v_warnings *notes, p2v_err *err);

/* The `p2v convert` command line that does what the screen would do,
 * shell-quoted. */
void tui_command_line(const tui_state *s, char *out, size_t len);

/* The ncurses front end: returns 0 on a normal quit, negative on a setup
 * error (no terminal). */
typedef struct tui_opts {
    char **paths;               /* the disks to show; NULL: the machine's */
    size_t npaths;
    uint32_t sector_size;
    const char *output;         /* the initial output path; NULL: p2v.qcow2 */
} tui_opts;
int tui_main(const tui_opts *o, p2v_err *err);

#endif
