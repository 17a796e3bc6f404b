/* libFuzzer harness for GPT reading. The input becomes LBA 1 onwards of a
 * disk whose LBA 0 is a protective MBR. Before reading, the CRCs of the
 * primary header (LBA 1) and of the backup (last LBA) are made right, so the
 * fuzzer gets past them into the field checks and the entry parser; byte 92
 * of each header (reserved space) chooses which CRCs get fixed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "blockdev/blockdev.h"
#include "ptable/ptable.h"
#include "util/endian.h"

#define SS 512

static void fix_crcs(uint8_t *disk, size_t len, uint64_t lba)
{
    uint8_t *h = disk + lba * SS;
    if (lba * SS + SS > len || memcmp(h, "EFI PART", 8) != 0)
        return;
    uint8_t mode = h[92];
    uint64_t entries_lba = get_le64(h + 72);
    uint64_t bytes = (uint64_t)get_le32(h + 80) * get_le32(h + 84);
    if ((mode & 1) == 0 && entries_lba < len / SS && bytes <= len - entries_lba * SS)
        put_le32(h + 88, (uint32_t)crc32(0, disk + entries_lba * SS, (uInt)bytes));
    uint32_t hsize = get_le32(h + 12);
    if ((mode & 2) == 0 && hsize >= 92 && hsize <= SS) {
        put_le32(h + 16, 0);
        put_le32(h + 16, (uint32_t)crc32(0, h, hsize));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    size_t len = (SS + size + SS - 1) / SS * SS;
    uint8_t *disk = calloc(1, len);
    if (!disk)
        return 0;
    memcpy(disk + SS, data, size);
    /* Protective MBR over the whole disk. */
    disk[446 + 4] = 0xee;
    put_le32(disk + 446 + 8, 1);
    put_le32(disk + 446 + 12, (uint32_t)(len / SS - 1));
    disk[510] = 0x55;
    disk[511] = 0xaa;
    fix_crcs(disk, len, 1);
    fix_crcs(disk, len, len / SS - 1);

    blockdev *bd;
    ptable *t;
    p2v_err err;
    if (bd_open_mem(disk, len, SS, "fuzz.img", &bd, &err) == 0) {
        if (ptable_read(bd, &t, &err) == 0) {
            for (size_t i = 0; i < t->nparts; i++)
                if (ptable_part_end(&t->parts[i]) < t->parts[i].start)
                    abort();
            ptable_free(t);
        }
        bd_close(bd);
    }
    free(disk);
    return 0;
}
