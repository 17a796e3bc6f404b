/* What the virtual-disk harnesses (fuzz_vhd.c, and fuzz_vhdx.c and
 * fuzz_vmdk.c through sparse_input.h) do with a disk that opened. */
#ifndef P2V_FUZZ_VDISK_WALK_H
#define P2V_FUZZ_VDISK_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "vdisk/vdisk.h"

/* Read bd in len-byte pieces (len at most 8192) at eight spread offsets,
 * then walk its block status from start to end: an answer must cover some
 * bytes inside the disk (abort otherwise). A status error aborts too,
 * unless errors_end (then it ends the walk). */
static inline void vdisk_fuzz_walk(blockdev *bd, size_t len, bool errors_end)
{
    p2v_err err;
    uint64_t vsize = bd_size(bd);
    uint8_t buf[8192];
    for (uint64_t i = 0; i < 8 && vsize >= len; i++)
        (void)bd_pread(bd, buf, len, (vsize - len) / 7 * i, &err);
    uint64_t off = 0;
    for (unsigned n = 0; n < 256 && off < vsize; n++) {
        vdisk_extent e;
        if (vdisk_status(bd, off, vsize - off, &e, &err) < 0) {
            if (errors_end)
                break;
            abort();
        }
        if (e.len == 0 || e.len > vsize - off)
            abort();
        off += e.len;
    }
}

#endif
