/* Longer than 600 lines on purpose: the used map, the files-at lookup and the bitmap cross-check
 * share one open filesystem and its iteration callbacks. */
/* ext2/3/4 used-block map through libext2fs, reading through p2v's own
 * blockdev (so a qcow2 source works like a raw disk) with p2v's I/O manager
 * (ext_io.c), read-only here. Used: the boot area before the first data block and every
 * block set in the block bitmaps (libext2fs computes the BLOCK_UNINIT groups;
 * the bitmaps cover superblocks, group descriptors, inode tables and the
 * internal journal). Cross-checks: group descriptor checksums, the bitmap's
 * used count against the group descriptors' free counts, the journal's
 * blocks against the bitmap, and every block of every inode in use. A
 * filesystem whose state records errors is never mapped. Any doubt: every
 * sector is copied. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
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

#include "fs/driver.h"
#include "fs/ext_io.h"
#include "fs/fsmap_impl.h"
#include "fs/resize_impl.h"
#include "util/array.h"
#include "util/endian.h"

static const char *ext_flavour(const struct ext2_super_block *sb)
{
    if ((sb->s_feature_incompat & (EXT3_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_64BIT |
                                   EXT4_FEATURE_INCOMPAT_FLEX_BG)) ||
        (sb->s_feature_ro_compat &
         (EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_GDT_CSUM |
          EXT4_FEATURE_RO_COMPAT_DIR_NLINK | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |
          EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)))
        return "ext4";
    if (sb->s_feature_compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL)
        return "ext3";
    return "ext2";
}

struct journal_check {
    ext2fs_block_bitmap bmap;
    blk64_t missing; /* first journal block not marked in use, or 0 */
};

static int journal_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
                         int ref_offset, void *priv)
{
    struct journal_check *jc = priv;
    if (*blocknr && !ext2fs_test_block_bitmap2(jc->bmap, *blocknr)) {
        jc->missing = *blocknr;
        return BLOCK_ABORT;
    }
    return 0;
}

/* Add every run of set bits in the block bitmap; count used blocks. */
static int ext_add_runs(ext2_filsys fs, const fsmap_src *s, fsmap *out, uint64_t *used,
                        p2v_err *err)
{
    ext2fs_block_bitmap bm = fs->block_map;
    blk64_t first = fs->super->s_first_data_block, last = ext2fs_blocks_count(fs->super) - 1;
    blk64_t pos = first, a, z;
    uint64_t bs = fs->blocksize, n = 0;
    while (pos <= last) {
        if (ext2fs_find_first_set_block_bitmap2(bm, pos, last, &a))
            break; /* ENOENT: nothing more in use */
        if (ext2fs_find_first_zero_block_bitmap2(bm, a, last, &z))
            z = last + 1;
        int r = fsmap_add(out, s, (uint64_t)a * bs, (uint64_t)(z - a) * bs, err);
        if (r < 0)
            return r;
        n += z - a;
        pos = z;
    }
    *used = n;
    return 0;
}

/* The steps below return 0 to go on, EXT_STOP when they decided (a full
 * copy with a notice, or a finished map), or a negative error. */
#define EXT_STOP 1

/* Reject what libext2fs would misread: sizes past the partition, and
 * superblock shapes mke2fs never makes (a hostile first_data_block
 * overflows libext2fs's buffers when it reads the bitmaps). */
static int ext_check_shape(ext2_filsys fs, const fsmap_src *s, fsmap *out)
{
    struct ext2_super_block *sb = fs->super;
    uint64_t fs_bytes;
    if (__builtin_mul_overflow(ext2fs_blocks_count(sb), (uint64_t)fs->blocksize, &fs_bytes) ||
        fs_bytes > s->len) {
        fsmap_set_full(out,
                       "%s filesystem (%llu blocks of %u bytes) is larger than its partition "
                       "(%llu bytes)",
                       out->fstype, (unsigned long long)ext2fs_blocks_count(sb), fs->blocksize,
                       (unsigned long long)s->len);
        return EXT_STOP;
    }
    uint32_t bits_per_block = fs->blocksize * 8;
    bool first_ok = sb->s_first_data_block == 0 ||
                    (sb->s_first_data_block == 1 && fs->blocksize == 1024 &&
                     fs->cluster_ratio_bits == 0);
    if (!first_ok || sb->s_clusters_per_group == 0 || sb->s_clusters_per_group % 8 ||
        sb->s_clusters_per_group > bits_per_block || sb->s_inodes_per_group == 0 ||
        sb->s_inodes_per_group % 8 || sb->s_inodes_per_group > bits_per_block ||
        ext2fs_blocks_count(sb) <= sb->s_first_data_block) {
        fsmap_set_full(out,
                       "%s superblock has an unusual shape (first data block %u, %u clusters "
                       "and %u inodes per group, %u-byte blocks)",
                       out->fstype, sb->s_first_data_block, sb->s_clusters_per_group,
                       sb->s_inodes_per_group, fs->blocksize);
        return EXT_STOP;
    }
    return 0;
}

/* The fields of a superblock that every backup repeats (the counters and
 * times are only kept current in the primary). */
static const struct {
    uint16_t off, len;
    const char *name;
} ext_sb_fixed[] = {
    { 0, 4, "inode count" },         { 4, 4, "block count" },
    { 20, 4, "first data block" },   { 24, 4, "block size" },
    { 32, 4, "blocks per group" },   { 40, 4, "inodes per group" },
    { 56, 2, "magic" },              { 76, 4, "revision" },
    { 92, 4, "compatible features" }, { 100, 4, "read-only compatible features" },
    { 104, 16, "UUID" },             { 0x150, 4, "block count (high)" },
};

/* The primary superblock against its first backup (group 1, or the first
 * of sparse_super2's two): a disagreement in the fixed fields means one is
 * damaged. 0, EXT_STOP (map full, notice names the field) or a read error. */
static int ext_check_backup(ext2_filsys fs, const fsmap_src *s, fsmap *out, p2v_err *err)
{
    struct ext2_super_block *sb = fs->super;
    uint8_t prim[1024], back[1024];
    dgrp_t g = 1;
    if (ext2fs_has_feature_sparse_super2(sb))
        g = sb->s_backup_bgs[0];
    if (fs->group_desc_count < 2 || g == 0 || g >= fs->group_desc_count)
        return 0;
    uint64_t blk = ext2fs_group_first_block2(fs, g), off;
    if (__builtin_mul_overflow(blk, (uint64_t)fs->blocksize, &off) || off + 1024 > s->len)
        return 0;
    int r = fsmap_read(s, prim, sizeof prim, 1024, err);
    if (r == 0)
        r = fsmap_read(s, back, sizeof back, off, err);
    if (r < 0)
        return r;
    uint32_t inc_p = get_le32(prim + 96) & ~(uint32_t)EXT3_FEATURE_INCOMPAT_RECOVER;
    uint32_t inc_b = get_le32(back + 96) & ~(uint32_t)EXT3_FEATURE_INCOMPAT_RECOVER;
    const char *field = inc_p != inc_b ? "incompatible features" : NULL;
    for (size_t i = 0; !field && i < sizeof ext_sb_fixed / sizeof ext_sb_fixed[0]; i++)
        if (memcmp(prim + ext_sb_fixed[i].off, back + ext_sb_fixed[i].off, ext_sb_fixed[i].len))
            field = ext_sb_fixed[i].name;
    if (!field)
        return 0;
    fsmap_set_full(out, "%s primary superblock and its backup in group %u disagree on the %s",
                   out->fstype, g, field);
    return EXT_STOP;
}

/* Needs recovery (refused unless allowed), errors recorded, bad group
 * descriptor checksums: the bitmaps cannot be trusted. */
static int ext_check_state(ext2_filsys fs, const fsmap_src *s, const fsmap_opts *o, fsmap *out,
                           p2v_err *err)
{
    struct ext2_super_block *sb = fs->super;
    bool recover = sb->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
    if (recover && !o->allow_dirty)
        return fsmap_errf(err, -EBUSY, bd_path(s->bd), s->off,
                          "%s filesystem needs journal recovery (it was not unmounted cleanly, "
                          "or is mounted): unmount it or run e2fsck on it first, or pass "
                          "--allow-dirty to copy every sector as it is", out->fstype);
    out->dirty = recover;
    if (sb->s_state & EXT2_ERROR_FS) {
        /* The kernel (or e2fsck) recorded errors: the bitmaps may be wrong
         * in either direction, so no block can be left out. */
        fsmap_set_full(out,
                       "%s filesystem has errors recorded (state \"errors\"), so its block "
                       "bitmaps cannot be trusted; run e2fsck on it in the guest",
                       out->fstype);
        return EXT_STOP;
    }
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        if (ext2fs_has_group_desc_csum(fs) && !ext2fs_group_desc_csum_verify(fs, g)) {
            fsmap_set_full(out, "%s group descriptor %u has a bad checksum", out->fstype, g);
            return EXT_STOP;
        }
    }
    return 0;
}

/* Read the block bitmaps and hand the used blocks over as runs; the count
 * must agree with the group descriptors' free counts. */
static int ext_map_blocks(ext2_filsys fs, struct ext_io *b, const fsmap_src *s, fsmap *out,
                          p2v_err *err)
{
    struct ext2_super_block *sb = fs->super;
    /* A tree of runs, not one bit per block: memory follows the number of
     * extents rather than the size of the filesystem (64 MiB per 2 TiB). */
    fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
    errcode_t e = ext2fs_read_block_bitmap(fs);
    if (e) {
        if (b->failed) {
            *err = b->err;
            return -EIO;
        }
        fsmap_set_full(out, "%s block bitmaps could not be read (%s)", out->fstype,
                       error_message(e));
        return EXT_STOP;
    }
    uint64_t used = 0, expect_free = 0;
    for (dgrp_t g = 0; g < fs->group_desc_count; g++)
        expect_free += ext2fs_bg_free_blocks_count(fs, g);
    expect_free *= (uint64_t)EXT2FS_CLUSTER_RATIO(fs);
    /* Boot area and superblock before the first data block (1 KiB blocks). */
    int r = fsmap_add(out, s, 0, (uint64_t)(sb->s_first_data_block + 1) * fs->blocksize, err);
    if (r < 0 || (r = ext_add_runs(fs, s, out, &used, err)) < 0)
        return r;
    uint64_t bits = ext2fs_blocks_count(sb) - sb->s_first_data_block;
    if (expect_free > bits || used != bits - expect_free) {
        fsmap_set_full(out,
                       "%s block bitmaps count %llu blocks in use but the group descriptors say "
                       "%llu",
                       out->fstype, (unsigned long long)used,
                       (unsigned long long)(expect_free > bits ? 0 : bits - expect_free));
        return EXT_STOP;
    }
    out->used_bytes = (used + sb->s_first_data_block) * (uint64_t)fs->blocksize;
    return 0;
}

/* Every block of the journal must be marked in use. */
static int ext_check_journal(ext2_filsys fs, struct ext_io *b, fsmap *out, p2v_err *err)
{
    struct ext2_super_block *sb = fs->super;
    if (!(sb->s_feature_compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL) || !sb->s_journal_inum)
        return 0;
    struct journal_check jc = { .bmap = fs->block_map };
    errcode_t e = ext2fs_block_iterate3(fs, sb->s_journal_inum, BLOCK_FLAG_READ_ONLY, NULL,
                                        journal_block, &jc);
    if (!e && !jc.missing)
        return 0;
    if (b->failed) {
        *err = b->err;
        return -EIO;
    }
    if (e)
        fsmap_set_full(out, "%s journal inode %u could not be walked (%s)", out->fstype,
                       sb->s_journal_inum, error_message(e));
    else
        fsmap_set_full(out, "%s journal block %llu is not marked in use", out->fstype,
                       (unsigned long long)jc.missing);
    return EXT_STOP;
}

/* ---- block bitmap against the inodes ---- */

struct inode_blocks {
    ext2fs_block_bitmap bm;
    blk64_t missing;    /* first block in use that the bitmap marks free */
    bool miss;          /* missing is set */
    uint64_t seen;      /* blocks named so far */
    uint64_t budget;    /* more than this: block maps that share or loop */
    bool over;
};

/* Is every block of [first, first + n) marked in use? Else note the first.
 * False too once the inodes have named more blocks than a sound
 * filesystem can (each block once, plus slack): hostile block maps must
 * not make the check run for ever. */
static bool blocks_marked(struct inode_blocks *ib, blk64_t first, blk64_t n)
{
    blk64_t zero;
    if (__builtin_add_overflow(ib->seen, n, &ib->seen) || ib->seen > ib->budget) {
        ib->over = true;
        return false;
    }
    if (n == 0)
        return true;
    errcode_t e = ext2fs_find_first_zero_block_bitmap2(ib->bm, first, first + n - 1, &zero);
    if (e == ENOENT)
        return true;    /* no free bit in the range */
    ib->missing = e ? first : zero;    /* else the range leaves the filesystem */
    ib->miss = true;
    return false;
}

static int inode_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
                       int ref_offset, void *priv)
{
    return *blocknr && !blocks_marked(priv, *blocknr, 1) ? BLOCK_ABORT : 0;
}

/* An extent-mapped inode: each leaf extent and each tree block, one range
 * test each (not one per block). */
static errcode_t extent_blocks(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
                               struct inode_blocks *ib)
{
    ext2_extent_handle_t h;
    struct ext2fs_extent ex;
    errcode_t e = ext2fs_extent_open2(fs, ino, inode, &h);
    if (e)
        return e;
    for (e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e && !ib->miss && !ib->over;
         e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
        if (ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
            continue;
        if (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)
            blocks_marked(ib, ex.e_pblk, ex.e_len);
        else
            blocks_marked(ib, ex.e_pblk, 1);    /* the next level's tree block */
    }
    ext2fs_extent_free(h);
    return e == EXT2_ET_EXTENT_NO_NEXT ? 0 : e;
}

static errcode_t inode_blocks_of(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
                                 struct inode_blocks *ib)
{
    blk64_t acl = ext2fs_file_acl_block(fs, inode);
    if (acl && !ext2fs_test_block_bitmap2(ib->bm, acl)) {  /* shared: not counted */
        ib->missing = acl;
        ib->miss = true;
        return 0;
    }
    if (!ext2fs_inode_has_valid_blocks2(fs, inode))
        return 0;   /* inline data, fast symlink, device */
    if (inode->i_flags & EXT4_EXTENTS_FL)
        return extent_blocks(fs, ino, inode, ib);
    return ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, inode_block, ib);
}

int ext_check_inode_blocks(ext2_filsys fs, char *why, size_t cap)
{
    struct inode_blocks ib = { .bm = fs->block_map,
                               .budget = 2 * ext2fs_blocks_count(fs->super) + 65536 };
    ext2_inode_scan scan;
    ext2_ino_t ino = 0;
    struct ext2_inode inode;
    const char *flavour = ext_flavour(fs->super);
    errcode_t e = ext2fs_open_inode_scan(fs, 0, &scan);
    bool opened = !e;
    while (!e && !ib.miss && !ib.over) {
        e = ext2fs_get_next_inode(scan, &ino, &inode);
        if (e || !ino)
            break;
        if (inode.i_links_count && !inode.i_dtime)
            e = inode_blocks_of(fs, ino, &inode, &ib);
    }
    if (opened)
        ext2fs_close_inode_scan(scan);
    if (ib.over) {
        snprintf(why, cap, "%s inodes name more blocks than the filesystem holds (block maps "
                 "that share or loop, up to inode %u); run e2fsck -f", flavour, ino);
        return 1;
    }
    if (ib.miss) {
        snprintf(why, cap, "%s block bitmap says block %llu is free but inode %u uses it; run "
                 "e2fsck -f", flavour, (unsigned long long)ib.missing, ino);
        return 1;
    }
    if (e) {
        snprintf(why, cap, "%s inode %u cannot be checked against the block bitmap (%s); run "
                 "e2fsck -f", flavour, ino, error_message(e));
        return 2;
    }
    return 0;
}

/* Every block an inode in use names must be marked in use: a bitmap that
 * lost a file's blocks (a crash, a broken tool; e2fsck repairs it) would
 * leave the file out of the copy. EXT_STOP (map full) on a mismatch. */
static int ext_check_inodes(ext2_filsys fs, struct ext_io *b, fsmap *out, p2v_err *err)
{
    char why[sizeof out->notice];
    int failed = b->failed;
    int r = ext_check_inode_blocks(fs, why, sizeof why);
    if (r == 2 && b->failed && !failed) {
        /* A bad sector in an inode table or extent block ends the check
         * there; the map stands (the used copy reads those blocks too and
         * meets the bad sector, where --bad-sectors decides). */
        b->failed = 0;
        return 0;
    }
    if (r == 0)
        return 0;
    if (b->failed) {
        *err = b->err;
        return -EIO;
    }
    fsmap_set_full(out, "%s", why);
    return EXT_STOP;
}

/* Open the filesystem b reads read-only through p2v's I/O manager, with
 * libext2fs's own messages silenced (*old_hook: the hook to put back): 0, or
 * libext2fs's error with *fs NULL (b->failed when a read failed). */
static errcode_t ext_open_ro(struct ext_io *b, ext2_filsys *fs, ext_io_hook *old_hook)
{
    char name[64];
    *old_hook = ext_io_quiet();
    ext_io_name(b, name, sizeof name);
    errcode_t e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, ext_io_manager(), fs);
    if (e)
        *fs = NULL;
    return e;
}

static int fsmap_build_ext(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err)
{
    struct ext_io b = { .src = *s };
    ext2_filsys fs = NULL;
    ext_io_hook old_hook;
    int r = 0;

    errcode_t e = ext_open_ro(&b, &fs, &old_hook);
    if (e) {
        if (b.failed) {
            *err = b.err;
            r = -EIO;
        } else {
            fsmap_set_full(out, "ext superblock could not be used (%s)", error_message(e));
        }
        goto out;
    }
    snprintf(out->fstype, sizeof out->fstype, "%s", ext_flavour(fs->super));
    if ((r = ext_check_shape(fs, s, out)) != 0 || (r = ext_check_state(fs, s, o, out, err)) != 0 ||
        (r = ext_check_backup(fs, s, out, err)) != 0 ||
        (r = ext_map_blocks(fs, &b, s, out, err)) != 0 ||
        (r = ext_check_journal(fs, &b, out, err)) != 0 ||
        (r = ext_check_inodes(fs, &b, out, err)) != 0)
        goto out;
    if (out->dirty) {
        /* Replaying the journal may allocate blocks the bitmaps still show
         * free; only a full copy keeps what the replay needs. */
        fsmap_set_full(out, "%s filesystem needs journal recovery (--allow-dirty)", out->fstype);
    }
out:
    if (fs)
        ext2fs_close_free(&fs);
    set_com_err_hook(old_hook);
    return r < 0 ? r : 0;
}

/* ---- which files lie in given blocks ---- */

struct ext_hits {
    const extent_list *bad;
    uint64_t blocksize;
    bool hit;
};

static int ext_block_hit(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
                         int ref_offset, void *priv)
{
    struct ext_hits *h = priv;
    if (fs_extents_touch(h->bad, *blocknr * h->blocksize, h->blocksize)) {
        h->hit = true;
        return BLOCK_ABORT;
    }
    return 0;
}

/* Inode numbers in increasing order (the scan's order). */
struct ino_list {
    ext2_ino_t *v;
    size_t count, cap;
};

static int ino_list_add(struct ino_list *l, ext2_ino_t ino)
{
    ext2_ino_t *v = array_room(l->v, &l->cap, l->count, sizeof *v, 64);
    if (!v)
        return -ENOMEM;
    l->v = v;
    l->v[l->count++] = ino;
    return 0;
}

static bool ino_list_has(const struct ino_list *l, ext2_ino_t ino)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid] == ino)
            return true;
        if (l->v[mid] < ino)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

struct ext_walk {
    ext2_filsys fs;
    const struct ino_list *hit;
    fs_names *out;
    ext2_ino_t dir;
    int rc;
};

/* Each directory entry naming a damaged inode: its path. */
static int ext_dirent_hit(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
                          int blocksize, char *buf,
                          void *priv)
{
    struct ext_walk *w = priv;
    int nlen = ext2fs_dirent_name_len(d);
    if (!d->inode || !ino_list_has(w->hit, d->inode) || (nlen == 1 && d->name[0] == '.') ||
        (nlen == 2 && !memcmp(d->name, "..", 2)))
        return 0;
    char *path = NULL;
    if (ext2fs_get_pathname(w->fs, w->dir, d->inode, &path) == 0 && path) {
        if (fs_names_add(w->out, path) < 0)
            w->rc = -ENOMEM;
        ext2fs_free_mem(&path);
    }
    return w->rc ? DIRENT_ABORT : 0;
}

/* The group metadata lying in bad: bitmaps and inode tables, named. */
static int ext_metadata_hits(ext2_filsys fs, const extent_list *bad, fs_names *out)
{
    uint64_t bs = fs->blocksize, itable = (uint64_t)fs->inode_blocks_per_group * bs;
    char name[96];
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        const char *what = NULL;
        if (fs_extents_touch(bad, ext2fs_block_bitmap_loc(fs, g) * bs, bs))
            what = "block bitmap";
        else if (fs_extents_touch(bad, ext2fs_inode_bitmap_loc(fs, g) * bs, bs))
            what = "inode bitmap";
        else if (fs_extents_touch(bad, ext2fs_inode_table_loc(fs, g) * bs, itable))
            what = "inode table";
        if (what) {
            snprintf(name, sizeof name, "(%s of group %u)", what, g);
            if (fs_names_add(out, name) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* In-use inodes with a block (data, index or indirect) in bad; directories
 * into dirs. */
static int ext_scan_inodes(ext2_filsys fs, const extent_list *bad, struct ino_list *hit,
                           struct ino_list *dirs)
{
    ext2_inode_scan scan;
    ext2_ino_t ino;
    struct ext2_inode inode;
    struct ext_hits h = { .bad = bad, .blocksize = fs->blocksize };
    int rc = 0;
    if (ext2fs_open_inode_scan(fs, 0, &scan))
        return -EIO;
    while (rc == 0) {
        errcode_t e = ext2fs_get_next_inode(scan, &ino, &inode);
        if (e == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
            continue;
        if (e) {
            rc = -EIO;
            break;
        }
        if (!ino)
            break;
        if (!inode.i_links_count || inode.i_dtime)
            continue;
        if (LINUX_S_ISDIR(inode.i_mode) && ino_list_add(dirs, ino) < 0)
            rc = -ENOMEM;
        h.hit = false;
        if (ext2fs_inode_has_valid_blocks2(fs, &inode))
            ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, ext_block_hit, &h);
        if (h.hit && ino_list_add(hit, ino) < 0)
            rc = -ENOMEM;
    }
    ext2fs_close_inode_scan(scan);
    return rc;
}

static int fs_files_ext(const fsmap_src *s, const extent_list *bad, fs_names *out, p2v_err *err)
{
    struct ext_io b = { .src = *s };
    struct ino_list hit = { 0 }, dirs = { 0 };
    ext2_filsys fs = NULL;
    ext_io_hook old_hook;
    int rc = 0;

    errcode_t e = ext_open_ro(&b, &fs, &old_hook);
    if (e) {
        rc = b.failed ? -EIO : p2v_errf(err, -EINVAL, "ext superblock could not be used (%s)",
                                        error_message(e));
        goto out;
    }
    if ((rc = ext_metadata_hits(fs, bad, out)) < 0 ||
        (rc = ext_scan_inodes(fs, bad, &hit, &dirs)) < 0)
        goto out;
    for (size_t i = 0; i < dirs.count && rc == 0 && hit.count; i++) {
        struct ext_walk w = { .fs = fs, .hit = &hit, .out = out, .dir = dirs.v[i] };
        ext2fs_dir_iterate2(fs, dirs.v[i], 0, NULL, ext_dirent_hit, &w);
        rc = w.rc;
        if (rc == 0 && ino_list_has(&hit, dirs.v[i])) { /* the directory's own blocks */
            char *path = NULL;
            if (ext2fs_get_pathname(fs, dirs.v[i], 0, &path) == 0 && path) {
                rc = fs_names_add(out, path);
                ext2fs_free_mem(&path);
            }
        }
    }
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "out of memory");
    else if (rc < 0 && !b.failed)
        p2v_errf(err, rc, "%s inodes could not be scanned", ext_flavour(fs->super));
out:
    if (b.failed && rc < 0)
        *err = b.err;
    free(hit.v);
    free(dirs.v);
    if (fs)
        ext2fs_close_free(&fs);
    set_com_err_hook(old_hook);
    return rc;
}

/* The superblock magic 0xEF53. */
static bool ext_probe(const uint8_t *b, size_t n)
{
    return n >= 1024 + 58 && get_le16(b + 1024 + 56) == 0xEF53;
}

const struct fs_driver fs_driver_ext = {
    .name = "ext2",
    .kind = FS_EXT,
    .blkid_type = "ext", /* ext2, ext3, ext4, ext4dev */
    .blkid_prefix = true,
    .probe = ext_probe,
    .map = fsmap_build_ext,
    .files_at = fs_files_ext,
    .resize_check = fsresize_ext_check,
    .resize_apply = fsresize_ext_fit,
};
