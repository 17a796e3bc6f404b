#include "util/iowalk.h"

#include <errno.h>

int io_walk(uint64_t off, size_t len, io_piece_fn piece, void *ctx, p2v_err *err)
{
    size_t at = 0;
    while (at < len) {
        int64_t n = piece(ctx, off + at, at, len - at, err);
        if (n < 0)
            return (int)n;
        if (n == 0 || (uint64_t)n > len - at)
            return p2v_errf(err, -EIO,
                            "internal error: %lld bytes done of a piece of %zu at offset %llu",
                            (long long)n, len - at, (unsigned long long)(off + at));
        at += (size_t)n;
    }
    return 0;
}
