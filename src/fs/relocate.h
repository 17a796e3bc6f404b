/* Relocation fixups: a filesystem that records its own position on disk gets
 * the new position. NTFS and FAT12/16/32 keep the partition's start LBA in the
 * boot sector ("hidden sectors", offset 0x1C); it is patched in the primary and
 * the backup boot sector, nothing else of the filesystem changes. */
#ifndef P2V_FS_RELOCATE_H
#define P2V_FS_RELOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

enum reloc_fs { RELOC_FS_NONE = 0, RELOC_FS_NTFS, RELOC_FS_FAT12, RELOC_FS_FAT16, RELOC_FS_FAT32 };

/* What a boot sector says about itself. */
typedef struct reloc_info {
    enum reloc_fs fs;
    uint32_t bytes_per_sector;
    uint32_t hidden_sectors;
    uint64_t volume_sectors;  /* NTFS number_of_sectors; FAT total sectors */
    uint64_t backup_sector;   /* NTFS: volume_sectors; FAT32: BPB backup sector; 0: none */
} reloc_info;

/* One sector of the target, relative to the partition start, replacing what
 * the copy would otherwise write there. */
typedef struct reloc_patch {
    uint64_t offset;          /* bytes from the partition start */
    uint32_t len;             /* bytes (one sector) */
    uint8_t *data;
} reloc_patch;

typedef struct reloc_patches {
    reloc_patch *v;
    size_t count;
    enum reloc_fs fs;
    uint32_t old_hidden;      /* what the source's primary boot sector said */
    uint64_t new_hidden;
    bool hidden_too_big;      /* new position beyond 32 bits: left unpatched */
    bool backup_bad;          /* the backup boot sector was not a boot sector: left as it was */
} reloc_patches;

/* Recognise an NTFS or FAT boot sector (len >= 512). RELOC_FS_NONE otherwise. */
void reloc_probe(const uint8_t *sector, size_t len, reloc_info *out);
const char *reloc_fs_name(enum reloc_fs fs);

/* Write the new hidden-sectors value (u32 LE at 0x1C) into a boot sector. */
void reloc_set_hidden(uint8_t *sector, uint32_t hidden);

/* Build the patches for the partition at byte part_offset (part_bytes long) of
 * bd, which lands at sector new_start (new_bytes long) of a disk with
 * sector_size-byte sectors. No patches when the filesystem records no position.
 * Hidden sectors count the filesystem's own sectors before the volume. Read
 * errors name the partition (what). */
int reloc_build(blockdev *bd, uint64_t part_offset, uint64_t part_bytes, uint64_t new_start,
                uint64_t new_bytes, uint32_t sector_size, const char *what, reloc_patches *out,
                p2v_err *err);
void reloc_patches_free(reloc_patches *p);

#endif
