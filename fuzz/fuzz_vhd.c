/* libFuzzer harness for the VHD reader (src/vdisk/vhd.c): the input is a
 * whole VHD file; a differencing disk's parent, whatever its name, is the
 * same bytes again, so parent chains run to the depth limit. Open, read
 * guest data at spread offsets, ask block status along the disk. */
#include <stdint.h>

#include "vdisk/vdisk.h"
#include "vdisk_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *data;
    size_t size;
};

static int open_same(void *opaque, const char *path, blockdev **out, p2v_err *err)
{
    const struct input *in = opaque;
    return bd_open_mem(in->data, in->size, 512, path, out, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    struct vdisk_opts o = { open_same, &in };
    blockdev *file, *bd;
    p2v_err err;
    (void)vhd_probe(data, size); /* a fixed VHD (a parent) has no mark at byte 0 */
    if (bd_open_mem(data, size, 512, "dir/fuzz.vhd", &file, &err) < 0)
        return 0;
    if (vhd_open_opts(file, &o, &bd, &err) < 0)
        return 0;
    uint64_t vsize = bd_size(bd);
    uint8_t buf[1000];
    if (vsize >= sizeof buf)
        (void)bd_pread(bd, buf, sizeof buf, vsize / 3 + 7, &err); /* unaligned */
    /* a status in bounds always answers for some bytes: no error */
    vdisk_fuzz_walk(bd, 4096, false);
    bd_close(bd);
    return 0;
}
