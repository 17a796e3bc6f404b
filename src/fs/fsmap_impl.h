/* Inside src/fs: the partition a filesystem driver reads and the helpers
 * every driver shares (fsmap.c). The drivers themselves are reached only
 * through their rows (fs/driver.h). */
#ifndef P2V_FS_FSMAP_IMPL_H
#define P2V_FS_FSMAP_IMPL_H

#include "fs/fsmap.h"

/* A partition of a blockdev: all reads are relative to its start and must
 * stay inside it. */
typedef struct fsmap_src {
    blockdev *bd;
    uint64_t off;
    uint64_t len;
} fsmap_src;

/* Read len bytes at partition offset off; past the partition end is an error. */
int fsmap_read(const fsmap_src *s, void *buf, size_t len, uint64_t off, p2v_err *err);

/* Give up on the map: every sector is copied, with a one-line reason. Frees
 * any extents gathered so far. Returns 0 so builders can `return fsmap_set_full(...)`. */
int fsmap_set_full(fsmap *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add an extent (partition-relative bytes), clipped to the partition.
 * 0 or -ENOMEM / -ERANGE with a message. */
int fsmap_add(fsmap *m, const fsmap_src *s, uint64_t start, uint64_t len, p2v_err *err);

/* Does [start, start + len) touch an extent of the normalized list? */
static inline bool fs_extents_touch(const extent_list *l, uint64_t start, uint64_t len)
{
    return extent_list_touches(l, start, len);
}

/* Scan a bitmap of n bits (bit i of byte i/8, LSB first, set = in use) that
 * covers units first_unit.. of unit_size bytes starting at byte base, and add
 * runs of set bits. Returns the number of set bits through *set_bits. */
int fsmap_add_bitmap_runs(fsmap *m, const fsmap_src *s, const uint8_t *bits, uint64_t n,
                          uint64_t first_unit, uint64_t unit_size, uint64_t base,
                          uint64_t *set_bits, p2v_err *err);

#endif
