/* Where the bad-sector report finds NTFS's backup boot sector when the
 * first sector is lost: the partition's last sector, or NT4's cluster in
 * the middle of the volume; a boot sector whose own fields put it
 * elsewhere, or none, is not taken (fs_ntfs_backup_boot through the NTFS
 * row's backup_boot hook). */
#include <errno.h>
#include <stdlib.h>

#include "bpb_testlib.h"
#include "fs/driver.h"
#include "util/endian.h"
#include "t.h"

#define SECTORS 8192u   /* a 4 MiB partition of 512-byte sectors */

static void boot_at(uint8_t *disk, uint64_t sector, uint64_t total, uint8_t spc)
{
    uint8_t *s = disk + sector * 512;
    bpb_sector_start(s, 0x52, "NTFS    ", spc);
    put_le64(s + 0x28, total);
    put_le64(s + 0x30, 4);
    put_le64(s + 0x38, total / spc / 2);
    s[0x40] = 0xF6;
}

/* The hook over disk: 0 and the sector it found (its first byte's place),
 * or its error. */
static int find(uint8_t *disk, uint64_t *at)
{
    blockdev *bd = NULL;
    p2v_err err;
    uint8_t sec[4096];
    size_t got = 0;
    CHECK(bd_open_mem(disk, SECTORS * 512, 512, "part", &bd, &err) == 0);
    fsmap_src s = { .bd = bd, .off = 0, .len = SECTORS * 512ull };
    int r = fs_driver_ntfs.backup_boot(&s, sec, sizeof sec, &got, &err);
    *at = UINT64_MAX;
    if (r == 0) {
        CHECK_EQ_U64(got, 512);
        for (uint64_t i = 0; i < SECTORS; i++)
            if (!memcmp(disk + i * 512, sec, 512))
                *at = i;
    }
    bd_close(bd);
    return r;
}

int main(void)
{
    uint8_t *disk = calloc(SECTORS, 512);
    uint64_t at;
    CHECK(disk != NULL);
    CHECK(fs_driver_ntfs.backup_boot != NULL);

    CHECK(find(disk, &at) == -ENOENT);          /* nothing anywhere */

    boot_at(disk, SECTORS - 1, SECTORS - 1, 8); /* NT 5 and later, mkntfs */
    CHECK(find(disk, &at) == 0);
    CHECK_EQ_U64(at, SECTORS - 1);

    memset(disk + (SECTORS - 1) * 512ull, 0, 512);
    uint64_t clusters = (SECTORS - 1) / 8, mid = clusters / 2 * 8;
    boot_at(disk, mid, SECTORS - 1, 8);         /* NT4: the middle cluster */
    CHECK(find(disk, &at) == 0);
    CHECK_EQ_U64(at, mid);

    /* The same sector with fields that place the middle elsewhere (a
     * volume of half the size) is not this volume's backup. */
    boot_at(disk, mid, SECTORS / 2, 8);
    CHECK(find(disk, &at) == -ENOENT);

    /* A last sector claiming more sectors than the partition has: no. */
    memset(disk + mid * 512, 0, 512);
    boot_at(disk, SECTORS - 1, SECTORS + 100, 8);
    CHECK(find(disk, &at) == -ENOENT);

    free(disk);
    return t_done("test_ntfs_backup");
}
