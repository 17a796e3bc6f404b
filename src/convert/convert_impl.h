/* Inside the convert module: the job a request becomes. */
#ifndef P2V_CONVERT_IMPL_H
#define P2V_CONVERT_IMPL_H

#include "convert/convert.h"

struct convert_job {
    convert_request rq;         /* the caller's request; rq.plan.active resolved */
    convert_disk **src;         /* distinct source disks, in order of first selection */
    bool *owned;                /* src[i] was opened here (not preopened) */
    size_t nsrc;
    plan_source *psrc;
    plan_sel *psel;
    plan *plan;
    char *write_path;           /* a symlink OUTPUT: the file it names, else NULL */
    struct drv_tree *drv_tree;  /* --drivers, opened */
    struct drv_job **drv;       /* per plan part: the driver step of a Windows, else NULL */
};

/* The driver step: planned for every Windows partition selected (reading
 * the sources only), carried out on a copy-on-write overlay of it while
 * the copy is prepared; the overlay is then what the copy reads. */
int convert_drivers_plan(convert_job *job, const convert_events *ev, p2v_err *err);
/* *src stays the source when the part has no driver step; else an overlay
 * holding the edits (the caller closes it), its window starting at 0. */
int convert_drivers_apply(convert_job *job, size_t part, const char *what, struct blockdev **src,
                          p2v_err *err);
void convert_drivers_free(convert_job *job);
void convert_drivers_json(const convert_job *job, json_writer *j);

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
