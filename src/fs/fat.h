/* FAT12/16/32 boot sector geometry (Microsoft's FAT specification). */
#ifndef P2V_FS_FAT_H
#define P2V_FS_FAT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fat_geom {
    int bits;                 /* 12, 16 or 32 */
    uint32_t bytes_per_sector;
    uint32_t sectors_per_cluster;
    uint32_t reserved_sectors;
    uint32_t num_fats;
    uint32_t root_entries;    /* FAT12/16 */
    uint64_t total_sectors;
    uint64_t fat_sectors;     /* per FAT copy */
    uint64_t root_dir_sectors;
    uint64_t first_data_sector;
    uint64_t cluster_count;   /* data clusters, numbered 2 .. cluster_count + 1 */
    uint32_t root_cluster;    /* FAT32 */
    uint32_t fsinfo_sector;   /* FAT32, 0 when absent */
    uint32_t backup_boot_sector; /* FAT32, 0 when absent */
    uint32_t active_fat;      /* FAT32 with mirroring disabled: the one in use */
} fat_geom;

/* Parse and validate a boot sector (at least 512 bytes). 0, or -EINVAL with
 * the reason in why. */
int fat_parse_boot(const uint8_t *bs, size_t len, fat_geom *g, char *why, size_t whylen);

/* Entry n of a FAT held in buf (len bytes); n must be inside it. */
uint32_t fat_entry(const fat_geom *g, const uint8_t *buf, size_t len, uint64_t n);

#endif
