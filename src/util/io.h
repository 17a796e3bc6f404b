/* A destination for bytes at absolute offsets of the target disk: what table
 * serializers, ESP formatters and the copy engine write through. */
#ifndef P2V_UTIL_IO_H
#define P2V_UTIL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef int (*p2v_write_fn)(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err);

#endif
