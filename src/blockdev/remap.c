/* A blockdev view with some ranges read from other places of its base. */
#include "blockdev/remap.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev_impl.h"
#include "util/extent.h"

struct remap {
    blockdev *base;
    bd_move *moves;     /* sorted by dst, not overlapping */
    size_t n;
};

/* The first move that ends after off. */
static size_t first_move(const struct remap *m, uint64_t off)
{
    return ranges_first_after(m->moves, m->n, sizeof *m->moves, offsetof(bd_move, dst),
                              offsetof(bd_move, len), off);
}

static int remap_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct remap *m = bd->priv;
    uint8_t *p = buf;
    size_t i = first_move(m, off);
    while (len > 0) {
        const bd_move *mv = i < m->n ? &m->moves[i] : NULL;
        uint64_t n = len, from = off;
        if (mv && mv->dst <= off) {         /* inside a move */
            n = mv->dst + mv->len - off;
            from = mv->src + (off - mv->dst);
            i++;
        } else if (mv && mv->dst - off < n) { /* up to the next move */
            n = mv->dst - off;
        }
        if (n > len)
            n = len;
        int r = bd_pread(m->base, p, (size_t)n, from, err);
        if (r < 0)
            return r;
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

static void remap_close(blockdev *bd)
{
    struct remap *m = bd->priv;
    free(m->moves);
}

static bool remap_origin(const blockdev *bd, uint64_t off, const blockdev **base,
                         uint64_t *base_off)
{
    const struct remap *m = bd->priv;
    size_t i = first_move(m, off);
    *base = m->base;
    *base_off = i < m->n && m->moves[i].dst <= off ? m->moves[i].src + (off - m->moves[i].dst)
                                                   : off;
    return true;
}

static const struct bd_ops remap_ops = {
    .format = "raw",
    .pread = remap_pread,
    .close = remap_close,
    .origin = remap_origin,
};

static int cmp_move(const void *a, const void *b)
{
    const bd_move *x = a, *y = b;
    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

static int check_moves(const blockdev *base, uint64_t size, const bd_move *v, size_t n,
                       p2v_err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t de, se;
        if (v[i].len == 0 || __builtin_add_overflow(v[i].dst, v[i].len, &de) || de > size ||
            __builtin_add_overflow(v[i].src, v[i].len, &se) || se > bd_size(base) ||
            (i && v[i - 1].dst + v[i - 1].len > v[i].dst))
            return p2v_errf(err, -EINVAL, "%s: move %zu (%llu bytes from %llu to %llu) is "
                            "outside the view or overlaps another", bd_path(base), i,
                            (unsigned long long)v[i].len, (unsigned long long)v[i].src,
                            (unsigned long long)v[i].dst);
    }
    return 0;
}

int bd_remap_open(blockdev *base, uint64_t size, const bd_move *moves, size_t nmoves,
                  blockdev **out, p2v_err *err)
{
    if (size == 0 || size > bd_size(base))
        return p2v_errf(err, -EINVAL, "%s: a view of %llu bytes does not fit the device (%llu "
                        "bytes)", bd_path(base), (unsigned long long)size,
                        (unsigned long long)bd_size(base));
    blockdev *bd;
    int r = bd_view_new(&remap_ops, base, NULL, size, sizeof(struct remap), BD_VIEW_BACKING,
                        &bd, err);
    if (r < 0)
        return r;
    struct remap *m = bd->priv;
    if (nmoves && !(m->moves = malloc(nmoves * sizeof *moves))) {
        bd_close(bd);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    m->base = base;
    m->n = nmoves;
    if (nmoves)
        memcpy(m->moves, moves, nmoves * sizeof *moves);
    if (m->n)
        qsort(m->moves, m->n, sizeof *m->moves, cmp_move);
    r = check_moves(base, size, m->moves, m->n, err);
    if (r < 0) {
        bd_close(bd);
        return r;
    }
    *out = bd;
    return 0;
}
