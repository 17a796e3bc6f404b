/* A window of a blockdev seen at another length: [off, off + len) of base,
 * followed by zeros up to size bytes. A filesystem grown beyond its source
 * partition is edited on an overlay of such a window, so that the new space
 * reads as zeros and never as the source disk's next partition. Read-only,
 * like every blockdev; base must outlive the window (bd_close does not close
 * it). */
#ifndef P2V_BLOCKDEV_WINDOW_H
#define P2V_BLOCKDEV_WINDOW_H

#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

/* len may exceed size (the window is cut at size) or fall short of it (zeros
 * follow). [off, off + min(len, size)) must lie inside base. */
int bd_window_open(blockdev *base, uint64_t off, uint64_t len, uint64_t size, blockdev **out,
                   p2v_err *err);

#endif
