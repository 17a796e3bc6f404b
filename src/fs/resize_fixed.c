/* The resize checks of the filesystems whose size a check takes from their
 * own fields and that p2v does not shrink: ext2/3/4 (the superblock; its
 * grow is resize_ext.c's) and FAT (the BPB; FAT keeps its size). Their
 * driver rows point here. */
#include <errno.h>
#include <string.h>

#include "fs/relocate.h"
#include "fs/resize_impl.h"
#include "util/endian.h"

#define EXT_SB_OFFSET 1024
#define EXT_SB_LEN 1024
#define EXT_MAGIC 0xEF53
#define EXT_INCOMPAT_64BIT 0x80

/* ext2/3/4 size from the superblock: blocks count times block size. */
static int ext_size(blockdev *bd, uint64_t off, uint64_t len, uint64_t *bytes, p2v_err *err)
{
    uint8_t sb[EXT_SB_LEN];
    *bytes = 0;
    if (len < EXT_SB_OFFSET + EXT_SB_LEN)
        return 0;
    int r = bd_pread(bd, sb, sizeof sb, off + EXT_SB_OFFSET, err);
    if (r < 0 || get_le16(sb + 0x38) != EXT_MAGIC)
        return r;
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
    if (len < sizeof bs)
        return 0;
    int r = bd_pread(bd, bs, sizeof bs, off, err);
    if (r < 0)
        return r;
    reloc_probe(bs, sizeof bs, &ri);
    if (ri.fs == RELOC_FS_FAT12 || ri.fs == RELOC_FS_FAT16 || ri.fs == RELOC_FS_FAT32)
        *bytes = ri.volume_sectors * ri.bytes_per_sector;
    return 0;
}

int fsresize_ext_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *out, p2v_err *err)
{
    (void)what;
    int r = ext_size(bd, off, len, &out->fs_bytes, err);
    fsresize_fixed_size(out, len);
    return r;
}

int fsresize_fat_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *out, p2v_err *err)
{
    (void)what;
    int r = fat_size(bd, off, len, &out->fs_bytes, err);
    fsresize_fixed_size(out, len);
    return r;
}
