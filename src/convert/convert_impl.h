/* Inside the convert module: the job a request becomes. */
#ifndef P2V_CONVERT_IMPL_H
#define P2V_CONVERT_IMPL_H

#include "convert/convert.h"

/* The Windows step (convert/windows.c): per plan part the overlay holding
 * its edits (NULL: read from the source as it is), the identity map, and
 * what was changed. */
typedef struct convert_winfix {
    blockdev **overlays;
    size_t noverlays;
    win_move *moves;
    size_t nmoves;
    win_report rep;
    unsigned bcd_changed;       /* BCD device elements rewritten */
    unsigned md_changed;        /* MountedDevices values rewritten */
} convert_winfix;

struct convert_job {
    convert_request rq;         /* the caller's request; rq.plan.active resolved */
    convert_disk **src;         /* distinct source disks, in order of first selection */
    bool *owned;                /* src[i] was opened here (not preopened) */
    size_t nsrc;
    plan_source *psrc;
    plan_sel *psel;
    plan *plan;
    char *write_path;           /* a symlink OUTPUT: the file it names, else NULL */
    uint64_t nbd_size;          /* OUTPUT is an NBD export of this size (0: not NBD) */
    convert_winfix win;
    struct drv_tree *drv_tree;  /* --drivers, opened */
    struct drv_job **drv;       /* per plan part: the driver step of a Windows, else NULL */
};

/* Make the Windows edits on overlays (unless rq.no_windows_fixups); refuse a
 * Windows without a reachable boot store. Warnings go to ev. */
int convert_windows_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
/* The overlay plan part `part` is copied from, or NULL. */
blockdev *convert_windows_overlay(const convert_job *job, size_t part);
void convert_winfix_free(convert_winfix *wf);

/* The driver step (convert/drivers.c), after convert_windows_prepare: for
 * every selected Windows, planned from its hives and carried out on the
 * overlay the copy reads (made here when the Windows step made none). */
int convert_drivers_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_drivers_free(convert_job *job);
void convert_drivers_json(const convert_job *job, json_writer *j);

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
