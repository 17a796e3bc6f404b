#include "fs/relocate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"

#define BS_HIDDEN_SECTORS 0x1C

const char *reloc_fs_name(enum reloc_fs fs)
{
    switch (fs) {
    case RELOC_FS_NTFS: return "ntfs";
    case RELOC_FS_FAT12: return "fat12";
    case RELOC_FS_FAT16: return "fat16";
    case RELOC_FS_FAT32: return "fat32";
    default: return "";
    }
}

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static bool probe_ntfs(const uint8_t *s, reloc_info *out)
{
    if (memcmp(s + 3, "NTFS    ", 8) != 0 || s[510] != 0x55 || s[511] != 0xAA)
        return false;
    uint32_t bps = get_le16(s + 0x0B);
    if (!pow2_in(bps, 256, 4096) || s[0x0D] == 0)
        return false;
    out->fs = RELOC_FS_NTFS;
    out->bytes_per_sector = bps;
    out->hidden_sectors = get_le32(s + BS_HIDDEN_SECTORS);
    out->volume_sectors = get_le64(s + 0x28);
    out->backup_sector = out->volume_sectors;
    return true;
}

static bool probe_fat(const uint8_t *s, reloc_info *out)
{
    if (!(s[0] == 0xEB && s[2] == 0x90) && s[0] != 0xE9)
        return false;
    uint32_t bps = get_le16(s + 0x0B), spc = s[0x0D], reserved = get_le16(s + 0x0E);
    uint32_t nfats = s[0x10], root_entries = get_le16(s + 0x11);
    uint64_t total = get_le16(s + 0x13);
    uint64_t fatsz = get_le16(s + 0x16);
    if (!pow2_in(bps, 512, 4096) || !pow2_in(spc, 1, 128) || reserved == 0 || nfats == 0 ||
        nfats > 4)
        return false;
    if (total == 0)
        total = get_le32(s + 0x20);
    bool fat32_layout = fatsz == 0;
    if (fat32_layout)
        fatsz = get_le32(s + 0x24);
    if (total == 0 || fatsz == 0)
        return false;
    uint64_t root_sectors = ((uint64_t)root_entries * 32 + bps - 1) / bps;
    uint64_t meta = reserved + nfats * fatsz + root_sectors;
    if (meta >= total)
        return false;
    uint64_t clusters = (total - meta) / spc;
    out->bytes_per_sector = bps;
    out->hidden_sectors = get_le32(s + BS_HIDDEN_SECTORS);
    out->volume_sectors = total;
    out->backup_sector = 0;
    if (fat32_layout) {
        out->fs = RELOC_FS_FAT32;
        uint32_t b = get_le16(s + 0x32);
        if (b != 0 && b != 0xFFFF && b < reserved)
            out->backup_sector = b;
    } else {
        out->fs = clusters < 4085 ? RELOC_FS_FAT12 : RELOC_FS_FAT16;
    }
    return true;
}

void reloc_probe(const uint8_t *sector, size_t len, reloc_info *out)
{
    memset(out, 0, sizeof *out);
    if (len < 512)
        return;
    if (probe_ntfs(sector, out))
        return;
    memset(out, 0, sizeof *out);
    if (memcmp(sector + 3, "EXFAT   ", 8) == 0 || memcmp(sector + 3, "NTFS", 4) == 0)
        return;
    if (!probe_fat(sector, out))
        memset(out, 0, sizeof *out);
}

void reloc_set_hidden(uint8_t *sector, uint32_t hidden) { put_le32(sector + BS_HIDDEN_SECTORS, hidden); }

static int add_patch(reloc_patches *p, uint64_t offset, const uint8_t *data, uint32_t len)
{
    reloc_patch *n = realloc(p->v, (p->count + 1) * sizeof *n);
    if (!n)
        return -ENOMEM;
    p->v = n;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    p->v[p->count++] = (reloc_patch){ .offset = offset, .len = len, .data = copy };
    return 0;
}

int reloc_build(blockdev *bd, uint64_t part_offset, uint64_t part_bytes, uint64_t new_start,
                uint64_t new_bytes, uint32_t sector_size, const char *what, reloc_patches *out,
                p2v_err *err)
{
    int r = 0;
    uint8_t *boot = NULL, *backup = NULL;
    reloc_info info, binfo;
    memset(out, 0, sizeof *out);
    if (part_bytes < 512)
        return 0;
    uint32_t blen = sector_size < 4096 ? 4096 : sector_size;
    if (blen > part_bytes)
        blen = (uint32_t)part_bytes;
    boot = malloc(blen);
    backup = malloc(blen);
    if (!boot || !backup) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = bd_pread(bd, boot, blen, part_offset, err)) < 0) {
        r = p2v_err_prefix(err, r, "%s: reading the boot sector", what);
        goto out;
    }
    reloc_probe(boot, blen, &info);
    if (info.fs == RELOC_FS_NONE || info.bytes_per_sector > blen)
        goto out;
    out->fs = info.fs;
    out->old_hidden = info.hidden_sectors;
    /* Hidden sectors count the filesystem's own sectors before the volume. */
    out->new_hidden = new_start * sector_size / info.bytes_per_sector;
    if (out->new_hidden > UINT32_MAX) {
        out->hidden_too_big = true;
        goto out;
    }
    uint32_t bps = info.bytes_per_sector;
    reloc_set_hidden(boot, (uint32_t)out->new_hidden);
    if ((r = add_patch(out, 0, boot, bps)) < 0)
        goto nomem;

    if (info.backup_sector) {
        uint64_t boff = info.backup_sector * bps;
        if (info.backup_sector > part_bytes / bps - 1) {
            out->backup_bad = true;
        } else if ((r = bd_pread(bd, backup, bps, part_offset + boff, err)) < 0) {
            r = p2v_err_prefix(err, r, "%s: reading the backup boot sector", what);
            goto out;
        } else {
            reloc_probe(backup, bps, &binfo);
            if (binfo.fs != info.fs) {
                out->backup_bad = true;
            } else {
                reloc_set_hidden(backup, (uint32_t)out->new_hidden);
                if ((r = add_patch(out, boff, backup, bps)) < 0)
                    goto nomem;
            }
        }
    }
    /* ntfs-3g looks for the backup in the partition's last sector: a partition
     * larger than its volume gets a copy of the (new) boot sector there. */
    if (info.fs == RELOC_FS_NTFS && new_bytes / bps > info.volume_sectors + 1) {
        if ((r = add_patch(out, (new_bytes / bps - 1) * bps, boot, bps)) < 0)
            goto nomem;
    }
    goto out;
nomem:
    r = p2v_errf(err, -ENOMEM, "out of memory");
out:
    free(boot);
    free(backup);
    if (r < 0)
        reloc_patches_free(out);
    return r;
}

void reloc_patches_free(reloc_patches *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->v[i].data);
    free(p->v);
    p->v = NULL;
    p->count = 0;
}
