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

bool bpb_oem_is(const uint8_t *s, const char oem[8])
{
    return !memcmp(s + BPB_OEM_NAME, oem, 8);
}

bool bpb_has_signature(const uint8_t *s)
{
    return s[BPB_SIGNATURE] == 0x55 && s[BPB_SIGNATURE + 1] == 0xAA;
}

bool bpb_has_jump(const uint8_t *s, bool strict)
{
    if (s[BPB_JUMP] == 0xE9)
        return true;
    return s[BPB_JUMP] == 0xEB && (!strict || s[BPB_JUMP + 2] == 0x90);
}

bool bpb_has_fat_type(const uint8_t *s, bool fat32)
{
    return !memcmp(s + BPB_FAT32_FS_TYPE, "FAT32   ", 8) ||
           (!fat32 && !memcmp(s + BPB_FAT16_FS_TYPE, "FAT", 3));
}

uint32_t bpb_exfat_sector_size(const uint8_t *s)
{
    uint8_t shift = s[BPB_EXFAT_SECTOR_SHIFT];
    return shift < 32 ? 1u << shift : 0;
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
    b->media = s[BPB_MEDIA];
    b->sectors_per_track = get_le16(s + BPB_SECTORS_PER_TRACK);
    b->heads = get_le16(s + BPB_HEADS);
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
    bool sig = bpb_has_signature(s);
    if (bpb_oem_is(s, BPB_OEM_NTFS)) {
        out->total_sectors = get_le64(s + BPB_NTFS_TOTAL_SECTORS);
        out->fat_sectors = 0;
        out->fat32_layout = false;
        if (sig && pow2_in(out->bytes_per_sector, 256, 4096) && out->sectors_per_cluster != 0)
            out->kind = BPB_NTFS;
        return;
    }
    bool geometry = fat_geometry(out);
    if (bpb_oem_is(s, BPB_OEM_EXFAT) || !memcmp(s + BPB_OEM_NAME, "NTFS", 4))
        return;
    if (bpb_has_jump(s, true) && geometry)
        out->kind = BPB_FAT;
}

void bpb_write(uint8_t *s, const bpb *b, const char oem[8])
{
    uint8_t code = b->fat32_layout ? BPB_FAT32_CODE : BPB_FAT16_FS_TYPE + 8;
    s[BPB_JUMP] = 0xEB; /* jmp short to the code after the BPB; nop */
    s[BPB_JUMP + 1] = (uint8_t)(code - 2);
    s[BPB_JUMP + 2] = 0x90;
    memcpy(s + BPB_OEM_NAME, oem, 8);
    put_le16(s + BPB_BYTES_PER_SECTOR, (uint16_t)b->bytes_per_sector);
    s[BPB_SECTORS_PER_CLUSTER] = (uint8_t)b->sectors_per_cluster;
    put_le16(s + BPB_RESERVED_SECTORS, (uint16_t)b->reserved_sectors);
    s[BPB_NUM_FATS] = (uint8_t)b->num_fats;
    put_le16(s + BPB_ROOT_ENTRIES, (uint16_t)b->root_entries);
    put_le16(s + BPB_TOTAL_SECTORS_16, (uint16_t)b->total_sectors_16);
    s[BPB_MEDIA] = (uint8_t)b->media;
    put_le16(s + BPB_FAT_SIZE_16, (uint16_t)b->fat_size_16);
    put_le16(s + BPB_SECTORS_PER_TRACK, (uint16_t)b->sectors_per_track);
    put_le16(s + BPB_HEADS, (uint16_t)b->heads);
    put_le32(s + BPB_HIDDEN_SECTORS, b->hidden_sectors);
    put_le32(s + BPB_TOTAL_SECTORS_32, b->total_sectors_32);
    if (b->fat32_layout) {
        put_le32(s + BPB_FAT32_FAT_SIZE, b->fat_size_32);
        put_le16(s + BPB_FAT32_EXT_FLAGS, (uint16_t)b->ext_flags);
        put_le32(s + BPB_FAT32_ROOT_CLUSTER, b->root_cluster);
        put_le16(s + BPB_FAT32_FSINFO, (uint16_t)b->fsinfo_sector);
        put_le16(s + BPB_FAT32_BACKUP_BOOT, (uint16_t)b->backup_boot_sector);
    }
    s[BPB_SIGNATURE] = 0x55;
    s[BPB_SIGNATURE + 1] = 0xAA;
}

void bpb_write_fat32_ebr(uint8_t *s, uint32_t volume_id, const char label[11])
{
    s[BPB_FAT32_DRIVE] = 0x80;
    s[BPB_FAT32_BOOT_SIG] = 0x29;
    put_le32(s + BPB_FAT32_VOLUME_ID, volume_id);
    memcpy(s + BPB_FAT32_LABEL, label, 11);
    memcpy(s + BPB_FAT32_FS_TYPE, "FAT32   ", 8);
}

void bpb_write_ntfs(uint8_t *s, uint64_t total_sectors, uint64_t mft_lcn, uint64_t mftmirr_lcn)
{
    put_le64(s + BPB_NTFS_TOTAL_SECTORS, total_sectors);
    put_le64(s + BPB_NTFS_MFT_LCN, mft_lcn);
    put_le64(s + BPB_NTFS_MFTMIRR_LCN, mftmirr_lcn);
}
