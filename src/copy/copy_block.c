/* One block of the copy: the extents a range copies (rounded to the target's
 * granules), its bytes read from the source (only what the used map names,
 * a failed read handed to salvage.c, patches laid over), and its non-zero
 * granules written to the sink. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy/copy_impl.h"
#include "copy/salvage.h"
#include "util/size.h"
#include "util/zero.h"

/* Round [start, start + len) of the range outward to granularity boundaries
 * of the target disk, clipped to [0, limit). */
static int add_rounded(extent_list *l, const copy_range *r, uint64_t start, uint64_t len,
                       uint32_t g, uint64_t limit)
{
    if (start >= limit || len == 0)
        return 0;
    if (len > limit - start)
        len = limit - start;
    uint64_t abs_start = r->dst_offset + start, abs_end = abs_start + len;
    uint64_t a = align_down_u64(abs_start, g), b = align_up_u64(abs_end, g);
    uint64_t s = a < r->dst_offset ? 0 : a - r->dst_offset;
    uint64_t e = b - r->dst_offset;
    if (e > limit)
        e = limit;
    return extent_list_add(l, s, e - s);
}

int copy_range_extents(const copy_range *r, uint32_t g, extent_list *out)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (r->used) {
        for (size_t i = 0; i < r->used->count && rc == 0; i++)
            rc = add_rounded(out, r, r->used->v[i].start, r->used->v[i].len, g, r->src_len);
    } else {
        rc = add_rounded(out, r, 0, r->src_len, g, r->src_len);
    }
    for (size_t i = 0; r->patches && i < r->patches->count && rc == 0; i++)
        rc = add_rounded(out, r, r->patches->v[i].offset, r->patches->v[i].len, g, r->dst_len);
    if (rc < 0) {
        extent_list_free(out);
        return rc;
    }
    extent_list_normalize(out);
    return 0;
}

int copy_planned_bytes(const copy_range *r, size_t n, uint32_t g, uint64_t *out)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        extent_list l;
        int rc = copy_range_extents(&r[i], g, &l);
        if (rc < 0)
            return rc;
        *out += extent_list_bytes(&l);
        extent_list_free(&l);
    }
    return 0;
}

/* Read the source bytes [rel, rel + n) of the range into buf. The one place
 * the engine reads a source: a failed read is handled here. */
static int read_source(const copy_range *r, uint8_t *buf, uint64_t rel, size_t n, uint64_t *read,
                       p2v_err *err)
{
    int rc = bd_pread(r->src, buf, n, r->src_offset + rel, err);
    if (rc == -EIO && r->salvage)
        rc = salvage_read(r->salvage, r, buf, n, rel, err);
    if (rc < 0)
        return p2v_err_prefix(err, rc, "%s", r->what);
    *read += n;
    return 0;
}

/* Source bytes [rel, rel + n) into buf where the used map names them, zeros
 * elsewhere: only used bytes are read (rounding extents out to the
 * granularity must neither cost reads nor carry free space, the leftovers of
 * deleted files, into the image). */
static int read_used(const copy_range *r, uint8_t *buf, uint64_t rel, size_t n, uint64_t *read,
                     p2v_err *err)
{
    const extent_list *u = r->used;
    uint64_t pos = rel, end = rel + n;
    for (size_t i = extent_list_first_after(u, rel); i < u->count && pos < end; i++) {
        uint64_t s = u->v[i].start, e = s + u->v[i].len;
        if (s >= end)
            break;
        if (s > pos)
            memset(buf + (pos - rel), 0, (size_t)(s - pos));
        else
            s = pos;
        if (e > end)
            e = end;
        int rc = read_source(r, buf + (s - rel), s, (size_t)(e - s), read, err);
        if (rc < 0)
            return rc;
        pos = e;
    }
    if (pos < end)
        memset(buf + (pos - rel), 0, (size_t)(end - pos));
    return 0;
}

/* The target's bytes [rel, rel + len) of the range: source data (zeros past
 * src_len, and where a used map does not name it) with the patches laid over it. */
int cp_fill_block(const copy_range *r, uint8_t *buf, uint64_t rel, size_t len, uint64_t *read,
                      p2v_err *err)
{
    size_t from_src = 0;
    if (rel < r->src_len)
        from_src = r->src_len - rel < len ? (size_t)(r->src_len - rel) : len;
    if (from_src) {
        int rc = r->used ? read_used(r, buf, rel, from_src, read, err)
                         : read_source(r, buf, rel, from_src, read, err);
        if (rc < 0)
            return rc;
    }
    memset(buf + from_src, 0, len - from_src);
    for (size_t i = 0; r->patches && i < r->patches->count; i++) {
        const reloc_patch *p = &r->patches->v[i];
        uint64_t ps = p->offset, pe = p->offset + p->len;
        uint64_t s = ps > rel ? ps : rel, e = pe < rel + len ? pe : rel + len;
        if (s < e)
            memcpy(buf + (s - rel), p->data + (s - ps), (size_t)(e - s));
    }
    return 0;
}

/* Write the non-zero granules of buf (target offset abs) as runs. */
int cp_write_nonzero(const copy_opts *o, const uint8_t *buf, size_t len, uint64_t abs,
                         uint64_t *written, p2v_err *err)
{
    size_t pos = 0, run = 0;
    bool in_run = false;
    while (pos < len) {
        /* Granule boundaries are on the target disk, not on the buffer. */
        size_t glen = (size_t)(align_down_u64(abs + pos, o->granularity) + o->granularity -
                               (abs + pos));
        if (glen > len - pos)
            glen = len - pos;
        bool zero = buf_is_zero(buf + pos, glen);
        if (!zero && !in_run) {
            run = pos;
            in_run = true;
        } else if (zero && in_run) {
            int rc = o->write(o->write_ctx, abs + run, buf + run, pos - run, err);
            if (rc < 0)
                return rc;
            *written += pos - run;
            in_run = false;
        }
        pos += glen;
    }
    if (in_run) {
        int rc = o->write(o->write_ctx, abs + run, buf + run, len - run, err);
        if (rc < 0)
            return rc;
        *written += len - run;
    }
    return 0;
}

int cp_cancelled(const copy_opts *o, p2v_err *err)
{
    if (o->cancel && *o->cancel)
        return p2v_errf(err, -EINTR, "interrupted by a signal");
    return 0;
}

uint64_t cp_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
