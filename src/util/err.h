/* Caller-owned error messages. Library code fills one and returns a negative
 * errno-style code; only cli/ prints. A message says what was wrong and where. */
#ifndef P2V_UTIL_ERR_H
#define P2V_UTIL_ERR_H

#include <stddef.h>

typedef struct p2v_err {
    char msg[1024];
} p2v_err;

/* Format into err (if non-NULL) and return code, so callers can write
 * `return p2v_errf(err, -EINVAL, "...", ...)`. */
int p2v_errf(p2v_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "prefix: old message". */
int p2v_err_prefix(p2v_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A list of warnings gathered by a parser for the caller to show. */
typedef struct p2v_warnings {
    char **msgs;
    size_t count;
} p2v_warnings;

void p2v_warn(p2v_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p2v_warnings_free(p2v_warnings *w);

#endif
