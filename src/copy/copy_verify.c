/* --verify: the target read back, block by block, and compared with what
 * the copy meant to write (the same fill_block as the copy). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy_impl.h"

int copy_verify(const copy_range *r, size_t n, blockdev *target, const copy_opts *o,
                uint64_t *checked, p2v_err *err)
{
    int rc = 0;
    size_t bs = o->block_size ? o->block_size : COPY_DEFAULT_BLOCK;
    uint8_t *want = malloc(bs), *got = malloc(bs);
    uint64_t done = 0, total = 0, ignored = 0;
    *checked = 0;
    if (!want || !got) {
        rc = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = copy_planned_bytes(r, n, o->granularity, &total)) < 0) {
        rc = p2v_errf(err, rc, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        extent_list l;
        if ((rc = copy_range_extents(&r[i], o->granularity, &l)) < 0) {
            rc = p2v_errf(err, rc, "out of memory");
            break;
        }
        for (size_t e = 0; e < l.count && rc == 0; e++) {
            uint64_t pos = l.v[e].start, end = l.v[e].start + l.v[e].len;
            while (pos < end && rc == 0) {
                size_t len = end - pos < bs ? (size_t)(end - pos) : bs;
                uint64_t abs = r[i].dst_offset + pos;
                if ((rc = cp_cancelled(o, err)) < 0 ||
                    (rc = cp_fill_block(&r[i], want, pos, len, &ignored, err)) < 0)
                    break;
                if ((rc = bd_pread(target, got, len, abs, err)) < 0) {
                    rc = p2v_err_prefix(err, rc, "verify");
                    break;
                }
                if (memcmp(want, got, len) != 0) {
                    size_t k = 0;
                    while (want[k] == got[k])
                        k++;
                    rc = p2v_errf(err, -EIO,
                                  "verify: %s differs from the source at target offset %llu "
                                  "(source offset %llu)",
                                  r[i].what, (unsigned long long)(abs + k),
                                  (unsigned long long)(r[i].src_offset + pos + k));
                    break;
                }
                pos += len;
                done += len;
                *checked += len;
                if (o->progress)
                    o->progress(o->progress_ctx, done, total);
            }
        }
        extent_list_free(&l);
    }
out:
    free(want);
    free(got);
    return rc;
}
