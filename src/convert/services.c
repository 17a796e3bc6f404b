/* What every step of the module shares and job.c need not own: messages to
 * the caller and a partition's name. Steps call these, never job.c. */
#include <stdarg.h>
#include <stdio.h>

#include "convert/convert_impl.h"

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
{
    if (!ev || !ev->message)
        return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ev->message(ev->ctx, level, msg);
}

void convert_part_source_name(const convert_job *job, const plan_part *pp, char *out, size_t len)
{
    if (pp->kind == PLAN_PART_COPY)
        snprintf(out, len, "%s:%u", job->src[pp->disk]->path, pp->src->number);
    else
        snprintf(out, len, "(new %s)", pp->kind == PLAN_PART_MSR ? "MSR"
                                       : pp->role == PLAN_ROLE_ESP ? "ESP" : "partition");
}
