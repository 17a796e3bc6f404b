/* The new shape of a grown ext2/3/4 filesystem, from its superblock numbers
 * alone: how many blocks and groups it gets, how many group descriptor
 * blocks that needs and whether the filesystem has room for them, where
 * sparse_super2 keeps its backups. No I/O, so it is unit-tested directly. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/resize.h"

#define EXT_DESC_MIN 32u
#define EXT_MAX_GROUPS_32 0xFFFFFFFFull
/* A last group shorter than its own metadata plus this many blocks is left
 * out (resize2fs does the same): it would hold almost no data. */
#define EXT_LAST_GROUP_SLACK 50u

static bool is_power_of(uint64_t g, uint64_t base)
{
    while (g > 1 && g % base == 0)
        g /= base;
    return g == 1;
}

bool fsresize_ext_group_has_super(const fsresize_ext_geom *g, uint64_t group, uint64_t ngroups)
{
    if (group == 0)
        return true;
    if (g->sparse_super2) {
        /* the two backups of sparse_super2 */
        return group == g->backup_bgs[0] || group == g->backup_bgs[1];
    }
    if (!g->sparse_super || group == 1)
        return true;
    (void)ngroups;
    if (!(group & 1))
        return false;
    return is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7);
}

static uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static uint64_t groups_of(const fsresize_ext_geom *g, uint64_t blocks)
{
    return div_up(blocks - g->first_data_block, g->blocks_per_group);
}

static uint64_t desc_blocks_of(const fsresize_ext_geom *g, uint64_t groups)
{
    uint32_t per_block = g->block_size / (g->desc_size ? g->desc_size : EXT_DESC_MIN);
    return div_up(groups, per_block);
}

static int why(char *buf, size_t len, const char *fmt, unsigned long long a,
               unsigned long long b)
{
    snprintf(buf, len, fmt, a, b);
    return -ENOTSUP;
}

/* sparse_super2 keeps a backup in group 1 and one in the last group (as
 * resize2fs moves them when the filesystem grows). */
static void place_backups2(const fsresize_ext_geom *g, uint64_t groups, fsresize_ext_layout *out)
{
    out->backup_bgs[0] = g->backup_bgs[0];
    out->backup_bgs[1] = g->backup_bgs[1];
    if (!g->sparse_super2 || groups <= g->groups)
        return;
    if (g->groups == 1)
        out->backup_bgs[0] = 1;
    if ((g->groups < 3 && groups > 2) || g->backup_bgs[1])
        out->backup_bgs[1] = (uint32_t)(groups - 1);
}

static bool geom_sane(const fsresize_ext_geom *g)
{
    return g->block_size >= 1024 && g->block_size <= 65536 && g->blocks_per_group &&
           g->inodes_per_group && g->blocks_count > g->first_data_block && g->groups &&
           g->groups == groups_of(g, g->blocks_count) &&
           g->desc_blocks == desc_blocks_of(g, g->groups);
}

/* The blocks a last group needs before it holds data: bitmaps, inode
 * table, and a superblock backup with the descriptors where it has one. */
static uint64_t last_group_overhead(const fsresize_ext_geom *g, uint64_t groups,
                                    const fsresize_ext_layout *l)
{
    fsresize_ext_geom g2 = *g;
    g2.backup_bgs[0] = l->backup_bgs[0];
    g2.backup_bgs[1] = l->backup_bgs[1];
    uint64_t o = 2 + g->inode_blocks_per_group;
    if (fsresize_ext_group_has_super(&g2, groups - 1, groups))
        o += 1 + desc_blocks_of(g, groups) + g->reserved_gdt_blocks;
    return o;
}

int fsresize_ext_plan(const fsresize_ext_geom *g, uint64_t new_bytes, fsresize_ext_layout *out,
                      char *reason, size_t reason_len)
{
    memset(out, 0, sizeof *out);
    if (!geom_sane(g))
        return why(reason, reason_len, "its superblock has an unusual shape (%llu blocks, "
                   "%llu groups)", g->blocks_count, g->groups);
    uint64_t blocks = new_bytes / g->block_size;
    if (!g->is_64bit && blocks > 0xFFFFFFFFull)
        return why(reason, reason_len, "%llu blocks do not fit in 32 bits (no 64bit feature; "
                   "at most %llu)", blocks, 0xFFFFFFFFull);
    for (;;) {
        if (blocks <= g->blocks_count) {
            out->blocks = g->blocks_count;  /* not even one more block: nothing to do */
            out->groups = g->groups;
            out->desc_blocks = g->desc_blocks;
            out->reserved_gdt_blocks = g->reserved_gdt_blocks;
            place_backups2(g, g->groups, out);
            return 0;
        }
        uint64_t groups = groups_of(g, blocks);
        uint64_t rem = (blocks - g->first_data_block) % g->blocks_per_group;
        place_backups2(g, groups, out);
        if (groups > g->groups && rem && rem < last_group_overhead(g, groups, out) +
                                                  EXT_LAST_GROUP_SLACK) {
            blocks -= rem;
            continue;
        }
        out->blocks = blocks;
        out->groups = groups;
        break;
    }
    if ((uint64_t)out->groups * g->inodes_per_group > 0xFFFFFFFFull)
        return why(reason, reason_len, "%llu groups would hold more than 2^32 inodes (%llu per "
                   "group)", out->groups, g->inodes_per_group);
    out->desc_blocks = desc_blocks_of(g, out->groups);
    out->reserved_gdt_blocks = g->reserved_gdt_blocks;
    if (g->meta_bg || out->desc_blocks <= g->desc_blocks)
        return 0;
    uint64_t more = out->desc_blocks - g->desc_blocks;
    if (more > g->reserved_gdt_blocks)
        return why(reason, reason_len, "it needs %llu more group descriptor blocks and has %llu "
                   "reserved for growth (no meta_bg)", more, g->reserved_gdt_blocks);
    out->reserved_gdt_blocks = g->reserved_gdt_blocks - (uint32_t)more;
    return 0;
}
