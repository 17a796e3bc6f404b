/* libFuzzer harness: boot-sector recognition and the hidden-sectors fixups on
 * arbitrary partition contents (the first 8 bytes choose the new position and
 * size). */
#include <stdint.h>
#include <string.h>

#include "fs/relocate.h"
#include "util/endian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint32_t new_start = get_le32(data);
    uint32_t extra = get_le32(data + 4) & 0xFFFFF;
    data += 8;
    size -= 8;
    reloc_info info;
    reloc_probe(data, size, &info);
    blockdev *bd = NULL;
    p2v_err err;
    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
        return 0;
    reloc_patches rp;
    if (reloc_build(bd, 0, size, new_start, (uint64_t)size + extra * 512ULL, 512, "fuzz:1", &rp,
                    &err) == 0) {
        for (size_t i = 0; i < rp.count; i++)
            if (rp.v[i].offset + rp.v[i].len > (uint64_t)size + extra * 512ULL)
                __builtin_trap(); /* a patch outside the target partition */
        reloc_patches_free(&rp);
    }
    bd_close(bd);
    return 0;
}
