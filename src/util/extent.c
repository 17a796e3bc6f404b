#include "util/extent.h"

#include <errno.h>
#include <stdlib.h>

#include "util/array.h"

int extent_list_add(extent_list *l, uint64_t start, uint64_t len)
{
    uint64_t end;
    if (len == 0)
        return 0;
    if (__builtin_add_overflow(start, len, &end))
        return -ERANGE;
    if (l->count > 0) {
        extent *last = &l->v[l->count - 1];
        uint64_t last_end = last->start + last->len;
        if (start >= last->start && start <= last_end) {
            if (end > last_end)
                last->len = end - last->start;
            return 0;
        }
    }
    extent *n = array_room(l->v, &l->cap, l->count, sizeof *n, 64);
    if (!n)
        return -ENOMEM;
    l->v = n;
    l->v[l->count].start = start;
    l->v[l->count].len = len;
    l->count++;
    return 0;
}

static int cmp_extent(const void *a, const void *b)
{
    const extent *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

void extent_list_normalize(extent_list *l)
{
    if (l->count < 2)
        return;
    qsort(l->v, l->count, sizeof *l->v, cmp_extent);
    size_t o = 0;
    for (size_t i = 1; i < l->count; i++) {
        extent *cur = &l->v[o];
        uint64_t cur_end = cur->start + cur->len;
        if (l->v[i].start <= cur_end) {
            uint64_t e = l->v[i].start + l->v[i].len;
            if (e > cur_end)
                cur->len = e - cur->start;
        } else {
            l->v[++o] = l->v[i];
        }
    }
    l->count = o + 1;
}

uint64_t extent_list_bytes(const extent_list *l)
{
    uint64_t t = 0;
    for (size_t i = 0; i < l->count; i++)
        t += l->v[i].len;
    return t;
}

void extent_list_clip(extent_list *l, uint64_t limit)
{
    size_t o = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (l->v[i].start >= limit)
            continue;
        l->v[o] = l->v[i];
        if (l->v[o].start + l->v[o].len > limit)
            l->v[o].len = limit - l->v[o].start;
        o++;
    }
    l->count = o;
}

int extent_list_subtract(extent_list *l, const extent_list *cut)
{
    extent_list o = { 0 };
    size_t j = 0;
    for (size_t i = 0; i < l->count; i++) {
        uint64_t pos = l->v[i].start, end = pos + l->v[i].len;
        while (j < cut->count && cut->v[j].start + cut->v[j].len <= pos)
            j++;
        /* the cuts overlapping [pos, end), in order; the last may reach on */
        for (size_t k = j; k < cut->count && cut->v[k].start < end; k++) {
            uint64_t cs = cut->v[k].start, ce = cs + cut->v[k].len;
            if (cs > pos && extent_list_add(&o, pos, cs - pos) < 0)
                goto nomem;
            if (ce > pos)
                pos = ce;
        }
        if (pos < end && extent_list_add(&o, pos, end - pos) < 0)
            goto nomem;
    }
    extent_list_free(l);
    *l = o;
    return 0;
nomem:
    extent_list_free(&o);
    return -ENOMEM;
}

void extent_list_free(extent_list *l)
{
    free(l->v);
    l->v = NULL;
    l->count = l->cap = 0;
}

size_t ranges_first_after(const void *v, size_t n, size_t stride, size_t start_at, size_t len_at,
                          uint64_t x)
{
    const unsigned char *rec = v;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unsigned char *m = rec + mid * stride;
        if (*(const uint64_t *)(m + start_at) + *(const uint64_t *)(m + len_at) <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t extent_list_first_after(const extent_list *l, uint64_t x)
{
    return ranges_first_after(l->v, l->count, sizeof *l->v, offsetof(extent, start),
                              offsetof(extent, len), x);
}

bool extent_list_touches(const extent_list *l, uint64_t start, uint64_t len)
{
    size_t i = extent_list_first_after(l, start);
    return i < l->count && l->v[i].start < start + len;
}

bool extent_list_covers(const extent_list *l, uint64_t start, uint64_t len)
{
    if (len == 0)
        return true;
    size_t i = extent_list_first_after(l, start);
    return i < l->count && l->v[i].start <= start && len <= l->v[i].start + l->v[i].len - start;
}
