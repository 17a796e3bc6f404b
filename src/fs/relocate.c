#include "fs/relocate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/bpb.h"
#include "util/endian.h"


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

static bool probe_ntfs(const bpb *b, reloc_info *out)
{
    if (b->kind != BPB_NTFS)
        return false;
    out->fs = RELOC_FS_NTFS;
    out->bytes_per_sector = b->bytes_per_sector;
    out->hidden_sectors = b->hidden_sectors;
    out->volume_sectors = b->total_sectors;
    out->backup_sector = b->total_sectors;
    return true;
}

/* The type is the BPB's (by cluster count); the backup boot sector is where
 * the FAT32 fields say, when the BPB has them. */
static bool probe_fat(const bpb *b, reloc_info *out)
{
    if (b->kind != BPB_FAT || b->fat_bits == 0)
        return false;
    out->bytes_per_sector = b->bytes_per_sector;
    out->hidden_sectors = b->hidden_sectors;
    out->volume_sectors = b->total_sectors;
    out->backup_sector = 0;
    out->fs = b->fat_bits == 32 ? RELOC_FS_FAT32 : b->fat_bits == 16 ? RELOC_FS_FAT16
                                                                     : RELOC_FS_FAT12;
    uint32_t bk = b->backup_boot_sector;
    if (b->fat32_layout && bk != 0 && bk != 0xFFFF && bk < b->reserved_sectors)
        out->backup_sector = bk;
    return true;
}

void reloc_probe(const uint8_t *sector, size_t len, reloc_info *out)
{
    bpb b;
    memset(out, 0, sizeof *out);
    bpb_read(sector, len, &b);
    if (!probe_ntfs(&b, out) && !probe_fat(&b, out))
        memset(out, 0, sizeof *out);
}

void reloc_set_hidden(uint8_t *sector, uint32_t hidden) { put_le32(sector + BPB_HIDDEN_SECTORS, hidden); }

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

/* The first blen bytes of the partition, or only its first sector when a
 * later one cannot be read; *got 0 when even that one cannot: the copy
 * meets the sector itself (it stops there, or writes zeros with
 * --bad-sectors zero) and there is nothing to patch. */
static int read_boot(blockdev *bd, uint64_t off, uint8_t *buf, uint32_t blen, uint32_t sector_size,
                     uint32_t *got, p2v_err *err)
{
    int r = bd_pread(bd, buf, blen, off, err);
    *got = blen;
    if (r != -EIO || off + blen > bd_size(bd))
        return r;   /* past the source's end is no bad sector */
    memset(buf, 0, blen);
    uint32_t first = sector_size < blen ? sector_size : blen;
    r = bd_pread(bd, buf, first, off, err);
    *got = r == 0 ? first : 0;
    return r == -EIO ? 0 : r;
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
    uint32_t got;
    if ((r = read_boot(bd, part_offset, boot, blen, sector_size, &got, err)) < 0) {
        r = p2v_err_prefix(err, r, "%s: reading the boot sector", what);
        goto out;
    }
    if (got < 512)
        goto out;
    reloc_probe(boot, got, &info);
    if (info.fs == RELOC_FS_NONE || info.bytes_per_sector > got)
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
        } else if ((r = bd_pread(bd, backup, bps, part_offset + boff, err)) == -EIO) {
            r = 0;  /* unreadable: the copy meets it, as above */
        } else if (r < 0) {
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
