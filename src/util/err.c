#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int p2v_errf(p2v_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int p2v_err_prefix(p2v_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char prefix[512];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    snprintf(err->msg, sizeof err->msg, "%.511s: %.509s", prefix, old); /* bounded: gcc -Wformat-truncation */
    return code;
}

void p2v_warn(p2v_warnings *w, const char *fmt, ...)
{
    if (!w)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(w->msgs, (w->count + 1) * sizeof *n);
    if (!n)
        return;
    w->msgs = n;
    w->msgs[w->count] = strdup(buf);
    if (w->msgs[w->count])
        w->count++;
}

void p2v_warnings_free(p2v_warnings *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free(w->msgs[i]);
    free(w->msgs);
    w->msgs = NULL;
    w->count = 0;
}
