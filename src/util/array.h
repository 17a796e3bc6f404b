/* Growing arrays: the one "double it when full" rule, with its overflow
 * check, for the lists every layer keeps (extents, inodes, runlists, bad
 * sectors, plan keys) and the growing texts (INF lines, ReAgent.xml, plan
 * strings). */
#ifndef P2V_UTIL_ARRAY_H
#define P2V_UTIL_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Room for `more` elements after the count used in v (*cap elements of
 * elem bytes): v itself while they fit, else v reallocated to *cap (first,
 * > 0, when empty) doubled until they fit, with *cap updated. NULL when out
 * of memory (v and *cap unchanged). */
static inline void *array_room_n(void *v, size_t *cap, size_t count, size_t more, size_t elem,
                                 size_t first)
{
    if (more <= *cap - count)
        return v;
    size_t ncap = *cap ? *cap : first;
    while (ncap - count < more) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return NULL;
    void *n = realloc(v, ncap * elem);
    if (n)
        *cap = ncap;
    return n;
}

/* Room for one more element in v (*cap elements of elem bytes, count of
 * them used): v itself while there is room, else v reallocated to twice
 * *cap (first when empty) with *cap updated. NULL when out of memory (v and
 * *cap unchanged); callers store the result:
 *     extent *n = array_room(l->v, &l->cap, l->count, sizeof *n, 64);
 *     if (!n) return -ENOMEM;
 *     l->v = n; */
static inline void *array_room(void *v, size_t *cap, size_t count, size_t elem, size_t first)
{
    return array_room_n(v, cap, count, 1, elem, first);
}

#endif
