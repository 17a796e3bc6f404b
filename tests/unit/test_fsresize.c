/* Fitting filesystems to partitions of another size: the zero-extended
 * window and the remapped view blockdevs, the NTFS geometry and boot-sector
 * field offsets (against ntfs-3g's own layout), the refusals, and an NTFS
 * volume made with mkntfs shrunk (clusters moved) and grown on overlays of a
 * memory disk: the source bytes stay the same, the result passes ntfsfix -n
 * and gives every file back through ntfscat. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/layout.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "blockdev/remap.h"
#include "blockdev/window.h"
#include "fs/resize.h"
#include "sh_testlib.h"
#include "t.h"

#define MiB (1024u * 1024u)

/* Write bd's bytes to a file of the scratch directory. */
static int dump(blockdev *bd, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    uint8_t *buf = malloc(MiB);
    p2v_err err;
    int r = f && buf ? 0 : -1;
    for (uint64_t off = 0; r == 0 && off < bd_size(bd); off += MiB) {
        size_t n = bd_size(bd) - off < MiB ? (size_t)(bd_size(bd) - off) : MiB;
        r = bd_pread(bd, buf, n, off, &err) == 0 && fwrite(buf, 1, n, f) == n ? 0 : -1;
    }
    free(buf);
    if (f && fclose(f) != 0)
        r = -1;
    return r;
}

static void test_layout(void)
{
    CHECK_EQ_U64(FSRESIZE_NTFS_BOOT_TOTAL_SECTORS, offsetof(NTFS_BOOT_SECTOR, number_of_sectors));
    CHECK_EQ_U64(FSRESIZE_NTFS_BOOT_MFT_LCN, offsetof(NTFS_BOOT_SECTOR, mft_lcn));
    CHECK_EQ_U64(FSRESIZE_NTFS_BOOT_MFTMIRR_LCN, offsetof(NTFS_BOOT_SECTOR, mftmirr_lcn));
    uint64_t s, c;
    fsresize_ntfs_geometry(64 * MiB, 512, 4096, &s, &c);
    CHECK_EQ_U64(s, 131071);    /* the last sector holds the backup boot sector */
    CHECK_EQ_U64(c, 16383);
    fsresize_ntfs_geometry(1 * MiB, 4096, 65536, &s, &c);
    CHECK_EQ_U64(s, 255);
    CHECK_EQ_U64(c, 15);
}

static void test_window_remap(void)
{
    uint8_t base[4096];
    for (size_t i = 0; i < sizeof base; i++)
        base[i] = (uint8_t)(i * 7 + 1);
    blockdev *mem = NULL, *win = NULL, *view = NULL;
    p2v_err err;
    uint8_t buf[1024];
    CHECK(bd_open_mem(base, sizeof base, 512, "mem", &mem, &err) == 0);
    /* bytes 1024..2047 of base, then zeros up to 3000 bytes */
    CHECK(bd_window_open(mem, 1024, 1024, 3000, &win, &err) == 0);
    CHECK_EQ_U64(bd_size(win), 3000);
    CHECK(bd_pread(win, buf, 1000, 100, &err) == 0);
    CHECK(!memcmp(buf, base + 1124, 924));
    CHECK(buf[924] == 0 && buf[999] == 0);
    CHECK(bd_pread(win, buf, 1, 3000, &err) < 0);   /* past its end */
    CHECK(bd_window_open(mem, 4000, 200, 300, &view, &err) == -EINVAL);
    bd_close(win);

    /* moves: the view shows base[3000..3100) at 100 and base[0..50) at 400 */
    bd_move mv[] = { { .dst = 400, .src = 0, .len = 50 }, { .dst = 100, .src = 3000, .len = 100 } };
    CHECK(bd_remap_open(mem, 1000, mv, 2, &view, &err) == 0);
    CHECK(bd_pread(view, buf, 1000, 0, &err) == 0);
    CHECK(!memcmp(buf, base, 100));
    CHECK(!memcmp(buf + 100, base + 3000, 100));
    CHECK(!memcmp(buf + 200, base + 200, 200));
    CHECK(!memcmp(buf + 400, base, 50));
    CHECK(!memcmp(buf + 450, base + 450, 550));
    CHECK(bd_pread(view, buf, 30, 190, &err) == 0); /* across the end of a move */
    CHECK(!memcmp(buf, base + 3090, 10) && !memcmp(buf + 10, base + 200, 20));
    bd_close(view);
    bd_move bad[] = { { .dst = 0, .src = 0, .len = 100 }, { .dst = 50, .src = 200, .len = 10 } };
    CHECK(bd_remap_open(mem, 1000, bad, 2, &view, &err) == -EINVAL);   /* overlapping */
    bd_move out[] = { { .dst = 990, .src = 0, .len = 20 } };
    CHECK(bd_remap_open(mem, 1000, out, 1, &view, &err) == -EINVAL);   /* past the view */
    bd_close(mem);
}

static void test_fits(void)
{
    p2v_err err;
    fsresize_info ext = { .kind = FSRESIZE_EXT, .fstype = "ext4", .fs_bytes = 100 * MiB,
                          .min_bytes = 100 * MiB };
    CHECK(fsresize_fits(&ext, 100 * MiB, "d:1", &err) == 0);
    CHECK(fsresize_fits(&ext, 99 * MiB, "d:1", &err) == -ERANGE);
    CHECK(strstr(err.msg, "d:1: ") == err.msg && strstr(err.msg, "resize2fs"));
    fsresize_info fat = { .kind = FSRESIZE_FAT, .fstype = "vfat", .fs_bytes = MiB,
                          .min_bytes = MiB };
    CHECK(fsresize_fits(&fat, MiB / 2, "d:2", &err) == -ERANGE && strstr(err.msg, "FAT"));
    fsresize_info ntfs = { .kind = FSRESIZE_NTFS, .fstype = "ntfs", .used_bytes = 5 * MiB,
                           .min_bytes = 5 * MiB + 4096 + 512 };
    CHECK(fsresize_fits(&ntfs, 6 * MiB, "d:3", &err) == 0);
    CHECK(fsresize_fits(&ntfs, 5 * MiB, "d:3", &err) == -ERANGE);
    CHECK(strstr(err.msg, "5242880 bytes the NTFS volume uses"));
}

/* A 16 MiB NTFS volume (1 KiB clusters) with files, at 1 MiB of a memory disk. */
static uint8_t *make_ntfs(size_t *len)
{
    if (sh("rm -f part.img disk.img a b && truncate -s 16M part.img && "
           "mkntfs -q -F -Q -c 1024 -p 2048 part.img && "
           "head -c 3000000 /dev/urandom >a && head -c 70000 /dev/urandom >b && "
           "ntfscp -q part.img a a && ntfscp -q part.img b b && "
           "truncate -s 1M disk.img && cat part.img >>disk.img && truncate -s 20M disk.img") != 0)
        return NULL;
    return slurp("disk.img", len);
}

/* Resize the volume at 1 MiB of mem to new_bytes, write the final view to
 * out.img and judge it with ntfs-3g's tools. */
static void resize_and_check(blockdev *mem, uint64_t new_bytes, bool expect_moves)
{
    blockdev *win = NULL, *ov = NULL, *view = NULL, *fin = NULL;
    fsresize_ntfs_result res;
    p2v_err err;
    uint64_t edit = new_bytes > 16 * MiB ? new_bytes : 16 * MiB;
    CHECK(bd_window_open(mem, MiB, 16 * MiB, edit, &win, &err) == 0);
    CHECK(bd_overlay_open(win, 0, 0, NULL, &ov, &err) == 0);
    int r = fsresize_ntfs_apply(ov, new_bytes, "disk:1", &res, &err);
    if (r < 0)
        fprintf(stderr, "apply: %s\n", err.msg);
    CHECK(r == 0);
    if (r == 0) {
        CHECK(expect_moves ? res.nmoves > 0 && res.relocated > 0 : res.nmoves == 0);
        CHECK_EQ_U64(res.sectors, new_bytes / 512 - 1);
        CHECK(bd_remap_open(ov, new_bytes, res.moves, res.nmoves, &view, &err) == 0);
        CHECK(bd_overlay_open(view, 0, 0, NULL, &fin, &err) == 0);
        CHECK(fsresize_ntfs_finish(fin, &res, &err) == 0);
        CHECK(dump(fin, "out.img") == 0);
        CHECK(sh("ntfsfix -n out.img >fix.out && ! grep -qiE 'bad|corrupt' fix.out") == 0);
        CHECK(sh("ntfscat out.img a | cmp - a && ntfscat out.img b | cmp - b") == 0);
        CHECK(sh("ntfsresize -i -f -n out.img | grep -q 'Current volume size: %llu bytes'",
                 (unsigned long long)((new_bytes / 512 - 1) / 2 * 1024 + 512)) == 0);
        fsresize_ntfs_result_free(&res);
    }
    bd_close(fin);
    bd_close(view);
    bd_close(ov);
    bd_close(win);
}

static void test_ntfs(void)
{
    size_t len = 0;
    uint8_t *disk = make_ntfs(&len), *copy = disk ? malloc(len) : NULL;
    CHECK(disk && copy && len == 20 * MiB);
    if (!disk || !copy) {
        free(disk);
        return;
    }
    memcpy(copy, disk, len);
    blockdev *mem = NULL;
    p2v_err err;
    CHECK(bd_open_mem(disk, len, 512, "disk", &mem, &err) == 0);
    fsresize_info fi;
    CHECK(fsresize_check(mem, MiB, 16 * MiB, "disk:1", &fi, &err) == 0);
    CHECK(fi.kind == FSRESIZE_NTFS && fi.cluster == 1024 && fi.bytes_per_sector == 512);
    CHECK(fi.used_bytes > 3000000 && fi.used_bytes < 8 * MiB);
    CHECK(fi.data_end > 8 * MiB);   /* $MFTMirr and the files lie past the middle */
    CHECK(fsresize_fits(&fi, 2 * MiB, "disk:1", &err) == -ERANGE);
    resize_and_check(mem, 6 * MiB, true);       /* shrink: clusters moved */
    resize_and_check(mem, 32 * MiB, false);     /* grow x2 */
    CHECK(!memcmp(disk, copy, len));            /* the source is never written */
    bd_close(mem);
    free(disk);
    free(copy);
}

int main(void)
{
    static void (*const tests[])(void) = { test_layout, test_window_remap, test_fits, test_ntfs };
    return T_SCRATCH_RUN("fsresize", "test_fsresize", tests);
}
