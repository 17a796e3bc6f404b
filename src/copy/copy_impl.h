/* The copy engine's private parts, shared by its files:
 *
 *   copy_block.c   one block: the extents a range copies, its bytes read from
 *                  the source (used bytes only, patches laid over), its
 *                  non-zero granules written
 *   copy.c         copy_run: the pipeline of reader and writer threads
 *   copy_verify.c  copy_verify: the target read back and compared */
#ifndef P2V_COPY_IMPL_H
#define P2V_COPY_IMPL_H

#include <stdint.h>

#include "copy/copy.h"

#define COPY_DEFAULT_BLOCK (4u << 20)

/* The target's bytes [rel, rel + len) of the range: source data (zeros past
 * src_len, and where a used map does not name it) with the patches laid over it. */
int cp_fill_block(const copy_range *r, uint8_t *buf, uint64_t rel, size_t len, uint64_t *read,
                  p2v_err *err);
/* Write the non-zero granules of buf (target offset abs) as runs. */
int cp_write_nonzero(const copy_opts *o, const uint8_t *buf, size_t len, uint64_t abs,
                     uint64_t *written, p2v_err *err);
/* -EINTR once the caller's cancel flag is set. */
int cp_cancelled(const copy_opts *o, p2v_err *err);
uint64_t cp_now_ns(void);

#endif
