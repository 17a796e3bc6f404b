/* libFuzzer harness for p2v's FAT parser: the input is the whole volume. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fat.h"
#include "fs/driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fat_geom g;
    char why[200];
    blockdev *bd = NULL;
    p2v_err err;
    fsmap m;

    (void)fat_parse_boot(data, size, &g, why, sizeof why);
    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
        return 0;
    fsmap_src s = { .bd = bd, .off = 0, .len = size };
    memset(&m, 0, sizeof m);
    if (fs_driver_fat.map(&s, &(fsmap_opts){ .allow_dirty = false }, &m, &err) == 0 && !m.full) {
        extent_list_normalize(&m.used);
        /* A map never leaves the volume. */
        for (size_t i = 0; i < m.used.count; i++)
            if (m.used.v[i].start + m.used.v[i].len > size)
                abort();
    }
    fsmap_free(&m);
    bd_close(bd);
    return 0;
}
