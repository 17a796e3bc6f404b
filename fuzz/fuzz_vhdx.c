/* libFuzzer harness for the VHDX reader (src/vdisk/vhdx.c): the input is a
 * sparse file (fuzz/sparse_input.h); a differencing disk's parent is the
 * same bytes again, as another file: one level, then a loop. Open, read at spread offsets, walk the block status. */
#include <stdint.h>
#include <stdlib.h>

#include "sparse_input.h"
#include "vdisk/vdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int open_same(void *opaque, const char *path, blockdev **out, p2v_err *err)
{
    /* every file named is "file 2": one parent level reads, the next is a loop */
    *out = sparse_open(opaque, path, 2);
    return *out ? 0 : p2v_errf(err, -12, "out of memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sparse_input in = { data, size };
    struct vdisk_opts o = { open_same, &in };
    blockdev *file = sparse_open(&in, "dir/fuzz.vhdx", 1), *bd;
    p2v_err err;
    if (!file)
        return 0;
    (void)vhdx_probe(data, size);
    if (vhdx_open_opts(file, &o, &bd, &err) < 0)
        return 0;
    uint64_t vsize = bd_size(bd);
    uint8_t buf[8192];
    for (uint64_t i = 0; i < 8 && vsize >= sizeof buf; i++)
        (void)bd_pread(bd, buf, sizeof buf, (vsize - sizeof buf) / 7 * i, &err);
    uint64_t off = 0;
    for (unsigned n = 0; n < 256 && off < vsize; n++) {
        vdisk_extent e;
        if (vdisk_status(bd, off, vsize - off, &e, &err) < 0)
            break; /* a sector bitmap that cannot be read */
        if (e.len == 0 || e.len > vsize - off)
            abort();
        off += e.len;
    }
    bd_close(bd);
    return 0;
}
