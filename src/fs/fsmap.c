/* The helpers every filesystem driver shares: reads inside the partition,
 * "copy every sector" with a reason, extents clipped to the partition,
 * bitmap runs, file name lists, the error location. The dispatch through
 * the driver table is drivers.c's. */
#include "fs/fsmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fsmap_impl.h"

int fsmap_read(const fsmap_src *s, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    uint64_t end;
    if (__builtin_add_overflow(off, (uint64_t)len, &end) || end > s->len)
        return p2v_errf(err, -EIO,
                        "%s: read of %zu bytes at partition offset %llu goes past the partition "
                        "end (%llu bytes)",
                        bd_path(s->bd), len, (unsigned long long)off, (unsigned long long)s->len);
    return bd_pread(s->bd, buf, len, s->off + off, err);
}

int fsmap_set_full(fsmap *m, const char *fmt, ...)
{
    va_list ap;
    extent_list_free(&m->used);
    m->full = true;
    va_start(ap, fmt);
    vsnprintf(m->notice, sizeof m->notice, fmt, ap);
    va_end(ap);
    return 0;
}

int fsmap_add(fsmap *m, const fsmap_src *s, uint64_t start, uint64_t len, p2v_err *err)
{
    if (start >= s->len || len == 0)
        return 0;
    if (len > s->len - start)
        len = s->len - start;
    int r = extent_list_add(&m->used, start, len);
    if (r < 0)
        return p2v_errf(err, r, "%s: out of memory building the used-block map",
                        bd_path(s->bd));
    return 0;
}

bool fsmap_covers(const fsmap *m, uint64_t start, uint64_t len)
{
    return extent_list_covers(&m->used, start, len);
}

int fsmap_add_bitmap_runs(fsmap *m, const fsmap_src *s, const uint8_t *bits, uint64_t n,
                          uint64_t first_unit, uint64_t unit_size, uint64_t base,
                          uint64_t *set_bits, p2v_err *err)
{
    uint64_t i = 0, count = 0;
    while (i < n) {
        /* Skip whole free bytes quickly. */
        if ((i & 7) == 0 && n - i >= 8 && bits[i >> 3] == 0) {
            i += 8;
            continue;
        }
        if (!(bits[i >> 3] & (1u << (i & 7)))) {
            i++;
            continue;
        }
        uint64_t run = i;
        while (i < n) {
            if ((i & 7) == 0 && n - i >= 8 && bits[i >> 3] == 0xff) {
                i += 8;
                continue;
            }
            if (!(bits[i >> 3] & (1u << (i & 7))))
                break;
            i++;
        }
        count += i - run;
        uint64_t ustart, off, len;
        if (__builtin_add_overflow(first_unit, run, &ustart) ||
            __builtin_mul_overflow(ustart, unit_size, &off) ||
            __builtin_add_overflow(off, base, &off) ||
            __builtin_mul_overflow(i - run, unit_size, &len))
            return p2v_errf(err, -ERANGE, "%s: used-block map offset overflows",
                            bd_path(s->bd));
        int r = fsmap_add(m, s, off, len, err);
        if (r < 0)
            return r;
    }
    *set_bits = count;
    return 0;
}

void fsmap_err_locate(p2v_err *err, const char *path, uint64_t part_offset)
{
    if (!err)
        return;
    char where[64], rest[sizeof err->msg];
    int wl = snprintf(where, sizeof where, "partition at byte %llu: ",
                      (unsigned long long)part_offset);
    const char *m = err->msg;
    size_t pl = strlen(path);
    if (strncmp(m, path, pl) == 0 && strncmp(m + pl, ": ", 2) == 0)
        m += pl + 2;
    if (wl > 0 && strncmp(m, where, (size_t)wl) == 0)
        m += wl;
    size_t rl = strlen(m);
    memmove(rest, m, rl + 1);
    /* Truncation is acceptable (the message stays NUL-terminated). */
    int n = snprintf(err->msg, sizeof err->msg, "%s: %s", path, where);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    size_t room = sizeof err->msg - 1 - used;
    if (rl > room)
        rl = room;
    memcpy(err->msg + used, rest, rl);
    err->msg[used + rl] = '\0';
    snprintf(err->where, sizeof err->where, "%s", path); /* the message starts with it */
}

void fsmap_free(fsmap *m) { extent_list_free(&m->used); }

int fs_names_add(fs_names *n, const char *name)
{
    char *c = strdup(name);
    char **v = c ? realloc(n->v, (n->count + 1) * sizeof *v) : NULL;
    if (!v) {
        free(c);
        return -ENOMEM;
    }
    n->v = v;
    n->v[n->count++] = c;
    return 0;
}

void fs_names_free(fs_names *n)
{
    for (size_t i = 0; i < n->count; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->count = 0;
}
