/* Files by path through one set of operations (fs/vol.h), whatever the
 * filesystem: the same code reads and replaces a file on an NTFS volume
 * (made with mkntfs, filled with ntfscp) and on a FAT16 one (mkfs.vfat,
 * mcopy), each through a copy-on-write overlay; the source stays the same,
 * and ntfscat and mtype, not p2v, read the edited view back. A kind p2v
 * cannot open by path is -ENOTSUP. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev/overlay.h"
#include "fs/vol.h"
#include "source/source.h"
#include "sh_testlib.h"
#include "t.h"

#define MiB (1024u * 1024u)
#define PART_OFF MiB
#define PART_LEN (16u * MiB)

/* disk.img: 1 MiB of pattern, then a 16 MiB volume of `kind` holding
 * BCD (30000 random bytes, kept in the file BCD): /Boot/BCD on FAT, /BCD on
 * NTFS (ntfscp makes no directories). */
static int make_disk(enum fs_kind kind)
{
    const char *mk = kind == FS_NTFS
                         ? "mkntfs -F -Q -q -s 512 -p 2048 part.img && "
                           "ntfscp -q part.img BCD /BCD"
                         : "mkfs.vfat -F 16 -S 512 part.img >/dev/null && "
                           "mmd -i part.img ::/Boot && mcopy -i part.img BCD ::/Boot/BCD";
    if (sh("rm -f disk.img part.img && truncate -s %u part.img && "
           "head -c 30000 /dev/urandom >BCD && %s",
           PART_LEN, mk) != 0)
        return -1;
    return disk_around_part(PART_OFF);
}

/* What the filesystem's own tool reads at path of view.img, compared with
 * the file `want`. */
static int oracle(enum fs_kind kind, const char *path, const char *want)
{
    return kind == FS_NTFS ? sh("ntfscat view.img %s | cmp - %s", path, want)
                           : sh("mtype -i view.img ::%s | cmp - %s", path, want);
}

static void test_kind(enum fs_kind kind, const char *bcd_path)
{
    const char *name = kind == FS_NTFS ? "NTFS" : "FAT";
    CHECK(make_disk(kind) == 0);
    blockdev *src = t_source("disk.img"), *ov = NULL;
    fs_vol *v = NULL;
    p2v_err err;
    if (!src)
        return;
    size_t bcd_len = 0, got_len = 0;
    uint8_t *bcd = slurp("BCD", &bcd_len), *got = NULL;

    /* Read-only on the source. */
    CHECK(fs_vol_open(kind, src, PART_OFF, PART_LEN, 0, &v, &err) == 0);
    if (v) {
        bool ex = false, isdir = true;
        uint64_t size = 0;
        CHECK(fs_vol_stat(v, bcd_path, &ex, &isdir, &size, &err) == 0 && ex && !isdir &&
              size == 30000);
        CHECK(fs_vol_read_file(v, bcd_path, 1 << 20, &got, &got_len, &err) == 0);
        CHECK(got && bcd && got_len == bcd_len && memcmp(got, bcd, got_len) == 0);
        free(got);
        got = NULL;
        CHECK(fs_vol_read_file(v, "/missing", 100, &got, &got_len, &err) == -ENOENT);
        CHECK(fs_vol_read_file(v, bcd_path, 100, &got, &got_len, &err) == -EFBIG);
        CHECK(fs_vol_close(v, &err) == 0);
        v = NULL;
    } else {
        fprintf(stderr, "%s: %s\n", name, err.msg);
    }
    CHECK(fs_vol_open(kind, src, PART_OFF, PART_LEN, FS_VOL_WRITE, &v, &err) == -EROFS);

    /* Replaced through an overlay, by the same calls for either kind. */
    uint8_t repl[45000];
    for (size_t i = 0; i < sizeof repl; i++)
        repl[i] = (uint8_t)(i * 13 + 5);
    CHECK(bd_overlay_open(src, PART_OFF, PART_LEN, NULL, &ov, &err) == 0);
    CHECK(ov && fs_vol_open(kind, ov, 0, PART_LEN, FS_VOL_WRITE, &v, &err) == 0);
    if (v) {
        CHECK(fs_vol_write_file(v, bcd_path, repl, sizeof repl, &err) == 0);
        CHECK(fs_vol_read_file(v, bcd_path, 1 << 20, &got, &got_len, &err) == 0);
        CHECK(got && got_len == sizeof repl && memcmp(got, repl, got_len) == 0);
        free(got);
        /* FAT replaces files that exist; NTFS also creates them. */
        int r = fs_vol_write_file(v, "/new.bin", repl, 100, &err);
        CHECK(kind == FS_NTFS ? r == 0 : r == -ENOENT);
        CHECK(fs_vol_close(v, &err) == 0);
        CHECK(spill_view(ov, PART_LEN) == 0);
        CHECK(spill("repl", repl, sizeof repl) == 0 && spill("new", repl, 100) == 0);
        CHECK(oracle(kind, bcd_path, "repl") == 0);
        if (kind == FS_NTFS)
            CHECK(oracle(kind, "/new.bin", "new") == 0);
    }
    CHECK(sh("sha256sum -c --quiet disk.sum") == 0);
    free(bcd);
    bd_close(ov);
    bd_close(src);
}

/* Kinds without files by path. */
static void test_unsupported(void)
{
    static const uint8_t zeros[4096];
    blockdev *bd = NULL;
    fs_vol *v = NULL;
    p2v_err err;
    CHECK(bd_open_mem(zeros, sizeof zeros, 512, "mem", &bd, &err) == 0);
    if (!bd)
        return;
    CHECK(fs_vol_open(FS_EXT, bd, 0, sizeof zeros, 0, &v, &err) == -ENOTSUP && !v);
    CHECK(fs_vol_open(FS_SWAP, bd, 0, sizeof zeros, 0, &v, &err) == -ENOTSUP && !v);
    CHECK(fs_vol_open(FS_UNKNOWN, bd, 0, sizeof zeros, 0, &v, &err) == -ENOTSUP && !v);
    CHECK(fs_vol_close(NULL, &err) == 0);
    bd_close(bd);
}

int main(void)
{
    if (t_scratch("vol") < 0)
        return 1;
    test_kind(FS_FAT, "/Boot/BCD");
    test_kind(FS_NTFS, "/BCD");
    test_unsupported();
    return t_scratch_done("test_fs_vol");
}
