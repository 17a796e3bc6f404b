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
        err->where[0] = '\0';
    }
    return code;
}

static void set_where(p2v_err *err, const char *where)
{
    snprintf(err->where, sizeof err->where, "%s", where);
}

int p2v_errf_at(p2v_err *err, int code, const char *where, const char *fmt, ...)
{
    if (!err)
        return code;
    /* the text p2v_errf(err, code, "%s: " fmt, where, ...) would make */
    int n = snprintf(err->msg, sizeof err->msg, "%s: ", where);
    if (n >= 0 && (size_t)n < sizeof err->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    set_where(err, where);
    return code;
}

bool p2v_err_names(const p2v_err *err, const char *where)
{
    return err && err->where[0] && strncmp(err->where, where, strlen(where)) == 0;
}

int p2v_err_at(p2v_err *err, int code, const char *where, const char *fmt, ...)
{
    if (!err || p2v_err_names(err, where))
        return code;
    char context[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    p2v_err_prefix(err, code, "%s: %s", where, context);
    set_where(err, where);
    return code;
}

const char *p2v_err_text(const p2v_err *err)
{
    size_t n = strlen(err->where);
    /* p2v_errf_at wrote "where: " first; a where too long for the message
     * leaves it whole. */
    return n && n + 2 <= strnlen(err->msg, sizeof err->msg) ? err->msg + n + 2 : err->msg;
}

int p2v_err_name(p2v_err *err, int code, const char *where)
{
    if (!err || !strcmp(err->where, where))
        return code;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    return p2v_errf_at(err, code, where, "%s", old);
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
    err->where[0] = '\0';
    return code;
}

void p2v_warn(p2v_warnings *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p2v_vwarn(w, fmt, ap);
    va_end(ap);
}

void p2v_vwarn(p2v_warnings *w, const char *fmt, va_list ap)
{
    if (!w)
        return;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
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
