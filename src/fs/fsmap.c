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
        return p2v_errf_at(err, -EIO, bd_path(s->bd),
                           "read of %zu bytes at partition offset %llu goes past the partition "
                           "end (%llu bytes)", len, (unsigned long long)off,
                           (unsigned long long)s->len);
    return bd_pread(s->bd, buf, len, s->off + off, err);
}

int fsmap_set_full(fsmap *m, const char *fmt, ...)
{
    va_list ap;
    extent_list_free(&m->used);
    memset(&m->skipped, 0, sizeof m->skipped); /* nothing is left out of a full copy */
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
        return p2v_errf_at(err, r, bd_path(s->bd), "out of memory building the used-block map");
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
            return p2v_errf_at(err, -ERANGE, bd_path(s->bd), "used-block map offset overflows");
        int r = fsmap_add(m, s, off, len, err);
        if (r < 0)
            return r;
    }
    *set_bits = count;
    return 0;
}

/* The where of the fsmap_err_locate form: "<path>: partition at byte <offset>". */
static void part_where(char *where, size_t n, const char *path, uint64_t part_offset)
{
    snprintf(where, n, "%s: partition at byte %llu", path, (unsigned long long)part_offset);
}

int fsmap_errf(p2v_err *err, int code, const char *path, uint64_t part_offset, const char *fmt,
               ...)
{
    if (!err)
        return code;
    char where[sizeof err->where], text[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    part_where(where, sizeof where, path, part_offset);
    return p2v_errf_at(err, code, where, "%s", text);
}

void fsmap_err_locate(p2v_err *err, const char *path, uint64_t part_offset)
{
    if (!err)
        return;
    char where[sizeof err->where], rest[sizeof err->msg];
    part_where(where, sizeof where, path, part_offset);
    if (!strcmp(err->where, where))
        return; /* located already */
    /* A read error names the disk: it is not repeated. */
    snprintf(rest, sizeof rest, "%s", strcmp(err->where, path) ? err->msg : p2v_err_text(err));
    p2v_errf_at(err, 0, where, "%s", rest);
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
