/* libFuzzer harness: the boot-sector (BPB) reader on arbitrary sectors. A
 * FAT result must have a consistent geometry; the FAT parser and the
 * relocation probe, both built on it, must agree on the FAT type. */
#include <stdint.h>
#include <stdlib.h>

#include "fs/bpb.h"
#include "fs/fat.h"
#include "fs/relocate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bpb b;
    bpb_read(data, size, &b);
    if (b.kind == BPB_FAT) {
        if (b.fat_bits && (b.first_data_sector >= b.total_sectors ||
                           b.fat_bits != bpb_fat_bits_for(b.cluster_count)))
            abort();
        fat_geom g;
        char why[200];
        reloc_info ri;
        reloc_probe(data, size, &ri);
        if (fat_parse_boot(data, size, &g, why, sizeof why) == 0 && ri.fs != RELOC_FS_NONE &&
            ri.fs != (g.bits == 12 ? RELOC_FS_FAT12 : g.bits == 16 ? RELOC_FS_FAT16 : RELOC_FS_FAT32))
            abort(); /* two readers, two types */
    }
    return 0;
}
