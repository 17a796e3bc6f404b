/* Caller-owned error messages. Library code fills one and returns a negative
 * errno-style code; only cli/ prints. A message says what was wrong and where. */
#ifndef P2V_UTIL_ERR_H
#define P2V_UTIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

#include <stdbool.h>

typedef struct p2v_err {
    char msg[1024];
    /* The thing the message starts by naming ("pc.img:2", "pc.img:2
     * \Boot\BCD"), set by the layer that knows the name (p2v_errf_at,
     * p2v_err_at); "" when the message names nothing first. Outer layers
     * decide on it, never on the message text. */
    char where[512];
} p2v_err;

/* Format into err (if non-NULL) and return code, so callers can write
 * `return p2v_errf(err, -EINVAL, "...", ...)`. The message names no where. */
int p2v_errf(p2v_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same about `where`: the message is "where: <fmt>" and err->where is where. */
int p2v_errf_at(p2v_err *err, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix an existing message: "prefix: old message" (it then starts with
 * the prefix, so it names no where). */
int p2v_err_prefix(p2v_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether the message already starts by naming `where` (err->where begins
 * with it: "pc.img:2 \Boot\BCD" names "pc.img:2"). */
bool p2v_err_names(const p2v_err *err, const char *where);

/* The message without the "where: " it starts with (all of it when it
 * names no where): what went wrong, for a caller that names the place itself. */
const char *p2v_err_text(const p2v_err *err);

/* An error from below about `where`: unless err->where is where already, the
 * message becomes "where: old message" about where. */
int p2v_err_name(p2v_err *err, int code, const char *where);

/* An error from below, named by the layer that knows the name: unless it
 * names `where` already, it becomes "where: <fmt>: old message" about where. */
int p2v_err_at(p2v_err *err, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A list of warnings gathered by a parser for the caller to show. */
typedef struct p2v_warnings {
    char **msgs;
    size_t count;
} p2v_warnings;

void p2v_warn(p2v_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a va_list, for callers that keep lists of their own (ptable_warn). */
void p2v_vwarn(p2v_warnings *w, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void p2v_warnings_free(p2v_warnings *w);

#endif
