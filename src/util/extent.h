/* Extents (start, length) in bytes: the currency between fsmap, plan and copy. */
#ifndef P2V_UTIL_EXTENT_H
#define P2V_UTIL_EXTENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct extent {
    uint64_t start;
    uint64_t len;
} extent;

typedef struct extent_list {
    extent *v;
    size_t count;
    size_t cap;
} extent_list;

/* Append, merging with the last extent when adjacent or overlapping and in order.
 * 0 or -ENOMEM / -ERANGE (start + len overflows). */
int extent_list_add(extent_list *l, uint64_t start, uint64_t len);
/* Sort by start and merge overlapping or adjacent extents. */
void extent_list_normalize(extent_list *l);
/* Total bytes covered (after normalize: no double counting). */
uint64_t extent_list_bytes(const extent_list *l);
/* Drop everything at or past limit, cutting an extent that straddles it. */
void extent_list_clip(extent_list *l, uint64_t limit);
/* Take every byte of cut (normalized) out of l (normalized); l stays
 * normalized. 0, or -ENOMEM with l unchanged. */
int extent_list_subtract(extent_list *l, const extent_list *cut);
void extent_list_free(extent_list *l);

#endif
