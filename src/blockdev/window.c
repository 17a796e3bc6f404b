/* A window of a blockdev, zero-extended to a chosen size. */
#include "blockdev/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev_impl.h"

struct window {
    blockdev *base;
    uint64_t off;
    uint64_t data;      /* bytes of the window that come from base */
};

static int win_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct window *w = bd->priv;
    size_t from_base = off >= w->data ? 0 : (size_t)(w->data - off < len ? w->data - off : len);
    if (from_base) {
        int r = bd_pread(w->base, buf, from_base, w->off + off, err);
        if (r < 0)
            return r;
    }
    memset((uint8_t *)buf + from_base, 0, len - from_base);
    return 0;
}

static bool win_origin(const blockdev *bd, uint64_t off, const blockdev **base,
                       uint64_t *base_off)
{
    const struct window *w = bd->priv;
    *base = w->base;
    *base_off = w->off + off;
    return off < w->data;
}

static const struct bd_ops window_ops = {
    .format = "raw",
    .pread = win_pread,
    .origin = win_origin,
};

int bd_window_open(blockdev *base, uint64_t off, uint64_t len, uint64_t size, blockdev **out,
                   p2v_err *err)
{
    uint64_t data = len < size ? len : size, end;
    if (size == 0 || __builtin_add_overflow(off, data, &end) || end > bd_size(base))
        return p2v_errf(err, -EINVAL,
                        "%s: window of %llu bytes at offset %llu is outside the device (%llu "
                        "bytes)", bd_path(base), (unsigned long long)data,
                        (unsigned long long)off, (unsigned long long)bd_size(base));
    blockdev *bd;
    int r = bd_view_new_at(&window_ops, base, off, size, sizeof(struct window), BD_VIEW_BACKING,
                           &bd, err);
    if (r < 0)
        return r;
    *(struct window *)bd->priv = (struct window){ .base = base, .off = off, .data = data };
    *out = bd;
    return 0;
}
