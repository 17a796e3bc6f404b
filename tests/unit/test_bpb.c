/* The boot-sector (BPB) reader: field offsets as Microsoft's FAT
 * specification and NTFS lay them out (every field given a distinct value,
 * read back from its place), the one FAT-type rule at its boundaries, and
 * the kinds: FAT, NTFS, exFAT and garbage. The relocation fixup and the FAT
 * map now agree on the type of a volume whose BPB has FAT32 fields but
 * FAT16's cluster count (before: FAT32 for one, FAT16 for the other). */
#include <stdlib.h>

#include "fs/bpb.h"
#include "fs/fat.h"
#include "fs/relocate.h"
#include "t.h"
#include "util/endian.h"

static void test_offsets(void)
{
    CHECK_EQ_U64(BPB_BYTES_PER_SECTOR, 11);
    CHECK_EQ_U64(BPB_SECTORS_PER_CLUSTER, 13);
    CHECK_EQ_U64(BPB_RESERVED_SECTORS, 14);
    CHECK_EQ_U64(BPB_NUM_FATS, 16);
    CHECK_EQ_U64(BPB_ROOT_ENTRIES, 17);
    CHECK_EQ_U64(BPB_TOTAL_SECTORS_16, 19);
    CHECK_EQ_U64(BPB_MEDIA, 21);
    CHECK_EQ_U64(BPB_FAT_SIZE_16, 22);
    CHECK_EQ_U64(BPB_SECTORS_PER_TRACK, 24);
    CHECK_EQ_U64(BPB_HEADS, 26);
    CHECK_EQ_U64(BPB_HIDDEN_SECTORS, 28);
    CHECK_EQ_U64(BPB_TOTAL_SECTORS_32, 32);
    CHECK_EQ_U64(BPB_FAT32_FAT_SIZE, 36);
    CHECK_EQ_U64(BPB_FAT32_EXT_FLAGS, 40);
    CHECK_EQ_U64(BPB_FAT32_ROOT_CLUSTER, 44);
    CHECK_EQ_U64(BPB_FAT32_FSINFO, 48);
    CHECK_EQ_U64(BPB_FAT32_BACKUP_BOOT, 50);
    CHECK_EQ_U64(BPB_NTFS_TOTAL_SECTORS, 40);
    CHECK_EQ_U64(BPB_NTFS_MFT_LCN, 48);
    CHECK_EQ_U64(BPB_NTFS_MFTMIRR_LCN, 56);
    CHECK_EQ_U64(BPB_SIGNATURE, 510);
}

/* A FAT boot sector: sizes in sectors, FAT32 fields when fat16 == 0. */
static void mk_fat(uint8_t *s, uint32_t spc, uint32_t reserved, uint32_t root_entries,
                   uint32_t total, uint32_t fat16, uint32_t fat32)
{
    memset(s, 0, 512);
    s[0] = 0xEB; s[1] = 0x3C; s[2] = 0x90;
    memcpy(s + 3, "MSWIN4.1", 8);
    put_le16(s + 11, 512);
    s[13] = (uint8_t)spc;
    put_le16(s + 14, (uint16_t)reserved);
    s[16] = 2;
    put_le16(s + 17, (uint16_t)root_entries);
    if (total < 65536)
        put_le16(s + 19, (uint16_t)total);
    else
        put_le32(s + 32, total);
    put_le16(s + 22, (uint16_t)fat16);
    if (!fat16) {
        put_le32(s + 36, fat32);
        put_le16(s + 40, 0x0081);
        put_le32(s + 44, 2);
        put_le16(s + 48, 1);
        put_le16(s + 50, 6);
    }
    put_le32(s + 28, 0x11223344);
    s[510] = 0x55; s[511] = 0xAA;
}

static void test_fields(void)
{
    uint8_t s[512];
    bpb b;
    mk_fat(s, 8, 32, 0, 4000000, 0, 3900);
    bpb_read(s, sizeof s, &b);
    CHECK(b.kind == BPB_FAT);
    CHECK_EQ_U64(b.bytes_per_sector, 512);
    CHECK_EQ_U64(b.sectors_per_cluster, 8);
    CHECK_EQ_U64(b.reserved_sectors, 32);
    CHECK_EQ_U64(b.num_fats, 2);
    CHECK_EQ_U64(b.total_sectors, 4000000);
    CHECK_EQ_U64(b.fat_sectors, 3900);
    CHECK_EQ_U64(b.hidden_sectors, 0x11223344);
    CHECK(b.fat32_layout);
    CHECK_EQ_U64(b.ext_flags, 0x81);
    CHECK_EQ_U64(b.root_cluster, 2);
    CHECK_EQ_U64(b.fsinfo_sector, 1);
    CHECK_EQ_U64(b.backup_boot_sector, 6);
    CHECK_EQ_U64(b.first_data_sector, 32 + 2 * 3900);
    CHECK_EQ_U64(b.cluster_count, (4000000 - 7832) / 8);
    CHECK_EQ_U64(b.fat_bits, 32);

    /* NTFS: the 64-bit sector count and the MFT positions */
    memset(s, 0, sizeof s);
    s[0] = 0xEB; s[1] = 0x52; s[2] = 0x90;
    memcpy(s + 3, "NTFS    ", 8);
    put_le16(s + 11, 4096);
    s[13] = 1;
    put_le64(s + 40, 0x123456789ULL);
    put_le64(s + 48, 786432);
    put_le64(s + 56, 2);
    put_le32(s + 28, 2048);
    s[510] = 0x55; s[511] = 0xAA;
    bpb_read(s, sizeof s, &b);
    CHECK(b.kind == BPB_NTFS);
    CHECK_EQ_U64(b.bytes_per_sector, 4096);
    CHECK_EQ_U64(b.total_sectors, 0x123456789ULL);
    CHECK_EQ_U64(b.mft_lcn, 786432);
    CHECK_EQ_U64(b.mftmirr_lcn, 2);
    CHECK_EQ_U64(b.hidden_sectors, 2048);
    s[511] = 0;
    bpb_read(s, sizeof s, &b);
    CHECK(b.kind == BPB_NONE); /* no signature */
    memcpy(s + 3, "EXFAT   ", 8);
    s[511] = 0xAA;
    bpb_read(s, sizeof s, &b);
    CHECK(b.kind == BPB_NONE);
    bpb_read(s, 511, &b);
    CHECK(b.kind == BPB_NONE);
    memset(s, 0xA5, sizeof s);
    bpb_read(s, sizeof s, &b);
    CHECK(b.kind == BPB_NONE);
}

static void test_type_rule(void)
{
    CHECK_EQ_U64(bpb_fat_bits_for(0), 12);
    CHECK_EQ_U64(bpb_fat_bits_for(4084), 12);
    CHECK_EQ_U64(bpb_fat_bits_for(4085), 16);
    CHECK_EQ_U64(bpb_fat_bits_for(65524), 16);
    CHECK_EQ_U64(bpb_fat_bits_for(65525), 32);
}

/* FAT32 fields, but 60000 clusters: FAT16 by Microsoft's rule, for both. */
static void test_one_rule(void)
{
    uint8_t s[512];
    mk_fat(s, 1, 32, 0, 32 + 2 * 470 + 60000, 0, 470);
    reloc_info ri;
    reloc_probe(s, sizeof s, &ri);
    CHECK(ri.fs == RELOC_FS_FAT16);
    CHECK_EQ_U64(ri.backup_sector, 6); /* the FAT32 fields still say where the backup is */
    fat_geom g;
    char why[160];
    CHECK(fat_parse_boot(s, sizeof s, &g, why, sizeof why) < 0); /* FAT16 without a root directory */
    CHECK(strstr(why, "FAT16") != NULL);
    /* a plain FAT32: both say 32 */
    mk_fat(s, 1, 32, 0, 32 + 2 * 600 + 70000, 0, 600);
    reloc_probe(s, sizeof s, &ri);
    CHECK(ri.fs == RELOC_FS_FAT32);
    CHECK(fat_parse_boot(s, sizeof s, &g, why, sizeof why) == 0 && g.bits == 32);
}

int main(void)
{
    test_offsets();
    test_fields();
    test_type_rule();
    test_one_rule();
    return t_done("test_bpb");
}
