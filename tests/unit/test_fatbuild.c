/* An ESP p2v formats with a tree of files (the firmware switch's
 * \EFI\Microsoft\Boot): fsck.fat -n finds nothing wrong (FAT chains, long
 * names and their checksums, ".." entries, the FSInfo free count), mtools
 * lists the long names and gives every file back byte for byte, with
 * 512-byte and 4 KiB clusters; names that collide in 8.3 form get distinct
 * short names; bad paths, taken paths and files that do not fit are
 * refused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "fs/fatbuild.h"
#include "sh_testlib.h"
#include "t.h"
#include "util/endian.h"

typedef struct file_sink {
    int fd;
    uint64_t base, last_end;
} file_sink;

static int sink_write(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    file_sink *s = ctx;
    CHECK(offset >= s->last_end); /* increasing order, as the image writer wants */
    s->last_end = offset + len;
    if (pwrite(s->fd, buf, len, (off_t)(offset - s->base)) != (ssize_t)len)
        return p2v_errf(err, -EIO, "pwrite failed");
    return 0;
}

static int format_tree(const char *name, uint64_t sectors, fatbuild *t, p2v_err *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    file_sink s = { .base = 2048ull * 512 };
    s.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(s.fd >= 0);
    if (s.fd < 0 || ftruncate(s.fd, (off_t)(sectors * 512)) < 0)
        return -EIO;
    int r = boot_format_esp_tree(2048, sectors, 512, t, sink_write, &s, err);
    close(s.fd);
    return r;
}

static const struct {
    const char *path;
    size_t len;
} files[] = {
    { "EFI/Microsoft/Boot/bootmgfw.efi", 70001 },
    { "EFI/Microsoft/Boot/memtest.efi", 4096 },
    { "EFI/Microsoft/Boot/BCD", 8192 },
    { "EFI/Microsoft/Boot/en-US/bootmgfw.efi.mui", 1234 },
    { "EFI/Microsoft/Boot/Fonts/wgl4_boot.ttf", 40000 },
    { "EFI/Boot/bootx64.efi", 70001 },
    { "EFI/Microsoft/Boot/A long file name.txt", 10 },
    { "EFI/Microsoft/Boot/A long file name 2.txt", 11 },
    { "EFI/Microsoft/Boot/abcdefghijklm", 1 },            /* 13 units: no terminator */
    { "EFI/Microsoft/Boot/abcdefghijklmnopqrstuvwxyz.dat", 700 }, /* three long entries */
    { "EFI/Microsoft/Boot/empty", 0 },
};
#define NFILES (sizeof files / sizeof files[0])

static uint8_t *pattern(size_t i, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    for (size_t k = 0; b && k < len; k++)
        b[k] = (uint8_t)(k * 31 + i * 7 + (k >> 9));
    return b;
}

static void check_tree(const char *img, uint64_t sectors)
{
    p2v_err err = { 0 };
    fatbuild *t = NULL;
    CHECK(fatbuild_new(&t, &err) == 0);
    CHECK(fatbuild_mkdir(t, "\\EFI\\Microsoft\\Boot\\Empty dir", &err) == 0);
    for (size_t i = 0; i < NFILES; i++) {
        uint8_t *b = pattern(i, files[i].len);
        CHECK(fatbuild_add_file(t, files[i].path, b, files[i].len, &err) == 0);
        char name[64];
        snprintf(name, sizeof name, "want%zu", i);
        CHECK(spill(name, b, files[i].len) == 0);
        free(b);
    }
    CHECK_EQ_U64(fatbuild_count(t), NFILES + 7); /* + EFI, Microsoft, Boot, en-US, Fonts, Empty dir, EFI/Boot */
    int r = format_tree(img, sectors, t, &err);
    if (r < 0)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(r == 0);
    fatbuild_free(t);
    CHECK(sh("fsck.fat -n -v %s >fsck.%s 2>&1 || (cat fsck.%s; exit 1)", img, img, img) == 0);
    CHECK(sh("! grep -qi -e 'summary wrong' -e 'differ' fsck.%s", img) == 0);
    for (size_t i = 0; i < NFILES; i++)
        CHECK(sh("MTOOLS_SKIP_CHECK=1 mcopy -n -i %s '::/%s' got%zu && cmp want%zu got%zu", img,
                 files[i].path, i, i, i) == 0);
    /* mtools shows the long names only when their checksums match */
    CHECK(sh("MTOOLS_SKIP_CHECK=1 mdir -i %s ::/EFI/Microsoft/Boot >dir.%s", img, img) == 0);
    CHECK(sh("grep -q 'A long file name.txt' dir.%s && grep -q 'A long file name 2.txt' dir.%s "
             "&& grep -q 'abcdefghijklmnopqrstuvwxyz.dat' dir.%s && grep -q 'Empty dir' dir.%s "
             "&& grep -q 'bootmgfw.efi' dir.%s",
             img, img, img, img, img) == 0);
    /* two long names of the same 8.3 form: ALONGF~1.TXT and ALONGF~2.TXT */
    CHECK(sh("grep -q '^ALONGF~1 TXT' dir.%s && grep -q '^ALONGF~2 TXT' dir.%s", img, img) == 0);
    /* mtools writes into it, and fsck.fat still agrees */
    CHECK(sh("MTOOLS_SKIP_CHECK=1 mcopy -i %s want0 ::/added.bin && fsck.fat -n %s", img, img) ==
          0);
}

/* The on-disk layout of the entries fatbuild writes, field by field (FAT
 * specification, "Directory Structure" and "Long File Name Implementation"):
 * a root holding the label, "EFI" (an 8.3 name: no long entries) and
 * "bootmgfw.efi" (a long name: one long entry before its short entry). */
static void check_layout(void)
{
    p2v_err err = { 0 };
    fatbuild *t = NULL;
    uint8_t data[600] = { 1 };
    uint32_t used = 0;
    CHECK(fatbuild_new(&t, &err) == 0);
    CHECK(fatbuild_mkdir(t, "EFI", &err) == 0);
    CHECK(fatbuild_add_file(t, "bootmgfw.efi", data, sizeof data, &err) == 0);
    CHECK(fatbuild_layout(t, 512, 1000, "EFI        ", 0x5a21, 0x6000, &used, &err) == 0);
    CHECK_EQ_U64(used, 1 + 1 + 2); /* root, EFI, the file's two clusters */
    uint8_t c[512];
    fatbuild_cluster(t, 2, c);
    /* 0: the volume label */
    CHECK(!memcmp(c, "EFI        ", 11));
    CHECK_EQ_U64(c[11], 0x08);
    /* 32: EFI, a directory at cluster 3, with dates and times */
    CHECK(!memcmp(c + 32, "EFI        ", 11));
    CHECK_EQ_U64(c[32 + 11], 0x10);
    CHECK_EQ_U64(get_le16(c + 32 + 14), 0x6000);   /* creation time */
    CHECK_EQ_U64(get_le16(c + 32 + 16), 0x5a21);   /* creation date */
    CHECK_EQ_U64(get_le16(c + 32 + 20), 0);        /* cluster, high half */
    CHECK_EQ_U64(get_le16(c + 32 + 22), 0x6000);   /* write time */
    CHECK_EQ_U64(get_le16(c + 32 + 24), 0x5a21);   /* write date */
    CHECK_EQ_U64(get_le16(c + 32 + 26), 3);        /* cluster, low half */
    CHECK_EQ_U64(get_le32(c + 32 + 28), 0);        /* size: 0 for a directory */
    /* 64: the long entry of bootmgfw.efi: last (and only) part, attribute
     * 0x0F, type 0, checksum of the short name, cluster 0, the 13 units at
     * 1..10, 14..25, 28..31, then the short entry BOOTMGFW.EFI */
    CHECK_EQ_U64(c[64], 0x41);
    CHECK_EQ_U64(c[64 + 11], 0x0F);
    CHECK_EQ_U64(c[64 + 12], 0);
    CHECK_EQ_U64(c[64 + 13], fatbuild_lfn_checksum(c + 96));
    CHECK_EQ_U64(get_le16(c + 64 + 26), 0);
    CHECK_EQ_U64(get_le16(c + 64 + 1), 'b');
    CHECK_EQ_U64(get_le16(c + 64 + 9), 'm');
    CHECK_EQ_U64(get_le16(c + 64 + 14), 'g');
    CHECK_EQ_U64(get_le16(c + 64 + 22), 'e');
    CHECK_EQ_U64(get_le16(c + 64 + 24), 'f');
    CHECK_EQ_U64(get_le16(c + 64 + 28), 'i');
    CHECK_EQ_U64(get_le16(c + 64 + 30), 0);       /* 12 units: a NUL ends the name */
    CHECK(!memcmp(c + 96, "BOOTMGFWEFI", 11));
    CHECK_EQ_U64(c[96 + 11], 0x20);
    CHECK_EQ_U64(get_le16(c + 96 + 26), 4);
    CHECK_EQ_U64(get_le32(c + 96 + 28), sizeof data);
    CHECK_EQ_U64(c[128], 0); /* end of directory */
    /* EFI's "." and "..": itself, and 0 for the root */
    fatbuild_cluster(t, 3, c);
    CHECK(!memcmp(c, ".          ", 11) && get_le16(c + 26) == 3 && c[11] == 0x10);
    CHECK(!memcmp(c + 32, "..         ", 11) && get_le16(c + 32 + 26) == 0);
    /* the chains: root, EFI end at once; the file's 4 -> 5 -> end */
    CHECK_EQ_U64(fatbuild_fat_entry(t, 2), FATBUILD_EOC);
    CHECK_EQ_U64(fatbuild_fat_entry(t, 3), FATBUILD_EOC);
    CHECK_EQ_U64(fatbuild_fat_entry(t, 4), 5);
    CHECK_EQ_U64(fatbuild_fat_entry(t, 5), FATBUILD_EOC);
    CHECK_EQ_U64(fatbuild_fat_entry(t, 6), 0);
    fatbuild_cluster(t, 5, c);
    CHECK(c[0] == 1 || c[0] == 0); /* the file's second part: data[512..600) then zeros */
    CHECK_EQ_U64(c[600 - 512], 0);
    fatbuild_free(t);
}

static void check_refusals(void)
{
    p2v_err err = { 0 };
    fatbuild *t = NULL;
    uint8_t b[4] = { 1, 2, 3, 4 };
    CHECK(fatbuild_new(&t, &err) == 0);
    CHECK(fatbuild_add_file(t, "/EFI/a.bin", b, 4, &err) == 0);
    CHECK(fatbuild_add_file(t, "/efi/A.BIN", b, 4, &err) == -EEXIST);
    CHECK(fatbuild_mkdir(t, "/EFI/a.bin/x", &err) == -ENOTDIR);
    CHECK(fatbuild_add_file(t, "/EFI/a*b", b, 4, &err) == -EINVAL);
    CHECK(strstr(err.msg, "a*b") != NULL);
    CHECK(fatbuild_add_file(t, "/EFI/trailing.", b, 4, &err) == -EINVAL);
    CHECK(fatbuild_add_file(t, "", b, 4, &err) == -EINVAL);
    CHECK(fatbuild_mkdir(t, "/EFI", &err) == 0); /* there already: fine */
    fatbuild_free(t);

    /* 40 MiB of files in a 33 MiB ESP */
    size_t big = (size_t)40 << 20;
    uint8_t *z = calloc(1, big);
    CHECK(fatbuild_new(&t, &err) == 0);
    CHECK(z && fatbuild_add_file(t, "big", z, big, &err) == 0);
    CHECK(format_tree("small", boot_esp_min_sectors(512), t, &err) == -ENOSPC);
    CHECK(strstr(err.msg, "do not hold the files") != NULL);
    /* the planner's question, before anything is written */
    CHECK(boot_esp_fit(boot_esp_min_sectors(512), 512, t, &err) == -ENOSPC);
    CHECK(strstr(err.msg, "the new ESP") != NULL);
    CHECK(boot_esp_fit(100 * 2048, 512, t, &err) == 0);
    CHECK(boot_esp_fit(1000, 512, t, &err) == -ERANGE);
    fatbuild_free(t);
    free(z);

    /* the checksum of the FAT specification's algorithm, by hand */
    uint8_t sum = 0;
    const uint8_t *n = (const uint8_t *)"BOOTMG~1EFI";
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)((sum >> 1) + ((sum & 1) << 7) + n[i]);
    CHECK_EQ_U64(fatbuild_lfn_checksum(n), sum);
}

int main(void)
{
    if (t_scratch("test-fatbuild") < 0)
        return 1;
    setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 1);
    check_tree("esp100", 100 * 2048);   /* 512-byte clusters */
    check_tree("esp300", 300 * 2048);   /* 4 KiB clusters */
    check_refusals();
    check_layout();
    return t_scratch_done("test_fatbuild");
}
