/* libFuzzer harness for reading a virtio-win ISO (iso.c over libarchive's
 * ISO 9660 reader, from a memory blockdev): any bytes are listed or
 * refused, never a crash or a leak; small files listed must read back with
 * the size the listing gave. */
#include <stdint.h>
#include <stdlib.h>

#include "blockdev/blockdev.h"
#include "windows/drivers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    blockdev *bd;
    drv_tree *t;
    p2v_err err;
    if (bd_open_mem(data, size, 512, "fuzz.iso", &bd, &err) < 0)
        return 0;
    if (drv_tree_open_iso(bd, &t, &err) == 0) {
        for (size_t i = 0; i < drv_tree_count(t) && i < 4; i++) {
            uint8_t *buf;
            size_t len;
            if (drv_tree_size(t, i) > (1u << 20))
                continue;
            if (drv_tree_read(t, i, &buf, &len, &err) == 0) {
                if (len != drv_tree_size(t, i))
                    abort();
                free(buf);
            }
        }
        drv_tree_close(t);
    }
    bd_close(bd);
    return 0;
}
