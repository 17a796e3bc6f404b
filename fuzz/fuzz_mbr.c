/* libFuzzer harness for partition-table reading (MBR and EBR chains first:
 * the input is the whole disk). A table that reads back is also written
 * again with ptable_serialize, which must refuse or succeed, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "ptable/ptable.h"

static int discard_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    (void)ctx, (void)off, (void)buf, (void)len, (void)err;
    return 0;
}

static void read_one(const uint8_t *data, size_t size, uint32_t sector_size)
{
    blockdev *bd;
    ptable *t;
    p2v_err err;
    if (bd_open_mem(data, size, sector_size, "fuzz.img", &bd, &err) < 0)
        return;
    if (ptable_read(bd, &t, &err) == 0) {
        for (size_t i = 0; i < t->nparts; i++) /* every part must be findable */
            if (ptable_find(t, t->parts[i].number) == NULL)
                abort();
        ptable_serialize(t, discard_write, NULL, &err);
        ptable_free(t);
    }
    bd_close(bd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_one(data, size, 0);   /* image-file default: 512, 4096 detected */
    read_one(data, size, 512); /* a 512-byte device */
    return 0;
}
