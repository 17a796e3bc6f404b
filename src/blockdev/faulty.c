/* A blockdev that fails chosen byte ranges of another one, as a disk with bad
 * sectors does: any read touching them fails with EIO. For tests of the
 * bad-sector handling; nothing in the program opens one. */
#include "blockdev/blockdev_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct faulty_priv {
    blockdev *inner;
    extent_list bad; /* normalized */
    uint64_t reads;  /* pread calls seen */
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

static int faulty_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct faulty_priv *fp = bd->priv;
    fp->reads++;
    uint64_t b = first_bad(&fp->bad, off, len);
    if (b != UINT64_MAX)
        return p2v_errf(err, -EIO, "%s: read error at offset %llu (sector %llu): %s", bd->path,
                        (unsigned long long)b, (unsigned long long)(b / bd->sector_size),
                        strerror(EIO));
    return bd_pread(fp->inner, buf, len, off, err);
}

static void faulty_close(blockdev *bd)
{
    struct faulty_priv *fp = bd->priv;
    if (fp) {
        extent_list_free(&fp->bad);
        free(fp);
    }
}

static const struct bd_ops faulty_ops = {
    .format = "raw",
    .pread = faulty_pread,
    .close = faulty_close,
};

int bd_open_faulty(blockdev *inner, const extent_list *bad, blockdev **out, p2v_err *err)
{
    struct faulty_priv *fp = calloc(1, sizeof *fp);
    blockdev *bd = bd_alloc(&faulty_ops, bd_path(inner));
    if (!fp || !bd)
        goto nomem;
    fp->inner = inner;
    for (size_t i = 0; i < bad->count; i++)
        if (extent_list_add(&fp->bad, bad->v[i].start, bad->v[i].len) < 0)
            goto nomem;
    extent_list_normalize(&fp->bad);
    bd->priv = fp;
    bd->size = bd_size(inner);
    bd->sector_size = bd_sector_size(inner);
    bd->sector_size_set = !bd_sector_size_is_default(inner);
    *out = bd;
    return 0;
nomem:
    if (fp)
        extent_list_free(&fp->bad);
    free(fp);
    if (bd)
        bd->priv = NULL;
    bd_close(bd);
    return p2v_errf(err, -ENOMEM, "out of memory");
}

uint64_t bd_faulty_reads(const blockdev *bd)
{
    return bd->ops == &faulty_ops ? ((const struct faulty_priv *)bd->priv)->reads : 0;
}
