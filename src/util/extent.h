/* Extents (start, length) in bytes: the currency between fsmap, plan and copy. */
#ifndef P2V_UTIL_EXTENT_H
#define P2V_UTIL_EXTENT_H

#include <stdbool.h>
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

/* In a normalized list: the index of the first extent ending after x (the
 * one holding x, or the next one past it); l->count when there is none.
 * Binary search, the one every "where am I in the map" walk shares. */
size_t extent_list_first_after(const extent_list *l, uint64_t x);
/* The same search over any array of n records of stride bytes at v, sorted
 * and not overlapping, each with a uint64_t start at byte start_at and a
 * uint64_t length at byte len_at (offsetof): for lists of ranges that carry
 * more than an extent (blockdev/remap.c's moves). */
size_t ranges_first_after(const void *v, size_t n, size_t stride, size_t start_at, size_t len_at,
                          uint64_t x);
/* Does [start, start + len) touch an extent of the normalized list? */
bool extent_list_touches(const extent_list *l, uint64_t start, uint64_t len);
/* Is [start, start + len) entirely inside one extent of the normalized
 * list? (len 0: always.) */
bool extent_list_covers(const extent_list *l, uint64_t start, uint64_t len);

#endif
