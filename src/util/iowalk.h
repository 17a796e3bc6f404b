/* One I/O request done piece by piece: the loop every layer that splits a
 * read or write at its own boundaries (clusters, overlay blocks, runs of a
 * map, chunks of a remote image) shares, so that each keeps only what one
 * piece takes. */
#ifndef P2V_UTIL_IOWALK_H
#define P2V_UTIL_IOWALK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Handles the start of what is left of the request: the byte at off, which
 * is byte `at` of the caller's buffer, and at most len bytes from there.
 * Returns how many bytes it handled (1..len), or -errno with err filled. */
typedef int64_t (*io_piece_fn)(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err);

/* Calls piece until the len bytes at off are handled: 0, or the first
 * piece's -errno (err as that piece filled it). A piece handling 0 or more
 * than len bytes is a bug of its layer: -EIO naming the offset. */
int io_walk(uint64_t off, size_t len, io_piece_fn piece, void *ctx, p2v_err *err);

#endif
