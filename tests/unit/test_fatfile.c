/* FAT files by path through a copy-on-write overlay (an ESP's BCD): long
 * and short names found in any case, files grown and shrunk in place on
 * FAT32 and FAT16; the source stays the same, the edited view passes
 * fsck.fat -n and mtools reads back every file. FAT12 is read, not written. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev/overlay.h"
#include "source/source.h"
#include "fs/fatfile.h"
#include "sh_testlib.h"
#include "t.h"

#define MiB (1024u * 1024u)
#define PART_OFF MiB

/* A disk with 1 MiB of pattern, then a FAT volume of `bits` holding
 * EFI/Microsoft/Boot/BCD (40000 bytes), EFI/Boot/bootx64.efi and keep.bin. */
static int make_disk(int bits, unsigned mib)
{
    return sh("rm -f disk.img part.img && truncate -s %uM part.img && "
              "mkfs.vfat -F %d -S 512 part.img >/dev/null && head -c 40000 /dev/urandom >BCD && "
              "head -c 70000 /dev/urandom >keep.bin && head -c 9000 /dev/urandom >boot.efi && "
              "mmd -i part.img ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot ::/EFI/Boot && "
              "mcopy -i part.img BCD ::/EFI/Microsoft/Boot/BCD && "
              "mcopy -i part.img boot.efi ::/EFI/Boot/bootx64.efi && mcopy -i part.img keep.bin "
              "::/keep.bin", mib, bits) == 0 ? disk_around_part(PART_OFF) : -1;
}

static void test_fat(int bits, unsigned mib)
{
    uint64_t len = (uint64_t)mib * MiB;
    CHECK(make_disk(bits, mib) == 0);
    blockdev *src = t_source("disk.img"), *ov = NULL;
    fatvol *v = NULL;
    p2v_err err;
    if (!src)
        return;
    CHECK(fatvol_open(src, PART_OFF, len, true, &v, &err) == -EROFS);
    CHECK(bd_overlay_open(src, PART_OFF, len, NULL, &ov, &err) == 0);
    CHECK(ov && fatvol_open(ov, 0, len, true, &v, &err) == 0);
    if (!v) {
        fprintf(stderr, "FAT%d: %s\n", bits, err.msg);
        bd_close(ov);
        bd_close(src);
        return;
    }
    size_t bcd_len, got_len;
    uint8_t *bcd = slurp("BCD", &bcd_len), *got = NULL;
    /* Long names and 8.3 names, any case, either separator. */
    CHECK(fatvol_read_file(v, "\\efi\\MICROSOFT\\boot\\bcd", 1 << 20, &got, &got_len, &err) == 0);
    CHECK(got && got_len == 40000 && bcd && memcmp(got, bcd, got_len) == 0);
    free(got);
    bool ex = false, isdir = false;
    uint64_t size = 0;
    CHECK(fatvol_stat(v, "/EFI/Boot", &ex, &isdir, &size, &err) == 0 && ex && isdir);
    CHECK(fatvol_stat(v, "/EFI/Boot/BOOTX64.EFI", &ex, &isdir, &size, &err) == 0 && ex &&
          !isdir && size == 9000);
    CHECK(fatvol_stat(v, "/EFI/none", &ex, NULL, NULL, &err) == 0 && !ex);
    CHECK(fatvol_read_file(v, "/EFI/Microsoft/Boot/BCD", 100, &got, &got_len, &err) == -EFBIG);
    CHECK(fatvol_read_file(v, "/EFI/missing", 100, &got, &got_len, &err) == -ENOENT);
    CHECK(fatvol_read_file(v, "/EFI", 100, &got, &got_len, &err) == -EISDIR);

    /* Grow one file, shrink another. */
    uint8_t *big = malloc(100000), small[5000];
    for (size_t i = 0; i < 100000; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    memset(small, 0x3C, sizeof small);
    int r = fatvol_replace_file(v, "/EFI/Microsoft/Boot/BCD", big, 100000, &err);
    if (bits == 12) {
        CHECK(r == -ENOTSUP);
    } else {
        CHECK(r == 0);
        CHECK(fatvol_replace_file(v, "/keep.bin", small, sizeof small, &err) == 0);
        CHECK(fatvol_read_file(v, "/EFI/Microsoft/Boot/BCD", 1 << 20, &got, &got_len, &err) == 0);
        CHECK(got && got_len == 100000 && memcmp(got, big, got_len) == 0);
        free(got);
        CHECK(spill_view(ov, len) == 0);
        CHECK(spill("big", big, 100000) == 0 && spill("small", small, sizeof small) == 0);
        /* dosfstools and mtools, not p2v, judge the result. */
        CHECK(sh("fsck.fat -n view.img") == 0);
        static const char *const same[][2] = { /* the volume's file, the local one */
            { "/EFI/Microsoft/Boot/BCD", "big" },
            { "/keep.bin", "small" },
            { "/EFI/Boot/bootx64.efi", "boot.efi" },
        };
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
            CHECK(sh("mtype -i view.img ::%s | cmp - %s", same[i][0], same[i][1]) == 0);
    }
    CHECK(sh("sha256sum -c --quiet disk.sum") == 0);
    free(big);
    free(bcd);
    fatvol_close(v);
    bd_close(ov);
    bd_close(src);
}

int main(void)
{
    if (t_scratch("fat") < 0)
        return 1;
    test_fat(32, 40);
    test_fat(16, 20);
    test_fat(12, 4);
    return t_scratch_done("test_fatfile");
}
