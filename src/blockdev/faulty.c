/* Blockdevs over another one with chosen byte ranges changed: failing with
 * EIO as a disk's bad sectors do (for tests), or reading as zeros (to look at
 * a source the way its copy will be, without touching its bad sectors). */
#include "blockdev/blockdev_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct faulty_priv {
    blockdev *inner;
    extent_list bad; /* normalized */
    uint64_t reads;  /* pread calls seen */
    bool zeros;      /* read the ranges as zeros instead of failing */
};

/* The first bad byte in [off, off + len), or UINT64_MAX. */
static uint64_t first_bad(const extent_list *bad, uint64_t off, size_t len)
{
    for (size_t i = 0; i < bad->count; i++) {
        const extent *e = &bad->v[i];
        if (e->start >= off + len)
            break;
        if (e->start + e->len > off)
            return e->start > off ? e->start : off;
    }
    return UINT64_MAX;
}

/* Read [off, off + len) of the inner device around the ranges, zeros in them. */
static int masked_pread(struct faulty_priv *fp, uint8_t *buf, size_t len, uint64_t off,
                        p2v_err *err)
{
    uint64_t end = off + len, pos = off;
    for (size_t i = 0; i < fp->bad.count && pos < end; i++) {
        uint64_t s = fp->bad.v[i].start, e = s + fp->bad.v[i].len;
        if (e <= pos)
            continue;
        if (s >= end)
            break;
        if (s > pos) {
            int rc = bd_pread(fp->inner, buf + (pos - off), (size_t)(s - pos), pos, err);
            if (rc < 0)
                return rc;
            pos = s;
        }
        uint64_t z = e < end ? e : end;
        memset(buf + (pos - off), 0, (size_t)(z - pos));
        pos = z;
    }
    return pos < end ? bd_pread(fp->inner, buf + (pos - off), (size_t)(end - pos), pos, err) : 0;
}

static int faulty_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct faulty_priv *fp = bd->priv;
    fp->reads++;
    uint64_t b = first_bad(&fp->bad, off, len);
    if (b != UINT64_MAX && fp->zeros)
        return masked_pread(fp, buf, len, off, err);
    if (b != UINT64_MAX)
        return p2v_errf_at(err, -EIO, bd->path, "read error at offset %llu (sector %llu): %s",
                           (unsigned long long)b, (unsigned long long)(b / bd->sector_size),
                           strerror(EIO));
    return bd_pread(fp->inner, buf, len, off, err);
}

static void faulty_close(blockdev *bd)
{
    struct faulty_priv *fp = bd->priv;
    extent_list_free(&fp->bad);
}

static const struct bd_ops faulty_ops = {
    .format = "raw",
    .pread = faulty_pread,
    .close = faulty_close,
};

static int open_over(blockdev *inner, const extent_list *bad, bool zeros, blockdev **out,
                     p2v_err *err)
{
    blockdev *bd;
    int r = bd_view_new(&faulty_ops, inner, NULL, bd_size(inner), sizeof(struct faulty_priv), 0,
                        &bd, err);
    if (r < 0)
        return r;
    struct faulty_priv *fp = bd->priv;
    fp->inner = inner;
    fp->zeros = zeros;
    for (size_t i = 0; i < bad->count; i++)
        if (extent_list_add(&fp->bad, bad->v[i].start, bad->v[i].len) < 0) {
            bd_close(bd);
            return p2v_errf(err, -ENOMEM, "out of memory");
        }
    extent_list_normalize(&fp->bad);
    *out = bd;
    return 0;
}

uint64_t bd_faulty_reads(const blockdev *bd)
{
    return bd->ops == &faulty_ops ? ((const struct faulty_priv *)bd->priv)->reads : 0;
}

int bd_open_faulty(blockdev *inner, const extent_list *bad, blockdev **out, p2v_err *err)
{
    return open_over(inner, bad, false, out, err);
}

int bd_open_masked(blockdev *inner, const extent_list *zeros, blockdev **out, p2v_err *err)
{
    return open_over(inner, zeros, true, out, err);
}
