/* The resize checks of the filesystems whose size a check takes from their
 * own fields and that p2v does not shrink: ext2/3/4 (the superblock; its
 * grow is resize_ext.c's) and FAT (the BPB; FAT keeps its size); their
 * driver rows point here. And the partition-entry check every resize hook
 * shares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/relocate.h"
#include "fs/resize_impl.h"
#include "util/endian.h"
#include "util/size.h"

#define EXT_SB_OFFSET 1024
#define EXT_SB_LEN 1024
#define EXT_MAGIC 0xEF53
#define EXT_INCOMPAT_64BIT 0x80

/* ext2/3/4 size from the superblock: blocks count times block size. */
static int ext_size(blockdev *bd, uint64_t off, uint64_t len, uint64_t *bytes, p2v_err *err)
{
    uint8_t sb[EXT_SB_LEN];
    *bytes = 0;
    int r = fsresize_read_at(bd, off, len, EXT_SB_OFFSET, sb, sizeof sb, err);
    if (r <= 0 || get_le16(sb + 0x38) != EXT_MAGIC)
        return r < 0 ? r : 0;
    uint32_t log = get_le32(sb + 0x18);
    uint64_t blocks = get_le32(sb + 0x04);
    if (get_le32(sb + 0x60) & EXT_INCOMPAT_64BIT)
        blocks |= (uint64_t)get_le32(sb + 0x150) << 32;
    if (log <= 6 && blocks <= (UINT64_MAX >> (10 + log)))
        *bytes = blocks << (10 + log);
    return 0;
}

static int fat_size(blockdev *bd, uint64_t off, uint64_t len, uint64_t *bytes, p2v_err *err)
{
    uint8_t bs[512];
    reloc_info ri;
    *bytes = 0;
    int r = fsresize_read_at(bd, off, len, 0, bs, sizeof bs, err);
    if (r <= 0)
        return r;
    reloc_probe(bs, sizeof bs, &ri);
    if (ri.fs == RELOC_FS_FAT12 || ri.fs == RELOC_FS_FAT16 || ri.fs == RELOC_FS_FAT32)
        *bytes = ri.volume_sectors * ri.bytes_per_sector;
    return 0;
}

int fsresize_entry_check(const char *fstype, uint64_t fs_bytes, const char *from, uint64_t len,
                         const char *what, p2v_err *err)
{
    char h1[32], h2[32];
    if (fs_bytes <= len)
        return 0;
    /* The copy reads the partition as its entry bounds it: a resized one is
     * zero-extended from the entry's end, so every file beyond it would
     * read as zeros in a filesystem told it is whole. */
    return p2v_errf(err, -ERANGE,
                    "%s: the %s filesystem is %llu bytes (%s, %s) but its partition entry only "
                    "%llu bytes (%s): it cannot be resized, what lies past the entry's end would "
                    "be lost; copy the partition at its size, or first make the entry cover the "
                    "whole filesystem (or shrink the filesystem to the entry)", what,
                    fstype[0] ? fstype : "unrecognised", (unsigned long long)fs_bytes,
                    size_human(fs_bytes, h1, sizeof h1), from, (unsigned long long)len,
                    size_human(len, h2, sizeof h2));
}

/* The check of a filesystem that keeps its size, r being the result of
 * reading that size into out->fs_bytes (from: where it is recorded). */
static int fixed_check(int r, const char *from, uint64_t len, const char *what,
                       fsresize_info *out, p2v_err *err)
{
    fsresize_fixed_size(out, len);
    return r == 0 ? fsresize_entry_check(out->fstype, out->fs_bytes, from, len, what, err) : r;
}

int fsresize_ext_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *out, p2v_err *err)
{
    int r = ext_size(bd, off, len, &out->fs_bytes, err);
    return fixed_check(r, "from its superblock", len, what, out, err);
}

int fsresize_fat_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *out, p2v_err *err)
{
    int r = fat_size(bd, off, len, &out->fs_bytes, err);
    return fixed_check(r, "from its boot sector", len, what, out, err);
}

int fsresize_fat_keep(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                      const fsresize_info *fi, const char *what, fsresize_done *out,
                      p2v_err *err)
{
    (void)bd, (void)off, (void)old_bytes, (void)new_bytes, (void)what, (void)err;
    out->fs_new = fi->fs_bytes;
    snprintf(out->action, sizeof out->action, "FAT keeps its size (FAT is not grown)");
    return 1;
}
