/* Which files lost data: real NTFS, FAT and ext4 volumes built by their own
 * mkfs, files of unique contents whose place on disk is found by searching
 * the image for those contents (not through any filesystem code), bad sectors
 * laid inside two of them and in free space; fs_files_at must name exactly
 * those two files, and nothing for free space. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fsmap.h"
#include "sh_testlib.h"
#include "t.h"

/* files/<name>: size bytes of "<tag>-<offset>" records, found again by tag. */
static void make_file(const char *name, const char *tag, size_t size)
{
    char p[512];
    snprintf(p, sizeof p, "%s/files/%s", dir, name);
    FILE *f = fopen(p, "wb");
    for (size_t o = 0; o < size; o += 16)
        fprintf(f, "%-8.8s%08zx", tag, o);
    fclose(f);
}

/* Byte offset in the image of the record "<tag><offset in file>". */
static uint64_t where(const uint8_t *img, size_t len, const char *tag, size_t file_off)
{
    char rec[17];
    snprintf(rec, sizeof rec, "%-8.8s%08zx", tag, file_off);
    const uint8_t *p = memmem(img, len, rec, 16);
    CHECK(p != NULL);
    return p ? (uint64_t)(p - img) : 0;
}

/* A 512-byte sector, not used by the filesystem, after the files. */
static uint64_t free_sector(blockdev *bd, size_t len)
{
    fsmap m;
    p2v_err err;
    uint64_t at = 0;
    CHECK(fsmap_build(bd, 0, len, NULL, &m, &err) == 0 && !m.full);
    for (uint64_t s = len / 2 / 512 * 512; s + 512 <= len && !at; s += 512)
        if (!fsmap_covers(&m, s, 1))
            at = s;
    CHECK(at != 0);
    fsmap_free(&m);
    return at;
}

static void check_names(const fs_names *n, const char *a, const char *b)
{
    CHECK_EQ_U64(n->count, 2);
    if (n->count == 2) {
        CHECK_STR(n->v[0], a);
        CHECK_STR(n->v[1], b);
    }
    for (size_t i = 0; i < n->count; i++)
        fprintf(stderr, "   affected: %s\n", n->v[i]);
}

/* fs.img holds files/report.txt as want_a, files/photo.jpg as want_b. */
static void check_volume(const char *fstype, const char *want_a, const char *want_b)
{
    size_t len;
    uint8_t *img = slurp("fs.img", &len);
    CHECK(img != NULL && len > 0);
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(img, len, 512, "fs.img", &bd, &err) == 0);
    uint64_t a = where(img, len, "REPORT", 8192) / 512 * 512;
    uint64_t b = where(img, len, "PHOTO", 40960) / 512 * 512;
    uint64_t f = free_sector(bd, len);
    fprintf(stderr, "%s: bad sectors at bytes %llu, %llu, free %llu\n", fstype,
            (unsigned long long)a, (unsigned long long)b, (unsigned long long)f);

    extent_list bad = { 0 };
    fs_names n;
    extent_list_add(&bad, a, 512);
    extent_list_add(&bad, b, 1024);
    extent_list_add(&bad, f, 512);
    extent_list_normalize(&bad);
    CHECK(fs_files_at(bd, 0, len, fstype, &bad, &n, &err) == 0);
    check_names(&n, want_a, want_b);
    fs_names_free(&n);

    extent_list only_free = { 0 };
    extent_list_add(&only_free, f, 512);
    CHECK(fs_files_at(bd, 0, len, fstype, &only_free, &n, &err) == 0);
    CHECK_EQ_U64(n.count, 0);
    fs_names_free(&n);

    CHECK(fs_files_at(bd, 0, len, "swap", &only_free, &n, &err) == -ENOTSUP);
    CHECK(strstr(err.msg, "cannot tell which files of a swap filesystem") != NULL);
    extent_list_free(&bad);
    extent_list_free(&only_free);
    bd_close(bd);
    free(img);
}

static void make_files(void)
{
    CHECK(sh("rm -rf files fs.img && mkdir -p files/docs") == 0);
    make_file("docs/report.txt", "REPORT", 64 * 1024);
    make_file("photo.jpg", "PHOTO", 128 * 1024);
    make_file("keep.txt", "KEEP", 32 * 1024);
}

static void test_ntfs(void)
{
    make_files();
    /* ntfscp cannot make directories: the report goes to the root here */
    CHECK(sh("truncate -s 16M fs.img && mkntfs -q -F -Q fs.img && "
             "ntfscp -q fs.img files/docs/report.txt report.txt && "
             "ntfscp -q fs.img files/photo.jpg photo.jpg && "
             "ntfscp -q fs.img files/keep.txt keep.txt") == 0);
    check_volume("ntfs", "/photo.jpg", "/report.txt");
}

static void test_fat(void)
{
    make_files();
    CHECK(sh("truncate -s 16M fs.img && mkfs.vfat -F 16 fs.img && "
             "mmd -i fs.img ::/Documents && "
             "mcopy -i fs.img files/docs/report.txt '::/Documents/Quarterly report.txt' && "
             "mcopy -i fs.img files/photo.jpg ::/photo.jpg && "
             "mcopy -i fs.img files/keep.txt ::/keep.txt") == 0);
    check_volume("vfat", "/Documents/Quarterly report.txt", "/photo.jpg");
    CHECK(sh("rm -f fs.img && truncate -s 40M fs.img && mkfs.vfat -F 32 fs.img && "
             "mmd -i fs.img ::/Documents && "
             "mcopy -i fs.img files/docs/report.txt '::/Documents/Quarterly report.txt' && "
             "mcopy -i fs.img files/photo.jpg ::/photo.jpg") == 0);
    check_volume("vfat", "/Documents/Quarterly report.txt", "/photo.jpg");
}

static void test_ext(void)
{
    make_files();
    CHECK(sh("truncate -s 16M fs.img && mkfs.ext4 -q -F -d files fs.img") == 0);
    check_volume("ext4", "/docs/report.txt", "/photo.jpg");
}

int main(void)
{
    static void (*const tests[])(void) = { test_ntfs, test_fat, test_ext };
    return T_SCRATCH_RUN("fsfiles", "test_fs_files", tests);
}
