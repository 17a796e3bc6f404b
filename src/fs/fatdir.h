/* The FAT directory entry (Microsoft's FAT specification, "FAT Directory
 * Structure" and "FAT Long Directory Entries"): 32 bytes, field offsets and
 * attribute bits, shared by the FAT map's file names (fat.c), the file
 * reader and writer (fatfile.c) and the tree builder (fatbuild.c). */
#ifndef P2V_FS_FATDIR_H
#define P2V_FS_FATDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "util/endian.h"

#define FAT_DIRENT 32 /* bytes per entry */

/* Short (8.3) entry. */
enum {
    FAT_DIR_NAME = 0,         /* 11 bytes: 8 base, 3 extension, space padded */
    FAT_DIR_EXT = 8,
    FAT_DIR_ATTR = 11,        /* u8: FAT_ATTR_* */
    FAT_DIR_NTRES = 12,       /* u8: Windows NT's lower-case bits */
    FAT_DIR_CRT_TIME = 14,    /* u16 */
    FAT_DIR_CRT_DATE = 16,    /* u16 */
    FAT_DIR_ACC_DATE = 18,    /* u16 */
    FAT_DIR_CLUSTER_HI = 20,  /* u16: high half of the first cluster (FAT32) */
    FAT_DIR_WRT_TIME = 22,    /* u16 */
    FAT_DIR_WRT_DATE = 24,    /* u16 */
    FAT_DIR_CLUSTER_LO = 26,  /* u16 */
    FAT_DIR_SIZE = 28,        /* u32: file size in bytes */
};

/* Long-name entry (attr FAT_ATTR_LFN): 13 UTF-16 units in three pieces. */
enum {
    FAT_LFN_ORD = 0,          /* u8: sequence number (from 1) | FAT_LFN_LAST */
    FAT_LFN_CHECKSUM = 13,    /* u8: of the short name */
};
#define FAT_LFN_UNITS 13      /* name units per entry */
#define FAT_LFN_LAST 0x40     /* in FAT_LFN_ORD: the last (first stored) entry */
#define FAT_LFN_SEQ_MASK 0x1F

/* First byte of FAT_DIR_NAME. */
#define FAT_DIR_END 0x00      /* this and every later entry are free */
#define FAT_DIR_FREE 0xE5     /* deleted */
#define FAT_DIR_KANJI_E5 0x05 /* a name that really starts with 0xE5 */

/* Attributes. */
#define FAT_ATTR_VOLUME 0x08
#define FAT_ATTR_DIR 0x10
#define FAT_ATTR_ARCHIVE 0x20
#define FAT_ATTR_LFN 0x0F     /* read-only | hidden | system | volume */
#define FAT_ATTR_LFN_MASK 0x3F

/* FAT_DIR_NTRES bits: base and extension stored in upper case, shown lower. */
#define FAT_NTRES_LOWER_BASE 0x08
#define FAT_NTRES_LOWER_EXT 0x10

/* Byte offset of name unit i (0..12) in a long-name entry: units 0-4 at
 * 1, 5-10 at 14, 11-12 at 28. */
static inline unsigned fat_lfn_unit_at(unsigned i)
{
    return i < 5 ? 1 + 2 * i : i < 11 ? 14 + 2 * (i - 5) : 28 + 2 * (i - 11);
}

static inline bool fat_dirent_is_lfn(const uint8_t *e)
{
    return (e[FAT_DIR_ATTR] & FAT_ATTR_LFN_MASK) == FAT_ATTR_LFN;
}

/* The first cluster; the high half only where it exists (FAT32). */
static inline uint32_t fat_dirent_cluster(const uint8_t *e, bool fat32)
{
    return get_le16(e + FAT_DIR_CLUSTER_LO) |
           (fat32 ? (uint32_t)get_le16(e + FAT_DIR_CLUSTER_HI) << 16 : 0);
}

static inline void fat_dirent_set_cluster(uint8_t *e, uint32_t cluster)
{
    put_le16(e + FAT_DIR_CLUSTER_HI, (uint16_t)(cluster >> 16));
    put_le16(e + FAT_DIR_CLUSTER_LO, (uint16_t)cluster);
}

#endif
