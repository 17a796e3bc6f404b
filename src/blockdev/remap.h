/* A view of a blockdev in which some ranges are read from elsewhere: a
 * filesystem whose clusters were given new places (an NTFS shrink) is seen
 * in its final layout while the data still sits at its old place in the
 * base. The copy engine reading this view writes every moved cluster
 * straight to its new place, in the same single pass as everything else;
 * nothing is copied twice. Read-only; base must outlive the view. */
#ifndef P2V_BLOCKDEV_REMAP_H
#define P2V_BLOCKDEV_REMAP_H

#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

/* len bytes that the view shows at dst come from src of the base. */
typedef struct bd_move {
    uint64_t dst;
    uint64_t src;
    uint64_t len;
} bd_move;

/* A view of the first size bytes of base (size <= bd_size(base)) with the
 * moves applied. Moves must not overlap each other in dst, must lie inside
 * the view (dst) and the base (src); they are copied (sorted by dst). */
int bd_remap_open(blockdev *base, uint64_t size, const bd_move *moves, size_t nmoves,
                  blockdev **out, p2v_err *err);

#endif
