/* Partition tables: MBR (with EBR chains) and GPT. One partition model for
 * both; parse, validate, build and serialize; the MBR<->GPT type map. */
#ifndef P2V_PTABLE_H
#define P2V_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"
#include "util/guid.h"
#include "util/io.h"

enum ptable_type { PTABLE_NONE = 0, PTABLE_MBR, PTABLE_GPT };

#define PTABLE_GPT_NAME_MAX 36 /* UTF-16 code units in a GPT entry name */

typedef struct ptable_part {
    unsigned number;   /* Linux numbering: MBR primaries 1-4, logicals from 5; GPT entry index + 1 */
    uint64_t start;    /* first sector, in sectors of the table's sector_size */
    uint64_t size;     /* sectors */
    /* MBR */
    uint8_t mbr_type;  /* partition type byte (also set for GPT via the type map, 0 if none) */
    bool bootable;     /* MBR status 0x80 */
    bool container;    /* MBR extended partition (0x05, 0x0F, 0x85) */
    bool logical;      /* MBR logical partition */
    uint64_t ebr_lba;  /* logical: sector of the EBR that describes it */
    /* GPT */
    p2v_guid type_guid;
    p2v_guid uuid;
    uint64_t attrs;
    char name[PTABLE_GPT_NAME_MAX * 4 + 1]; /* UTF-8 */
    /* Problems found by ptable_read (PTABLE_PROBLEM_*); a part with any of
     * them is listed but must not be copied. */
    unsigned problems;
} ptable_part;

#define PTABLE_PROBLEM_PAST_END  1u /* extends past the end of the disk */
#define PTABLE_PROBLEM_OVERLAP   2u /* overlaps another partition */
#define PTABLE_PROBLEM_OUTSIDE   4u /* outside its container / the GPT usable area */
#define PTABLE_PROBLEM_ON_TABLE  8u /* covers sectors of the partition table itself */

/* GPT attribute bits (UEFI spec and Microsoft basic-data attributes). */
#define GPT_ATTR_REQUIRED     (1ULL << 0)
#define GPT_ATTR_NO_BLOCK_IO  (1ULL << 1)
#define GPT_ATTR_LEGACY_BOOT  (1ULL << 2)
#define GPT_ATTR_MS_READ_ONLY (1ULL << 60)
#define GPT_ATTR_MS_SHADOW    (1ULL << 61)
#define GPT_ATTR_MS_HIDDEN    (1ULL << 62)
#define GPT_ATTR_MS_NO_LETTER (1ULL << 63)

typedef struct ptable {
    enum ptable_type type;
    uint32_t sector_size;
    uint64_t disk_sectors;
    uint32_t mbr_signature;      /* MBR disk signature (also read from a protective MBR) */
    p2v_guid disk_guid;          /* GPT */
    uint64_t first_usable_lba;   /* GPT */
    uint64_t last_usable_lba;    /* GPT */
    uint32_t gpt_entries;        /* GPT: number of entries in the array */
    bool hybrid_mbr;             /* GPT disk whose MBR also describes partitions */
    bool gpt_from_backup;        /* the primary GPT was bad and the backup was used */
    bool has_boot_code;          /* LBA 0 holds non-zero boot code */
    uint8_t boot_code[440];
    ptable_part *parts;
    size_t nparts;
    p2v_warnings warnings;       /* problems that left the rest usable */
    p2v_warnings notices;        /* facts worth telling (sector size detected, hybrid MBR) */
    bool sector_size_detected;   /* image file: 4096-byte sectors found from the GPT position
                                    or from the MBR partitions' filesystems */
    size_t warnings_dropped;     /* warnings beyond the first 32, counted only */
} ptable;

/* Read and validate the table of bd. A disk with no table gives type
 * PTABLE_NONE and no partitions. Unusable input gives -EINVAL and a message
 * naming the disk and LBA. Problems that leave the rest usable go to
 * t->warnings (one line each, "disk: what, where"; parts flagged in
 * ptable_part.problems); facts worth telling go to t->notices. For an image
 * file whose sector size is only the 512-byte default and whose GPT sits at
 * byte 4096, or whose plain MBR's primary partitions hold volumes laid out
 * for 4096-byte sectors (and none for 512; see docs/disks.md), bd is switched
 * to 4096-byte sectors (bd_set_sector_size) and a notice says so. Call
 * bd_set_sector_size before this to turn the guessing off. */
int ptable_read(blockdev *bd, ptable **out, p2v_err *err);
/* Frees t, t->parts, t->warnings and t->notices (all malloc'd). */
void ptable_free(ptable *t);

const ptable_part *ptable_find(const ptable *t, unsigned number);
/* Last sector of a part (start + size - 1; start when size is 0). */
uint64_t ptable_part_end(const ptable_part *p);
/* True for an MBR extended-partition type byte (0x05, 0x0F, 0x85). */
bool ptable_mbr_is_extended(uint8_t type);
const char *ptable_type_str(enum ptable_type type); /* "mbr", "gpt", "none" */

/* Human names for types ("NTFS/exFAT/HPFS", "EFI System", ...); never NULL. */
const char *ptable_mbr_type_name(uint8_t type);
const char *ptable_gpt_type_name(const p2v_guid *type);

/* The MBR<->GPT type map of SPEC.md; 0 or -ENOENT when no mapping exists. */
int ptable_mbr_to_gpt_type(uint8_t mbr_type, p2v_guid *out);
int ptable_gpt_to_mbr_type(const p2v_guid *type, uint8_t *out);
/* As ptable_gpt_to_mbr_type, but a Microsoft basic data partition whose
 * filesystem (libblkid name) is known gets the best byte for it: FAT 0x0C,
 * NTFS and exFAT 0x07. fstype may be NULL. */
int ptable_gpt_to_mbr_type_fs(const p2v_guid *type, const char *fstype, uint8_t *out);

/* Well-known GPT type GUIDs (strings, parse with guid_parse). */
#define GPT_TYPE_ESP        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define GPT_TYPE_MSR        "e3c9e316-0b5c-4db8-817d-f92df00215ae"
#define GPT_TYPE_BASIC_DATA "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
#define GPT_TYPE_WINRE      "de94bba4-06d1-4d40-a16a-bfd50179d6ac"
#define GPT_TYPE_LINUX_FS   "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define GPT_TYPE_LINUX_SWAP "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"
#define GPT_TYPE_LINUX_LVM  "e6d6d379-f507-44c2-a23c-238f2a3df928"
#define GPT_TYPE_BIOS_BOOT  "21686148-6449-6e6f-744e-656564454649"
#define GPT_TYPE_LINUX_RAID "a19d880f-05fc-4d3b-a006-743f0f84911e"
#define GPT_TYPE_LDM_META   "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3"
#define GPT_TYPE_LDM_DATA   "af9b60a0-1431-4f62-bc68-3311714a69ad"
#define GPT_TYPE_STORAGE_SPACES "e75caf8f-f680-4cee-afa3-b001e56efc2d"

/* Serializing a new table: the writer calls back once per region to write
 * (byte offset on the target disk, bytes). t->type, sector_size,
 * disk_sectors and parts must be set.
 *
 * MBR: the caller fills t->parts with primaries (logical=false; number 1-4
 * picks the slot) and at most one container (container=true, mbr_type 0x05
 * or 0x0F), and logicals (logical=true, number from 5 in chain order,
 * ebr_lba set: the sector of its EBR, inside the container, before the
 * partition and after the previous logical). Writes LBA 0 (boot code from
 * t->boot_code if has_boot_code, t->mbr_signature, 0x55AA) and every EBR.
 * Partitions must end below 2^32 sectors.
 *
 * GPT: protective MBR (boot code if has_boot_code), primary header at LBA 1
 * and entries from LBA 2, backup entries and header in the last sectors (see
 * ptable_gpt_usable_range); t->disk_guid, and per part type_guid (or an
 * mbr_type that maps), uuid, attrs, name. Part number N goes in entry N; the
 * array has max(128, t->gpt_entries, highest number) entries rounded up to
 * whole sectors. Parts must lie in the usable range.
 *
 * Overlaps are not checked here (the planner owns the layout). */
int ptable_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err);

/* Where partitions may go on a new GPT disk of disk_sectors sectors with an
 * entry array of nentries (0: the default 128): first and last usable LBA,
 * as ptable_serialize lays it out (512-byte sectors, 128 entries: 34 and
 * disk_sectors - 34; 4096: 6 and disk_sectors - 6). -EINVAL if the disk is
 * too small. */
int ptable_gpt_usable_range(uint32_t sector_size, uint64_t disk_sectors, uint32_t nentries,
                            uint64_t *first, uint64_t *last);

#endif
