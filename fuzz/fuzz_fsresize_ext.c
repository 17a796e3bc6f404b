/* libFuzzer harness: the ext2/3/4 grow on arbitrary partition contents (the
 * first 8 bytes choose the new size, up to four times the input): the
 * superblock, descriptors, bitmaps and resize inode that libext2fs reads
 * through p2v's overlay I/O, and the grow written into the overlay. Nothing
 * may crash or read outside the blockdevs; a grow that succeeds leaves a
 * superblock whose block count fits the new size. */
#include <stdint.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "blockdev/window.h"
#include "fs/resize.h"
#include "resize_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 + 2048)
        return 0;
    uint64_t new_bytes = resize_input_split(&data, &size);
    if (new_bytes <= size)
        new_bytes = size + (size & ~(size_t)511);
    blockdev *bd = NULL, *win = NULL, *ov = NULL;
    p2v_err err;
    fsresize_ext_result res;
    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) == 0 &&
        bd_window_open(bd, 0, size, new_bytes, &win, &err) == 0 &&
        bd_overlay_open(win, 0, 0, NULL, &ov, &err) == 0 &&
        fsresize_ext_grow(ov, new_bytes, size, "fuzz:1", &res, &err) == 0 &&
        res.blocks * res.block_size > new_bytes)
        __builtin_trap();
    bd_close(ov);
    bd_close(win);
    bd_close(bd);
    return 0;
}
