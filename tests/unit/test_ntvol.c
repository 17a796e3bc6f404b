/* Editing an NTFS volume through a copy-on-write overlay: files are read by
 * path, replaced and created, directories made; the source disk stays
 * byte-for-byte the same, and the overlay's view, written out, passes
 * ntfsfix -n and gives back every file through ntfs-3g's own ntfscat. The
 * volume is made at test time with mkntfs and filled through an ntfs-3g
 * mount. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev/overlay.h"
#include "source/source.h"
#include "fs/ntvol.h"
#include "sh_testlib.h"
#include "t.h"

#define MiB (1024u * 1024u)
#define PART_OFF MiB
#define PART_LEN (16u * MiB)

/* A 17 MiB disk: 1 MiB of pattern, then a 16 MiB NTFS volume holding
 * Windows/System32/config/SYSTEM (300 KiB), keep.bin (1 MiB) and, with
 * hiber, a hiberfil.sys in use. */
static int make_disk(bool hiber)
{
    if (sh("rm -rf disk.img part.img m && truncate -s %u part.img && "
           "mkntfs -F -Q -q -s 512 -p %u part.img && mkdir m && head -c 307200 /dev/urandom "
           ">SYSTEM && head -c 1048576 /dev/urandom >keep.bin",
           PART_LEN, PART_OFF / 512) != 0)
        return -1;
    if (sh("timeout 30 ntfs-3g part.img m && mkdir -p m/Windows/System32/config && "
           "cp SYSTEM m/Windows/System32/config/SYSTEM && cp keep.bin m/keep.bin && "
           "%s umount m",
           hiber ? "(printf hibr; head -c 8188 /dev/zero) >m/hiberfil.sys &&" : "") != 0) {
        sh("umount m");
        return -1;
    }
    return disk_around_part(PART_OFF);
}

static int saw_boot, saw_windows;
static int on_entry(void *ctx, const char *name, bool is_dir)
{
    if (!strcmp(name, "Boot") && is_dir)
        saw_boot++;
    if (!strcmp(name, "Windows") && is_dir)
        saw_windows++;
    return 0;
}

static void test_read(ntvol *v, const uint8_t *system, size_t system_len)
{
    p2v_err err;
    uint8_t *data = NULL;
    size_t len = 0;
    /* Windows' names are found whatever their case and separators. */
    CHECK(ntvol_read_file(v, "\\WINDOWS\\system32\\Config\\system", 1 << 20, &data, &len,
                          &err) == 0);
    CHECK(data && len == system_len && memcmp(data, system, len) == 0);
    free(data);
    CHECK(ntvol_read_file(v, "/Windows/System32/config/SYSTEM", 1000, &data, &len, &err) ==
          -EFBIG);
    CHECK(strstr(err.msg, "307200 bytes") != NULL);
    CHECK(ntvol_read_file(v, "/Windows/missing", 10, &data, &len, &err) == -ENOENT);
    CHECK(strstr(err.msg, "disk.img@1048576: /Windows/missing: no such file") != NULL);
    CHECK(ntvol_read_file(v, "/Windows", 10, &data, &len, &err) == -EISDIR);
    bool exists = false, isdir = false;
    uint64_t size = 0;
    CHECK(ntvol_stat(v, "/keep.bin", &exists, &isdir, &size, &err) == 0);
    CHECK(exists && !isdir && size == 1048576);
    CHECK(ntvol_stat(v, "/windows/system32", &exists, &isdir, &size, &err) == 0);
    CHECK(exists && isdir);
    CHECK(ntvol_stat(v, "/nothing", &exists, NULL, NULL, &err) == 0 && !exists);
}

static void test_edit(blockdev *src)
{
    p2v_err err;
    blockdev *ov = NULL;
    ntvol *v = NULL;
    size_t system_len, keep_len;
    uint8_t *system = slurp("SYSTEM", &system_len), *keep = slurp("keep.bin", &keep_len);

    CHECK(ntvol_open(src, PART_OFF, PART_LEN, NTVOL_WRITE, &v, &err) == -EROFS);
    CHECK(bd_overlay_open(src, PART_OFF, PART_LEN, NULL, &ov, &err) == 0);
    CHECK(ov && ntvol_open(ov, 0, PART_LEN, NTVOL_WRITE, &v, &err) == 0);
    if (!v) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    test_read(v, system, system_len);

    /* Replace a file with a larger one; create a directory tree and files. */
    uint8_t *bigger = malloc(500000), small[100];
    for (size_t i = 0; i < 500000; i++)
        bigger[i] = (uint8_t)(i * 31 + 7);
    for (size_t i = 0; i < sizeof small; i++)
        small[i] = (uint8_t)i;
    CHECK(ntvol_write_file(v, "/Windows/System32/config/SYSTEM", bigger, 500000, &err) == 0);
    CHECK(ntvol_mkdir(v, "/Boot", &err) == 0);
    CHECK(ntvol_mkdir(v, "/Boot", &err) == 0); /* already there: fine */
    CHECK(ntvol_write_file(v, "\\Boot\\BCD", small, sizeof small, &err) == 0);
    CHECK(ntvol_mkdir(v, "/EFI", &err) == 0 && ntvol_mkdir(v, "/EFI/Microsoft", &err) == 0);
    CHECK(ntvol_write_file(v, "/EFI/Microsoft/empty", small, 0, &err) == 0);
    CHECK(ntvol_write_file(v, "/No/such/dir", small, 1, &err) == -ENOENT);
    CHECK(strstr(err.msg, "parent directory missing") != NULL);
    CHECK(ntvol_mkdir(v, "/keep.bin", &err) == -EEXIST);
    CHECK(ntvol_write_file(v, "/Boot", small, 1, &err) == -EISDIR);
    CHECK(ntvol_list(v, "/", on_entry, NULL, &err) == 0);
    CHECK(saw_boot == 1 && saw_windows == 1);
    uint8_t *back = NULL;
    size_t blen = 0;
    CHECK(ntvol_read_file(v, "/boot/bcd", 1000, &back, &blen, &err) == 0);
    CHECK(back && blen == sizeof small && memcmp(back, small, blen) == 0);
    free(back);
    CHECK(ntvol_close(v, &err) == 0);

    extent_list w;
    CHECK(bd_overlay_written(ov, &w, &err) == 0 && w.count > 0);
    extent_list_free(&w);
    CHECK(spill_view(ov, PART_LEN) == 0);
    /* The source is as it was; the edited view is a clean NTFS whose files
     * ntfs-3g's own tools read back. */
    CHECK(sh("sha256sum -c --quiet disk.sum") == 0);
    CHECK(sh("ntfsfix -n view.img") == 0);
    CHECK(spill("bigger", bigger, 500000) == 0 && spill("small", small, sizeof small) == 0);
    CHECK(sh("ntfscat view.img /Windows/System32/config/SYSTEM | cmp - bigger") == 0);
    CHECK(sh("ntfscat view.img /Boot/BCD | cmp - small") == 0);
    CHECK(sh("ntfscat view.img /keep.bin | cmp - keep.bin") == 0);
    CHECK(sh("test \"$(ntfscat view.img /EFI/Microsoft/empty | wc -c)\" = 0") == 0);
    CHECK(sh("ntfsls view.img -p /EFI | grep -qx Microsoft") == 0);
    free(bigger);
out:
    bd_close(ov);
    free(system);
    free(keep);
    (void)keep_len;
}

/* A hibernated Windows is read, never written. */
static void test_refuse_hibernated(void)
{
    p2v_err err;
    blockdev *src = NULL, *ov = NULL;
    ntvol *v = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/disk.img", dir);
    CHECK(source_open(path, NULL, &src, &err) == 0);
    CHECK(src && bd_overlay_open(src, PART_OFF, PART_LEN, NULL, &ov, &err) == 0);
    if (!ov)
        return;
    CHECK(ntvol_open(ov, 0, PART_LEN, NTVOL_WRITE, &v, &err) == -EBUSY);
    CHECK(strstr(err.msg, "holds a hibernated Windows") != NULL);
    CHECK(strstr(err.msg, "cannot be edited") != NULL);
    CHECK(ntvol_open(ov, 0, PART_LEN, 0, &v, &err) == 0);
    uint8_t x = 0;
    CHECK(v && ntvol_write_file(v, "/x", &x, 1, &err) == -EROFS);
    CHECK(ntvol_close(v, &err) == 0);
    CHECK(bd_overlay_bytes(ov) == 0);
    bd_close(ov);
    bd_close(src);
}

int main(void)
{
    if (t_scratch("ntvol") < 0)
        return 1;
    CHECK(make_disk(false) == 0);
    blockdev *src = t_source("disk.img");
    if (src) {
        test_edit(src);
        bd_close(src);
    }
    CHECK(make_disk(true) == 0);
    test_refuse_hibernated();
    return t_scratch_done("test_ntvol");
}
