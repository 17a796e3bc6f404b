/* Growing arrays: the one "double it when full" rule, with its overflow
 * check, for the lists every layer keeps (extents, inodes, runlists, bad
 * sectors, plan keys). */
#ifndef P2V_UTIL_ARRAY_H
#define P2V_UTIL_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Room for one more element in v (*cap elements of elem bytes, count of
 * them used): v itself while there is room, else v reallocated to twice
 * *cap (first when empty) with *cap updated. NULL when out of memory (v and
 * *cap unchanged); callers store the result:
 *     extent *n = array_room(l->v, &l->cap, l->count, sizeof *n, 64);
 *     if (!n) return -ENOMEM;
 *     l->v = n; */
static inline void *array_room(void *v, size_t *cap, size_t count, size_t elem, size_t first)
{
    if (count < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap <= *cap || ncap > SIZE_MAX / elem)
        return NULL;
    void *n = realloc(v, ncap * elem);
    if (n)
        *cap = ncap;
    return n;
}

#endif
