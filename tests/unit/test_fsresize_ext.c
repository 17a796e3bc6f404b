/* ext2/3/4 grow: the layout computation (groups, descriptor blocks, the
 * reserved ones taken, a too-small last group left out, sparse_super and
 * sparse_super2 backups, the refusals) on superblock numbers alone, and a
 * filesystem made by mkfs.ext4 grown on an overlay of a memory disk: the
 * source bytes stay the same, e2fsck -fn is clean on the result and its
 * block count is the new size; what cannot be grown is refused with the
 * reason and nothing written. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "blockdev/overlay.h"
#include "blockdev/window.h"
#include "fs/resize.h"
#include "sh_testlib.h"
#include "t.h"

#define MiB (1024u * 1024u)

/* mkfs.ext4 -b 4096 on 128 MiB: one group, 64-byte descriptors. */
static fsresize_ext_geom ext4_128m(void)
{
    return (fsresize_ext_geom){ .block_size = 4096, .first_data_block = 0,
                                .blocks_per_group = 32768, .inodes_per_group = 32768,
                                .inode_blocks_per_group = 2048, .desc_size = 64,
                                .reserved_gdt_blocks = 63, .blocks_count = 32768, .groups = 1,
                                .desc_blocks = 1, .is_64bit = true, .sparse_super = true };
}

/* mkfs.ext3 -b 1024 on 64 MiB: 8 groups of 8192 blocks from block 1,
 * 32-byte descriptors (32 per block). */
static fsresize_ext_geom ext3_64m(void)
{
    return (fsresize_ext_geom){ .block_size = 1024, .first_data_block = 1,
                                .blocks_per_group = 8192, .inodes_per_group = 2048,
                                .inode_blocks_per_group = 256, .desc_size = 32,
                                .reserved_gdt_blocks = 256, .blocks_count = 65536, .groups = 8,
                                .desc_blocks = 1, .sparse_super = true };
}

static void test_has_super(void)
{
    fsresize_ext_geom g = ext3_64m();
    const uint64_t yes[] = { 0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343 };
    const uint64_t no[] = { 2, 4, 6, 8, 10, 15, 21, 35, 45, 50, 75, 99 };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        CHECK(fsresize_ext_group_has_super(&g, yes[i], 1000));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECK(!fsresize_ext_group_has_super(&g, no[i], 1000));
    g.sparse_super = false;
    CHECK(fsresize_ext_group_has_super(&g, 6, 1000));
    g.sparse_super2 = true;
    g.backup_bgs[0] = 1;
    g.backup_bgs[1] = 7;
    CHECK(fsresize_ext_group_has_super(&g, 0, 8));
    CHECK(fsresize_ext_group_has_super(&g, 7, 8));
    CHECK(!fsresize_ext_group_has_super(&g, 3, 8));
}

static void test_plan(void)
{
    fsresize_ext_geom g = ext4_128m();
    fsresize_ext_layout l;
    char why[200];
    CHECK(fsresize_ext_plan(&g, 512ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.blocks, 131072);
    CHECK_EQ_U64(l.groups, 4);
    CHECK_EQ_U64(l.desc_blocks, 1);
    CHECK_EQ_U64(l.reserved_gdt_blocks, 63);
    /* a partial last group: blocks up to the byte, rounded down */
    CHECK(fsresize_ext_plan(&g, 300ull * MiB + 4095, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.blocks, 76800);
    CHECK_EQ_U64(l.groups, 3);
    /* a last group of 1 MiB (256 blocks) cannot hold its 2050 blocks of metadata */
    CHECK(fsresize_ext_plan(&g, 257ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.blocks, 65536);
    CHECK_EQ_U64(l.groups, 2);
    /* not one more block: nothing to do */
    CHECK(fsresize_ext_plan(&g, 128ull * MiB + 100, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.blocks, 32768);
    /* 64 descriptors per block: 65 groups take one reserved block */
    CHECK(fsresize_ext_plan(&g, 65ull * 128 * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.groups, 65);
    CHECK_EQ_U64(l.desc_blocks, 2);
    CHECK_EQ_U64(l.reserved_gdt_blocks, 62);

    g = ext3_64m();     /* 1 KiB blocks, first data block 1 */
    CHECK(fsresize_ext_plan(&g, 256ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.blocks, 262144);
    CHECK_EQ_U64(l.groups, 32);  /* (262144 - 1) / 8192, rounded up */
    CHECK_EQ_U64(l.desc_blocks, 1);
    CHECK(fsresize_ext_plan(&g, 400ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.groups, 50);
    CHECK_EQ_U64(l.desc_blocks, 2);
    CHECK_EQ_U64(l.reserved_gdt_blocks, 255);
}

static void test_refusals(void)
{
    fsresize_ext_geom g = ext3_64m();
    fsresize_ext_layout l;
    char why[200];
    g.reserved_gdt_blocks = 0;
    CHECK(fsresize_ext_plan(&g, 200ull * MiB, &l, why, sizeof why) == 0);   /* 25 groups fit */
    CHECK(fsresize_ext_plan(&g, 400ull * MiB, &l, why, sizeof why) == -ENOTSUP);
    CHECK(strstr(why, "needs 1 more group descriptor blocks and has 0 reserved") != NULL);
    g.meta_bg = true;   /* meta_bg puts them in the new groups */
    CHECK(fsresize_ext_plan(&g, 400ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.desc_blocks, 2);

    g = ext4_128m();
    g.is_64bit = false;
    CHECK(fsresize_ext_plan(&g, 17ull << 40, &l, why, sizeof why) == -ENOTSUP);
    CHECK(strstr(why, "32 bits") != NULL);
    g = ext4_128m();
    g.groups = 2;       /* does not match the block count */
    CHECK(fsresize_ext_plan(&g, 512ull * MiB, &l, why, sizeof why) == -ENOTSUP);
    g = ext4_128m();
    g.inodes_per_group = 65536 * 2;
    CHECK(fsresize_ext_plan(&g, 65536ull * 128 * MiB, &l, why, sizeof why) == -ENOTSUP);
}

static void test_sparse_super2(void)
{
    fsresize_ext_geom g = ext3_64m();
    fsresize_ext_layout l;
    char why[200];
    g.sparse_super2 = true;
    g.backup_bgs[0] = 1;
    g.backup_bgs[1] = 7;
    CHECK(fsresize_ext_plan(&g, 256ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.backup_bgs[0], 1);
    CHECK_EQ_U64(l.backup_bgs[1], 31);
    g.groups = 1;       /* one group: the backups appear with the new groups */
    g.blocks_count = 8193;
    g.backup_bgs[0] = g.backup_bgs[1] = 0;
    CHECK(fsresize_ext_plan(&g, 64ull * MiB, &l, why, sizeof why) == 0);
    CHECK_EQ_U64(l.backup_bgs[0], 1);
    CHECK_EQ_U64(l.backup_bgs[1], 7);
}

/* A memory disk holding the image file `name` of the scratch directory. */
static blockdev *mem_disk(const char *name, uint8_t **buf, size_t *len)
{
    blockdev *bd = NULL;
    p2v_err err;
    *buf = slurp(name, len);
    if (!*buf || bd_open_mem(*buf, *len, 512, name, &bd, &err) < 0)
        return NULL;
    return bd;
}

/* Grow the filesystem in dir/src to new_bytes on an overlay; write the
 * result to dir/out. The return of fsresize_ext_grow. */
static int grow_file(const char *src, uint64_t new_bytes, fsresize_ext_result *res, p2v_err *err,
                     bool *src_same)
{
    uint8_t *buf;
    size_t len;
    blockdev *mem = mem_disk(src, &buf, &len), *win = NULL, *ov = NULL;
    uint8_t *copy = buf ? malloc(len) : NULL;
    int r = -1;
    if (!mem || !copy)
        goto out;
    memcpy(copy, buf, len);
    if (bd_window_open(mem, 0, len, new_bytes, &win, err) < 0 ||
        bd_overlay_open(win, 0, 0, NULL, &ov, err) < 0)
        goto out;
    r = fsresize_ext_grow(ov, new_bytes, len, "t:1", res, err);
    uint8_t *all = malloc(new_bytes);
    if (all && bd_pread(ov, all, new_bytes, 0, err) == 0)
        spill("out", all, new_bytes);
    free(all);
    *src_same = !memcmp(copy, buf, len);
out:
    bd_close(ov);
    bd_close(win);
    bd_close(mem);
    free(copy);
    free(buf);
    return r;
}

static void test_grow_image(void)
{
    fsresize_ext_result res;
    p2v_err err;
    bool same = false;
    if (sh("truncate -s 48M e.img && mkdir -p files && seq 1 50000 >files/n.txt && "
           "mkfs.ext4 -q -F -b 1024 -E nodiscard -d files e.img") != 0) {
        CHECK(!"mkfs.ext4");
        return;
    }
    CHECK(grow_file("e.img", 160ull * MiB, &res, &err, &same) == 0);
    CHECK(same);
    CHECK_EQ_U64(res.old_blocks, 49152);
    CHECK_EQ_U64(res.blocks, 163840);
    CHECK_EQ_U64(res.old_groups, 6);
    CHECK_EQ_U64(res.groups, 20);
    CHECK(sh("e2fsck -fn out") == 0);
    CHECK(sh("dumpe2fs -h out | grep -q '^Block count: *163840$'") == 0);
    CHECK(sh("debugfs -R 'cat /n.txt' out | cmp - files/n.txt") == 0);

    /* no resize inode and 4 more descriptor blocks needed: refused, unwritten */
    if (sh("truncate -s 16M n.img && mkfs.ext4 -q -F -b 1024 -O ^resize_inode n.img") != 0) {
        CHECK(!"mkfs.ext4 ^resize_inode");
        return;
    }
    CHECK(grow_file("n.img", 160ull * MiB, &res, &err, &same) == -ENOTSUP);
    CHECK(strstr(err.msg, "t:1: it needs ") == err.msg);
    CHECK(sh("cmp -n 16777216 n.img out") == 0);
    /* not an ext filesystem at all */
    if (sh("head -c 4194304 /dev/zero >z.img") == 0)
        CHECK(grow_file("z.img", 8ull * MiB, &res, &err, &same) < 0);
}

int main(void)
{
    static void (*const tests[])(void) = {
        test_has_super, test_plan, test_refusals, test_sparse_super2, test_grow_image,
    };
    return T_SCRATCH_RUN("fsresize-ext", "test_fsresize_ext", tests);
}
