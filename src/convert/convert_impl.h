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
};

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
