/* Filesystem-aware used-block maps: which byte ranges of a partition hold data
 * the filesystem needs. The copy engine iterates these extents, never bits.
 * A map that cannot be trusted is never used: the result says "full" and why. */
#ifndef P2V_FS_FSMAP_H
#define P2V_FS_FSMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"
#include "util/extent.h"

typedef struct fsmap_opts {
    bool allow_dirty; /* copy a dirty / hibernated / needs_recovery volume anyway */
} fsmap_opts;

typedef struct fsmap {
    char fstype[16];     /* "ntfs", "vfat", "ext4", "swap", ... or "" when unknown */
    bool full;           /* copy every sector of the partition */
    char notice[256];    /* one line: why full, or "" */
    extent_list used;    /* when !full: byte extents relative to the partition start, normalized */
    uint64_t used_bytes; /* bytes the filesystem itself counts as used (0 if unknown) */
    bool dirty;          /* dirty / hibernated / needs recovery, mapped only because
                            allow_dirty was given (then full is true as well) */
} fsmap;

/* Build the map of the partition at [part_offset, part_offset + part_len) of bd.
 * Returns 0 (possibly with full = true and a notice), or a negative code with a
 * message for conditions that must stop the copy (dirty volume without
 * allow_dirty, read error). */
int fsmap_build(blockdev *bd, uint64_t part_offset, uint64_t part_len, const fsmap_opts *opts,
                fsmap *out, p2v_err *err);
void fsmap_free(fsmap *m);

/* Is [start, start + len) entirely inside the used extents of a mapped
 * (not full) map? Binary search; the extents are normalized. */
bool fsmap_covers(const fsmap *m, uint64_t start, uint64_t len);

#endif
