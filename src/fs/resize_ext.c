/* Growing an ext2/3/4 filesystem offline on a copy-on-write overlay,
 * through libext2fs (the way resize2fs grows one, without moving anything):
 * the last group gets its missing blocks, new groups get descriptors (in
 * the spare room of the descriptor blocks, in blocks reserved for growth —
 * the resize inode then rebuilt — or in meta_bg's own), bitmaps and inode
 * tables (flex_bg places them; tables read as zeros), superblock and
 * descriptor backups where sparse_super(2) wants them; then the counts and
 * checksums. The journal is not touched. What libext2fs writes goes into
 * the overlay only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "blockdev/window.h"
#include "fs/ext_io.h"
#include "fs/resize_impl.h"
#include "util/size.h"

/* The features whose on-disk meaning a grow keeps right; any other one
 * (bigalloc, MMP, an external journal device, snapshots...) leaves the
 * filesystem at its size. */
#define GROW_COMPAT                                                                        \
    (EXT2_FEATURE_COMPAT_DIR_PREALLOC | EXT2_FEATURE_COMPAT_IMAGIC_INODES |                \
     EXT3_FEATURE_COMPAT_HAS_JOURNAL | EXT2_FEATURE_COMPAT_EXT_ATTR |                      \
     EXT2_FEATURE_COMPAT_RESIZE_INODE | EXT2_FEATURE_COMPAT_DIR_INDEX |                    \
     EXT4_FEATURE_COMPAT_SPARSE_SUPER2 | EXT4_FEATURE_COMPAT_FAST_COMMIT |                 \
     EXT4_FEATURE_COMPAT_STABLE_INODES | EXT4_FEATURE_COMPAT_ORPHAN_FILE)
#define GROW_INCOMPAT                                                                      \
    (EXT2_FEATURE_INCOMPAT_FILETYPE | EXT2_FEATURE_INCOMPAT_META_BG |                      \
     EXT3_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_64BIT |                         \
     EXT4_FEATURE_INCOMPAT_FLEX_BG | EXT4_FEATURE_INCOMPAT_EA_INODE |                      \
     EXT4_FEATURE_INCOMPAT_CSUM_SEED | EXT4_FEATURE_INCOMPAT_LARGEDIR |                    \
     EXT4_FEATURE_INCOMPAT_INLINE_DATA | EXT4_FEATURE_INCOMPAT_ENCRYPT |                   \
     EXT4_FEATURE_INCOMPAT_CASEFOLD)
#define GROW_RO_COMPAT                                                                     \
    (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |             \
     EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_GDT_CSUM |                  \
     EXT4_FEATURE_RO_COMPAT_DIR_NLINK | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |               \
     EXT4_FEATURE_RO_COMPAT_QUOTA | EXT4_FEATURE_RO_COMPAT_METADATA_CSUM |                 \
     EXT4_FEATURE_RO_COMPAT_PROJECT | EXT4_FEATURE_RO_COMPAT_VERITY)

/* A libext2fs failure: the blockdev's own error when there was one. */
static int lib_error(const struct ext_io *x, errcode_t ec, const char *what,
                     const char *step, p2v_err *err)
{
    if (x->failed)
        return p2v_errf_at(err, -EIO, what, "%s: %s", step, x->err.msg);
    return p2v_errf_at(err, -EIO, what, "%s: %s", step, error_message(ec));
}

static int not_clean(const struct ext2_super_block *sb, const char *what, p2v_err *err)
{
    const char *why = NULL;
    if (sb->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER)
        why = "it needs journal recovery";
    else if (sb->s_state & EXT2_ERROR_FS)
        why = "errors are recorded in it";
    else if (!(sb->s_state & EXT2_VALID_FS))
        why = "it was not cleanly unmounted";
    else if (sb->s_last_orphan || (sb->s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT))
        why = "it has orphan inodes to clean up";
    return why ? p2v_errf_at(err, -ENOTSUP, what, "the filesystem is not clean (%s)", why) : 0;
}

static int features_ok(const struct ext2_super_block *sb, const char *what, p2v_err *err)
{
    uint32_t c = sb->s_feature_compat & ~GROW_COMPAT;
    uint32_t i = sb->s_feature_incompat & ~(GROW_INCOMPAT | EXT3_FEATURE_INCOMPAT_RECOVER);
    uint32_t r = sb->s_feature_ro_compat & ~GROW_RO_COMPAT;
    if (c || i || r)
        return p2v_errf_at(err, -ENOTSUP, what, "p2v does not grow filesystems with these features "
                           "(compat 0x%x, incompat 0x%x, ro_compat 0x%x)", c, i, r);
    if (sb->s_log_cluster_size != sb->s_log_block_size)
        return p2v_errf_at(err, -ENOTSUP, what, "clusters larger than blocks (bigalloc)");
    return not_clean(sb, what, err);
}

/* Shapes mke2fs never makes are left alone (libext2fs misreads some of
 * them: a hostile first data block overflows its bitmap buffers). */
static int shape_ok(ext2_filsys fs, uint64_t dev_bytes, const char *what, p2v_err *err)
{
    struct ext2_super_block *sb = fs->super;
    uint32_t bits = fs->blocksize * 8;
    uint64_t bytes;
    bool first_ok = sb->s_first_data_block == 0 ||
                    (sb->s_first_data_block == 1 && fs->blocksize == 1024);
    if (first_ok && sb->s_blocks_per_group && sb->s_blocks_per_group % 8 == 0 &&
        sb->s_blocks_per_group <= bits && sb->s_inodes_per_group &&
        sb->s_inodes_per_group % 8 == 0 && sb->s_inodes_per_group <= bits &&
        ext2fs_blocks_count(sb) > sb->s_first_data_block &&
        !__builtin_mul_overflow(ext2fs_blocks_count(sb), (uint64_t)fs->blocksize, &bytes) &&
        bytes <= dev_bytes)
        return 0;
    return p2v_errf_at(err, -ENOTSUP, what, "its superblock has an unusual shape (first data block "
                       "%u, %u blocks and %u inodes per group, %llu blocks of %u bytes)",
                       sb->s_first_data_block, sb->s_blocks_per_group, sb->s_inodes_per_group,
                       (unsigned long long)ext2fs_blocks_count(sb), fs->blocksize);
}

static void geom_of(ext2_filsys fs, fsresize_ext_geom *g)
{
    struct ext2_super_block *sb = fs->super;
    *g = (fsresize_ext_geom){
        .block_size = fs->blocksize,
        .first_data_block = sb->s_first_data_block,
        .blocks_per_group = sb->s_blocks_per_group,
        .inodes_per_group = sb->s_inodes_per_group,
        .inode_blocks_per_group = fs->inode_blocks_per_group,
        .desc_size = EXT2_DESC_SIZE(sb),
        .reserved_gdt_blocks = sb->s_reserved_gdt_blocks,
        .backup_bgs = { sb->s_backup_bgs[0], sb->s_backup_bgs[1] },
        .blocks_count = ext2fs_blocks_count(sb),
        .groups = fs->group_desc_count,
        .desc_blocks = fs->desc_blocks,
        .is_64bit = ext2fs_has_feature_64bit(sb),
        .meta_bg = ext2fs_has_feature_meta_bg(sb),
        .sparse_super = ext2fs_has_feature_sparse_super(sb),
        .sparse_super2 = ext2fs_has_feature_sparse_super2(sb),
    };
}

/* Blocks set in the block bitmap in [first, last]. */
static errcode_t count_used(ext2_filsys fs, blk64_t first, blk64_t last, blk64_t *used)
{
    blk64_t pos = first, a, z, n = 0;
    while (pos <= last) {
        errcode_t ec = ext2fs_find_first_set_block_bitmap2(fs->block_map, pos, last, &a);
        if (ec == ENOENT)
            break;
        if (ec)
            return ec;
        ec = ext2fs_find_first_zero_block_bitmap2(fs->block_map, a, last, &z);
        if (ec == ENOENT)
            z = last + 1;
        else if (ec)
            return ec;
        n += z - a;
        pos = z;
    }
    *used = n;
    return 0;
}

/* Blocks in use (metadata and data) in the whole filesystem. */
static errcode_t used_blocks(ext2_filsys fs, blk64_t *used)
{
    return count_used(fs, fs->super->s_first_data_block, ext2fs_blocks_count(fs->super) - 1,
                      used);
}

/* The superblock numbers and the in-memory tables at the new size. */
static errcode_t grow_tables(ext2_filsys fs, const fsresize_ext_layout *l)
{
    struct ext2_super_block *sb = fs->super;
    uint64_t old_blocks = ext2fs_blocks_count(sb);
    unsigned __int128 r = (unsigned __int128)ext2fs_r_blocks_count(sb) * l->blocks / old_blocks;
    ext2fs_blocks_count_set(sb, l->blocks);
    ext2fs_r_blocks_count_set(sb, (blk64_t)r);
    sb->s_inodes_count = (uint32_t)(l->groups * sb->s_inodes_per_group);
    sb->s_reserved_gdt_blocks = (uint16_t)l->reserved_gdt_blocks;
    sb->s_backup_bgs[0] = l->backup_bgs[0];
    sb->s_backup_bgs[1] = l->backup_bgs[1];
    if (l->desc_blocks > fs->desc_blocks) {
        errcode_t ec = ext2fs_resize_mem(fs->desc_blocks * fs->blocksize,
                                         l->desc_blocks * fs->blocksize, &fs->group_desc);
        if (ec)
            return ec;
        memset((char *)fs->group_desc + fs->desc_blocks * fs->blocksize, 0,
               (l->desc_blocks - fs->desc_blocks) * fs->blocksize);
    }
    fs->group_desc_count = (dgrp_t)l->groups;
    fs->desc_blocks = (unsigned long)l->desc_blocks;
    errcode_t ec = ext2fs_resize_inode_bitmap2(sb->s_inodes_count, sb->s_inodes_count,
                                               fs->inode_map);
    if (ec)
        return ec;
    blk64_t real_end = (blk64_t)sb->s_blocks_per_group * l->groups - 1 + sb->s_first_data_block;
    return ext2fs_resize_block_bitmap2(l->blocks - 1, real_end, fs->block_map);
}

/* sparse_super2's second backup moved to the new last group: its old
 * place (superblock and descriptors) is free space now. */
static void free_old_backup(ext2_filsys fs, const fsresize_ext_geom *g)
{
    uint32_t old = g->backup_bgs[1];
    if (!g->sparse_super2 || !old || old == fs->super->s_backup_bgs[1] || old >= g->groups)
        return;
    blk64_t first = ext2fs_group_first_block2(fs, old);
    ext2fs_unmark_block_bitmap_range2(fs->block_map, first,
                                      1 + g->desc_blocks + g->reserved_gdt_blocks);
}

/* A new group's descriptor: no inodes used; with group checksums its inode
 * bitmap and table are left uninitialised (the table reads as zeros). */
static void new_group_desc(ext2_filsys fs, dgrp_t grp)
{
    memset(ext2fs_group_desc(fs, fs->group_desc, grp), 0, EXT2_DESC_SIZE(fs->super));
    ext2fs_bg_flags_zap(fs, grp);
    if (ext2fs_has_group_desc_csum(fs)) {
        ext2fs_bg_flags_set(fs, grp, EXT2_BG_INODE_UNINIT | EXT2_BG_INODE_ZEROED);
        ext2fs_bg_itable_unused_set(fs, grp, fs->super->s_inodes_per_group);
    }
    ext2fs_bg_free_inodes_count_set(fs, grp, fs->super->s_inodes_per_group);
    ext2fs_bg_used_dirs_count_set(fs, grp, 0);
}

/* An inode table placed where the overlay does not read zeros (flex_bg may
 * put it in the old part) is written with zeros. */
static errcode_t zero_itable(ext2_filsys fs, dgrp_t grp, uint64_t zeros_from)
{
    blk64_t t = ext2fs_inode_table_loc(fs, grp);
    blk64_t zb = zeros_from / fs->blocksize;   /* first block that reads as zeros */
    if (t >= zb)
        return 0;
    blk64_t n = fs->inode_blocks_per_group;
    if (zb - t < n)
        n = zb - t;
    return ext2fs_zero_blocks2(fs, t, (int)n, NULL, NULL);
}

static errcode_t add_groups(ext2_filsys fs, dgrp_t old_groups, uint64_t zeros_from)
{
    for (dgrp_t g = old_groups; g < fs->group_desc_count; g++)
        new_group_desc(fs, g);
    /* every group: the descriptor blocks may have grown into reserved ones */
    for (dgrp_t g = 0; g < fs->group_desc_count; g++)
        ext2fs_reserve_super_and_bgd(fs, g, fs->block_map);
    for (dgrp_t g = old_groups; g < fs->group_desc_count; g++) {
        errcode_t ec = ext2fs_allocate_group_table(fs, g, fs->block_map);
        if (!ec)
            ec = zero_itable(fs, g, zeros_from);
        if (ec)
            return ec;
    }
    return 0;
}

/* The resize inode lists the reserved descriptor blocks and their backups:
 * rebuilt from an empty index, as the reserved blocks and the backup groups
 * changed. */
static errcode_t rebuild_resize_inode(ext2_filsys fs)
{
    struct ext2_inode inode;
    if (!ext2fs_has_feature_resize_inode(fs->super))
        return 0;
    errcode_t ec = ext2fs_read_inode(fs, EXT2_RESIZE_INO, &inode);
    if (ec)
        return ec;
    blk_t dind = inode.i_block[EXT2_DIND_BLOCK];
    if (!dind || dind >= ext2fs_blocks_count(fs->super))
        return EXT2_ET_RESIZE_INODE_CORRUPT;
    if ((ec = ext2fs_iblk_set(fs, &inode, 1)) || (ec = ext2fs_write_inode(fs, EXT2_RESIZE_INO,
                                                                         &inode)))
        return ec;
    if ((ec = ext2fs_zero_blocks2(fs, dind, 1, NULL, NULL)))
        return ec;
    return ext2fs_create_resize_inode(fs);
}

/* Free counts per group and in the superblock from the bitmaps; the
 * overhead the superblock may record grows by the metadata added. */
static errcode_t recount(ext2_filsys fs, dgrp_t old_groups, blk64_t used_before)
{
    struct ext2_super_block *sb = fs->super;
    blk64_t total_free = 0, used_after;
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        blk64_t first = ext2fs_group_first_block2(fs, g), last = ext2fs_group_last_block2(fs, g);
        blk64_t used;
        errcode_t ec = count_used(fs, first, last, &used);
        if (ec)
            return ec;
        blk64_t nfree = last - first + 1 - used;
        ext2fs_bg_free_blocks_count_set(fs, g, (__u32)nfree);
        total_free += nfree;
    }
    ext2fs_free_blocks_count_set(sb, total_free);
    sb->s_free_inodes_count += (fs->group_desc_count - old_groups) * sb->s_inodes_per_group;
    errcode_t ec = used_blocks(fs, &used_after);
    if (ec)
        return ec;
    if (sb->s_overhead_clusters)
        sb->s_overhead_clusters += (__u32)(used_after - used_before);
    for (dgrp_t g = 0; g < fs->group_desc_count; g++)
        ext2fs_group_desc_csum_set(fs, g);
    ext2fs_mark_super_dirty(fs);
    ext2fs_mark_bb_dirty(fs);
    ext2fs_mark_ib_dirty(fs);
    return 0;
}

static errcode_t grow(ext2_filsys fs, const fsresize_ext_geom *g, const fsresize_ext_layout *l,
                      uint64_t zeros_from)
{
    blk64_t used_before;
    errcode_t ec = used_blocks(fs, &used_before);
    if (!ec)
        ec = grow_tables(fs, l);
    if (ec)
        return ec;
    free_old_backup(fs, g);
    if ((ec = add_groups(fs, (dgrp_t)g->groups, zeros_from)) ||
        (ec = rebuild_resize_inode(fs)))
        return ec;
    return recount(fs, (dgrp_t)g->groups, used_before);
}

static int open_fs(struct ext_io *x, const char *what, ext2_filsys *fs, p2v_err *err)
{
    char name[64];
    ext_io_name(x, name, sizeof name);
    errcode_t ec = ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
                                (io_manager)ext_io_manager(), fs);
    if (ec && !x->failed)   /* features, checksums, damage: not a read error */
        return p2v_errf_at(err, -ENOTSUP, what, "libext2fs cannot open it for writing (%s)",
                           error_message(ec));
    return ec ? lib_error(x, ec, what, "opening the ext filesystem", err) : 0;
}

static int grow_opened(ext2_filsys fs, struct ext_io *x, uint64_t new_bytes,
                       uint64_t zeros_from, const char *what, fsresize_ext_result *res,
                       p2v_err *err)
{
    fsresize_ext_geom g;
    fsresize_ext_layout l;
    char why[200];
    int r = features_ok(fs->super, what, err);
    if (r == 0)
        r = shape_ok(fs, zeros_from, what, err);
    if (r < 0)
        return r;
    geom_of(fs, &g);
    if (fsresize_ext_plan(&g, new_bytes, &l, why, sizeof why) < 0)
        return p2v_errf_at(err, -ENOTSUP, what, "%s", why);
    *res = (fsresize_ext_result){ .old_blocks = g.blocks_count, .blocks = l.blocks,
                                  .old_groups = g.groups, .groups = l.groups,
                                  .block_size = g.block_size };
    if (l.blocks == g.blocks_count)
        return 0;
    /* runs in a tree, not a bit per block: memory follows the extents */
    fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
    errcode_t ec = ext2fs_read_bitmaps(fs);
    if (ec && !x->failed)   /* checksums, damage: nothing written yet */
        return p2v_errf_at(err, -ENOTSUP, what, "its bitmaps cannot be read (%s)",
                           error_message(ec));
    if (ec)
        return lib_error(x, ec, what, "reading the ext bitmaps", err);
    /* New metadata goes where the bitmap says blocks are free: it must not
     * say so of a block a file uses. */
    if (ext_check_inode_blocks(fs, why, sizeof why) != 0)
        return x->failed ? lib_error(x, EXT2_ET_SHORT_READ, what, "reading the inodes", err)
                         : p2v_errf_at(err, -EUCLEAN, what, "%s: it cannot be resized", why);
    if ((ec = grow(fs, &g, &l, zeros_from)))
        return lib_error(x, ec, what, "growing the ext filesystem", err);
    return 1;   /* changed: to be written */
}

int fsresize_ext_grow(blockdev *ov, uint64_t new_bytes, uint64_t zeros_from, const char *what,
                      fsresize_ext_result *res, p2v_err *err)
{
    struct ext_io x = { .src = { .bd = ov, .off = 0, .len = bd_size(ov) }, .writable = true };
    ext2_filsys fs = NULL;
    memset(res, 0, sizeof *res);
    ext_io_hook old_hook = ext_io_quiet();
    int r = open_fs(&x, what, &fs, err);
    if (r == 0)
        r = grow_opened(fs, &x, new_bytes, zeros_from, what, res, err);
    if (r == 1) {
        /* libext2fs writes only the primary unless told: the backups
         * must describe the grown filesystem too */
        fs->flags &= ~EXT2_FLAG_MASTER_SB_ONLY;
        errcode_t ec = ext2fs_close2(fs, 0);   /* writes bitmaps, superblocks, descriptors */
        fs = NULL;
        r = ec ? lib_error(&x, ec, what, "writing the grown ext filesystem", err) : 0;
    }
    if (fs)
        ext2fs_free(fs);
    set_com_err_hook(old_hook);
    return r;
}

/* Not grown, kept at its size (no layers): why, or the new space too small. */
static int keep_ext(const fsresize_info *fi, const char *why, fsresize_done *out)
{
    fsresize_done_free(out);
    out->fs_new = fi->fs_bytes;
    if (why)
        snprintf(out->action, sizeof out->action, "%s keeps its size; resize2fs in the guest "
                 "grows it to fill the partition (%s)", fsresize_name(fi), why);
    else /* not a job left for the guest either: resize2fs would find nothing to do */
        snprintf(out->action, sizeof out->action, "%s keeps its size (the new space is too "
                 "small for another block group; resize2fs would not grow it either)",
                 fsresize_name(fi));
    return 1;
}

/* Grown on an overlay of the source partition, zero-extended to the new
 * size; the copy reads that overlay (its used map names the new metadata).
 * Where p2v cannot grow it (features, not clean, no room for descriptors),
 * the overlay goes and the filesystem keeps its size with the reason. */
int fsresize_ext_fit(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                     const fsresize_info *fi, const char *what, fsresize_done *out,
                     p2v_err *err)
{
    fsresize_ext_result res;
    int r = bd_window_open(bd, off, old_bytes, new_bytes, &out->window, err);
    if (r == 0)
        r = bd_overlay_open(out->window, 0, 0, NULL, &out->overlay, err);
    if (r == 0)
        r = fsresize_ext_grow(out->overlay, new_bytes, old_bytes, what, &res, err);
    if (r == -ENOTSUP)
        return keep_ext(fi, p2v_err_text(err), out);
    if (r < 0)
        return r;
    if (res.blocks == res.old_blocks)
        return keep_ext(fi, NULL, out);
    char h[32];
    out->fs_new = res.blocks * res.block_size;
    snprintf(out->action, sizeof out->action, "%s grown to %s (%llu blocks of %u bytes, %llu -> "
             "%llu block groups)", fsresize_name(fi), size_human(out->fs_new, h, sizeof h),
             (unsigned long long)res.blocks, res.block_size, (unsigned long long)res.old_groups,
             (unsigned long long)res.groups);
    return 0;
}
