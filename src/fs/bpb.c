#include "fs/bpb.h"

#include <string.h>

#include "util/endian.h"

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

int bpb_fat_bits_for(uint64_t cluster_count)
{
    return cluster_count < 4085 ? 12 : cluster_count < 65525 ? 16 : 32;
}

/* Every field, whatever the kind: consumers with their own checks (the FAT
 * map's validation ladder) read them even from a sector bpb_read rejects. */
static void read_fields(const uint8_t *s, bpb *b)
{
    b->bytes_per_sector = get_le16(s + BPB_BYTES_PER_SECTOR);
    b->sectors_per_cluster = s[BPB_SECTORS_PER_CLUSTER];
    b->reserved_sectors = get_le16(s + BPB_RESERVED_SECTORS);
    b->num_fats = s[BPB_NUM_FATS];
    b->root_entries = get_le16(s + BPB_ROOT_ENTRIES);
    b->total_sectors_16 = get_le16(s + BPB_TOTAL_SECTORS_16);
    b->fat_size_16 = get_le16(s + BPB_FAT_SIZE_16);
    b->hidden_sectors = get_le32(s + BPB_HIDDEN_SECTORS);
    b->total_sectors_32 = get_le32(s + BPB_TOTAL_SECTORS_32);
    b->fat_size_32 = get_le32(s + BPB_FAT32_FAT_SIZE);
    b->ext_flags = get_le16(s + BPB_FAT32_EXT_FLAGS);
    b->root_cluster = get_le32(s + BPB_FAT32_ROOT_CLUSTER);
    b->fsinfo_sector = get_le16(s + BPB_FAT32_FSINFO);
    b->backup_boot_sector = get_le16(s + BPB_FAT32_BACKUP_BOOT);
    b->mft_lcn = get_le64(s + BPB_NTFS_MFT_LCN);
    b->mftmirr_lcn = get_le64(s + BPB_NTFS_MFTMIRR_LCN);
    b->fat32_layout = b->fat_size_16 == 0;
    b->total_sectors = b->total_sectors_16 ? b->total_sectors_16 : b->total_sectors_32;
    b->fat_sectors = b->fat32_layout ? b->fat_size_32 : b->fat_size_16;
}

/* The data area and the FAT type, when the sizes are sane. */
static bool fat_geometry(bpb *b)
{
    if (!pow2_in(b->bytes_per_sector, 512, 4096) || !pow2_in(b->sectors_per_cluster, 1, 128) ||
        b->reserved_sectors == 0 || b->num_fats == 0 || b->num_fats > 4 ||
        b->total_sectors == 0 || b->fat_sectors == 0)
        return false;
    b->root_dir_sectors =
        ((uint64_t)b->root_entries * 32 + b->bytes_per_sector - 1) / b->bytes_per_sector;
    b->first_data_sector =
        b->reserved_sectors + (uint64_t)b->num_fats * b->fat_sectors + b->root_dir_sectors;
    if (b->first_data_sector < b->total_sectors) {
        b->cluster_count = (b->total_sectors - b->first_data_sector) / b->sectors_per_cluster;
        b->fat_bits = bpb_fat_bits_for(b->cluster_count);
    }
    return true;
}

void bpb_read(const uint8_t *s, size_t len, bpb *out)
{
    memset(out, 0, sizeof *out);
    if (len < BPB_SECTOR)
        return;
    read_fields(s, out);
    bool sig = s[BPB_SIGNATURE] == 0x55 && s[BPB_SIGNATURE + 1] == 0xAA;
    if (!memcmp(s + BPB_OEM_NAME, "NTFS    ", 8)) {
        out->total_sectors = get_le64(s + BPB_NTFS_TOTAL_SECTORS);
        out->fat_sectors = 0;
        out->fat32_layout = false;
        if (sig && pow2_in(out->bytes_per_sector, 256, 4096) && out->sectors_per_cluster != 0)
            out->kind = BPB_NTFS;
        return;
    }
    bool geometry = fat_geometry(out);
    if (!memcmp(s + BPB_OEM_NAME, "EXFAT   ", 8) || !memcmp(s + BPB_OEM_NAME, "NTFS", 4))
        return;
    bool jump = (s[BPB_JUMP] == 0xEB && s[BPB_JUMP + 2] == 0x90) || s[BPB_JUMP] == 0xE9;
    if (jump && geometry)
        out->kind = BPB_FAT;
}
