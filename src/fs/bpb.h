/* The boot sector of FAT12/16/32 and NTFS volumes: the BIOS Parameter Block
 * (Microsoft's FAT specification; NTFS keeps the same first fields), read
 * in one place, field by field at named offsets. The FAT map, the NTFS
 * checks and the hidden-sectors fixup all read it here, and the FAT type is
 * decided by one rule: the cluster count, as Microsoft's specification says. */
#ifndef P2V_FS_BPB_H
#define P2V_FS_BPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field offsets (bytes into the boot sector). */
enum {
    BPB_JUMP = 0x00,               /* EB xx 90 or E9 xx xx */
    BPB_OEM_NAME = 0x03,           /* 8 bytes: "NTFS    ", "EXFAT   ", "mkfs.fat"... */
    BPB_BYTES_PER_SECTOR = 0x0B,   /* u16 */
    BPB_SECTORS_PER_CLUSTER = 0x0D, /* u8 */
    BPB_RESERVED_SECTORS = 0x0E,   /* u16 */
    BPB_NUM_FATS = 0x10,           /* u8 */
    BPB_ROOT_ENTRIES = 0x11,       /* u16, FAT12/16 */
    BPB_TOTAL_SECTORS_16 = 0x13,   /* u16 */
    BPB_MEDIA = 0x15,              /* u8 */
    BPB_FAT_SIZE_16 = 0x16,        /* u16, 0 on FAT32 */
    BPB_SECTORS_PER_TRACK = 0x18,  /* u16 */
    BPB_HEADS = 0x1A,              /* u16 */
    BPB_HIDDEN_SECTORS = 0x1C,     /* u32: sectors before the volume on its disk */
    BPB_TOTAL_SECTORS_32 = 0x20,   /* u32 */
    BPB_FAT32_FAT_SIZE = 0x24,     /* u32 */
    BPB_FAT32_EXT_FLAGS = 0x28,    /* u16: bit 7 mirroring off, bits 0-3 active FAT */
    BPB_FAT32_ROOT_CLUSTER = 0x2C, /* u32 */
    BPB_FAT32_FSINFO = 0x30,       /* u16 */
    BPB_FAT32_BACKUP_BOOT = 0x32,  /* u16 */
    BPB_FAT32_VERSION = 0x2A,      /* u16, 0.0 */
    BPB_FAT16_FS_TYPE = 0x36,      /* 8 bytes: "FAT12   ", "FAT16   " (informative) */
    BPB_FAT32_DRIVE = 0x40,        /* u8: 0x80 */
    BPB_FAT32_BOOT_SIG = 0x42,     /* u8: 0x29 when volume id, label and type follow */
    BPB_FAT32_VOLUME_ID = 0x43,    /* u32 */
    BPB_FAT32_LABEL = 0x47,        /* 11 bytes */
    BPB_FAT32_FS_TYPE = 0x52,      /* 8 bytes: "FAT32   " (informative) */
    BPB_FAT32_CODE = 0x5A,         /* boot code after the FAT32 BPB */
    BPB_EXFAT_SECTOR_SHIFT = 0x6C, /* u8: log2 of exFAT's bytes per sector */
    BPB_NTFS_TOTAL_SECTORS = 0x28, /* u64: volume sectors (the backup boot sector follows) */
    BPB_NTFS_MFT_LCN = 0x30,       /* u64 */
    BPB_NTFS_MFTMIRR_LCN = 0x38,   /* u64 */
    BPB_SIGNATURE = 0x1FE,         /* 55 AA */
};
#define BPB_SECTOR 512 /* bytes bpb_read needs */

/* OEM names (8 bytes at BPB_OEM_NAME) that name a filesystem. */
#define BPB_OEM_NTFS "NTFS    "
#define BPB_OEM_EXFAT "EXFAT   "
#define BPB_OEM_BITLOCKER "-FVE-FS-"

enum bpb_kind { BPB_NONE = 0, BPB_NTFS, BPB_FAT };

typedef struct bpb {
    enum bpb_kind kind;
    uint32_t bytes_per_sector;
    uint32_t sectors_per_cluster;
    uint32_t reserved_sectors;
    uint32_t num_fats;
    uint32_t root_entries;
    uint32_t total_sectors_16, total_sectors_32;
    uint32_t fat_size_16, fat_size_32;
    uint32_t hidden_sectors;
    uint32_t media, sectors_per_track, heads;
    uint64_t total_sectors;        /* FAT: the 16-bit count, else the 32-bit one; NTFS: 64-bit */
    uint64_t fat_sectors;          /* per FAT copy: the 16-bit size, else the 32-bit one */
    bool fat32_layout;             /* 16-bit FAT size 0: the FAT32 fields are present */
    uint32_t ext_flags, root_cluster, fsinfo_sector, backup_boot_sector; /* FAT32 layout */
    uint64_t mft_lcn, mftmirr_lcn; /* NTFS */
    /* FAT geometry, when kind == BPB_FAT and the sizes leave data clusters: */
    uint64_t root_dir_sectors, first_data_sector, cluster_count;
    int fat_bits;                  /* 12, 16, 32 by cluster count; 0 when no data clusters */
} bpb;

/* Read the BPB of a boot sector (len >= BPB_SECTOR, else kind BPB_NONE).
 * kind: NTFS for the "NTFS    " OEM name with 0x55AA, a sector size 256..4096
 * (power of two) and a cluster size; FAT for a jump instruction, sector size
 * 512..4096 and cluster size 1..128 (powers of two), reserved sectors, 1 to 4
 * FATs, a sector count and a FAT size; exFAT and anything else: NONE. Only
 * these sanity checks: what a consumer needs more, it checks itself. */
void bpb_read(const uint8_t *sector, size_t len, bpb *out);

/* Raw looks at a boot sector for the probes that decide whose it is,
 * before any validation (s holds at least BPB_SECTOR bytes; bpb_oem_is
 * reads only the first 11). */
bool bpb_oem_is(const uint8_t *s, const char oem[8]);     /* OEM name, all 8 bytes */
bool bpb_has_signature(const uint8_t *s);                 /* 55 AA at BPB_SIGNATURE */
/* A jump instruction: EB or E9; strict: EB xx 90 or E9 (the FAT
 * specification's two forms). */
bool bpb_has_jump(const uint8_t *s, bool strict);
/* The informative FAT type string: "FAT" at BPB_FAT16_FS_TYPE or
 * "FAT32   " at BPB_FAT32_FS_TYPE (fat32 only the latter). */
bool bpb_has_fat_type(const uint8_t *s, bool fat32);
/* exFAT's sector size (from its shift), 0 when the shift is absurd. */
uint32_t bpb_exfat_sector_size(const uint8_t *s);

/* Write b's fields into a zeroed boot sector of b->bytes_per_sector bytes:
 * the jump (EB xx 90 to the code after the BPB), oem, the common BPB, the
 * FAT32 extension when b->fat32_layout (FAT size, flags, root cluster,
 * FSInfo, backup), and 55 AA. */
void bpb_write(uint8_t *s, const bpb *b, const char oem[8]);
/* FAT32's extended boot record: drive 0x80, signature 0x29, volume id,
 * 11-byte label and "FAT32   ". */
void bpb_write_fat32_ebr(uint8_t *s, uint32_t volume_id, const char label[11]);

/* NTFS's volume size and the places of $MFT and $MFTMirr. */
void bpb_write_ntfs(uint8_t *s, uint64_t total_sectors, uint64_t mft_lcn, uint64_t mftmirr_lcn);

/* Microsoft's rule: fewer than 4085 clusters FAT12, fewer than 65525 FAT16,
 * else FAT32. */
int bpb_fat_bits_for(uint64_t cluster_count);

#endif
