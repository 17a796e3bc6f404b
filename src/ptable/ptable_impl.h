/* Internal to src/ptable: on-disk layout constants and the per-label parts. */
#ifndef P2V_PTABLE_IMPL_H
#define P2V_PTABLE_IMPL_H

#include "ptable/ptable.h"

/* MBR (and EBR) sector layout. */
#define MBR_SIZE            512
#define MBR_BOOT_CODE_SIZE  440
#define MBR_SIGNATURE_OFF   0x1b8
#define MBR_ENTRIES_OFF     0x1be
#define MBR_ENTRY_SIZE      16
#define MBR_MAGIC_OFF       0x1fe
/* Fields of a 16-byte MBR entry. */
#define MBRE_STATUS    0
#define MBRE_CHS_FIRST 1
#define MBRE_TYPE      4
#define MBRE_CHS_LAST  5
#define MBRE_LBA       8
#define MBRE_SECTORS   12

/* GPT header layout (UEFI spec, "GPT Header"). */
#define GPT_SIGNATURE       "EFI PART"
#define GPT_REVISION_1_0    0x00010000u
#define GPT_HEADER_SIZE     92
#define GPTH_SIGNATURE      0
#define GPTH_REVISION       8
#define GPTH_HEADER_SIZE    12
#define GPTH_HEADER_CRC     16
#define GPTH_RESERVED       20
#define GPTH_MY_LBA         24
#define GPTH_ALTERNATE_LBA  32
#define GPTH_FIRST_USABLE   40
#define GPTH_LAST_USABLE    48
#define GPTH_DISK_GUID      56
#define GPTH_ENTRIES_LBA    72
#define GPTH_NUM_ENTRIES    80
#define GPTH_ENTRY_SIZE     84
#define GPTH_ENTRIES_CRC    88
/* GPT entry layout. */
#define GPT_ENTRY_SIZE      128
#define GPTE_TYPE           0
#define GPTE_UUID           16
#define GPTE_FIRST_LBA      32
#define GPTE_LAST_LBA       40
#define GPTE_ATTRS          48
#define GPTE_NAME           56
#define GPTE_NAME_BYTES     72
/* The default array: 128 entries of 128 bytes (16 KiB). */
#define GPT_DEFAULT_ENTRIES 128
/* Largest entry array we accept from a disk. */
#define GPT_MAX_ARRAY_BYTES (16u << 20)
/* Longest EBR chain we follow. */
#define MBR_MAX_LOGICALS    1024

/* What sector 0 looks like (mbr.c). */
struct mbr_info {
    bool magic;         /* 0x55 0xAA */
    bool valid_status;  /* every status byte is 0x00 or 0x80 */
    bool protective;    /* an 0xEE entry */
    unsigned nonempty;  /* entries with a non-zero type */
    bool fs_boot;       /* looks like a FAT/NTFS/exFAT boot sector, not an MBR */
};
void mbr_inspect(const uint8_t sector0[MBR_SIZE], struct mbr_info *info);

/* ---- shared by the label parsers (ptable_util.c) ---- */

/* Add a warning to t->warnings; past PTABLE_MAX_WARNINGS they are only
 * counted (a hostile GPT can have 131072 bad entries), and ptable_read adds
 * one line saying how many were left out. */
#define PTABLE_MAX_WARNINGS 32
void ptable_warn(ptable *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a copy of p to t->parts. 0 or -ENOMEM. */
int ptable_add_part(ptable *t, const ptable_part *p, p2v_err *err);

/* What both labels keep of sector 0: t's type, the disk signature and
 * the boot code (has_boot_code: any byte of it not zero). */
void ptable_sector0(ptable *t, enum ptable_type type, const uint8_t sector0[MBR_SIZE]);

/* zlib crc32 over a buffer of any size. */
uint32_t ptable_crc32(const uint8_t *buf, size_t len);

/* ---- the labels (mbr.c, gpt.c), called by ptable.c ---- */

/* Fill t (type, parts, identity) from the disk; t->sector_size and
 * t->disk_sectors are set. sector0 is the first 512 bytes of LBA 0. */
int mbr_read(blockdev *bd, ptable *t, const uint8_t sector0[MBR_SIZE], p2v_err *err);
int gpt_read(blockdev *bd, ptable *t, const uint8_t sector0[MBR_SIZE], p2v_err *err);

/* CHS bytes as fdisk writes them: 255 heads, 63 sectors per track, and
 * 1023/254/63 for an LBA past the CHS range. */
void mbr_chs_encode(uint64_t lba, uint8_t out[3]);
/* Write a 16-byte MBR entry. */
void mbr_entry_put(uint8_t *e, uint8_t status, uint8_t type, uint64_t lba, uint64_t sectors);

int mbr_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err);
int gpt_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err);


#endif
