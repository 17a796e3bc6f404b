/* The read-only block source: what it refuses, how it reads, what it reports. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "t.h"

static char dir[64];

static void test_refusals(void)
{
    blockdev *bd = NULL;
    p2v_err err;
    char path[128];
    snprintf(path, sizeof path, "%s/missing.img", dir);
    CHECK(bd_open(path, &bd, &err) == -ENOENT);
    CHECK(strstr(err.msg, path) && strstr(err.msg, "No such file or directory"));
    CHECK(bd_open(dir, &bd, &err) == -EISDIR);
    CHECK(strstr(err.msg, "is a directory, not a disk or image file") != NULL);
    CHECK(bd_open("/dev/null", &bd, &err) == -ENODEV);
    CHECK_STR(err.msg, "/dev/null: is a character device, not a block device or image file");
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(bd_open(path, &bd, &err) == -ENODEV);
    CHECK(strstr(err.msg, "not a regular file or block device") != NULL);
}

static void test_file(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/disk.img", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0444); /* a read-only file opens fine */
    uint8_t buf[10000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    CHECK(fd >= 0 && write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    close(fd);

    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open(path, &bd, &err) == 0);
    if (!bd)
        return;
    CHECK_EQ_U64(bd_size(bd), 10000);
    CHECK_EQ_U64(bd_sector_size(bd), 512);
    CHECK(bd_sector_size_is_default(bd));
    CHECK(!bd_is_block_device(bd));
    CHECK_STR(bd_format(bd), "raw");
    int rfd = bd_raw_fd(bd);
    CHECK(rfd >= 0 && (fcntl(rfd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    uint8_t got[600];
    CHECK(bd_pread(bd, got, sizeof got, 9400, &err) == 0 && memcmp(got, buf + 9400, 600) == 0);
    CHECK(bd_pread(bd, got, sizeof got, 9401, &err) == -EIO);
    CHECK(strstr(err.msg, "read of 600 bytes at offset 9401 goes past the end (size 10000 bytes)") != NULL);
    CHECK(bd_pread(bd, got, 2, UINT64_MAX, &err) == -EIO);
    CHECK(bd_pread(bd, got, 0, 10000, &err) == 0);
    bd_set_sector_size(bd, 4096);
    CHECK(!bd_sector_size_is_default(bd) && bd_sector_size(bd) == 4096);
    bd_close(bd);
}

static void test_mem(void)
{
    static const uint8_t buf[4096] = { 1, 2, 3 };
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(buf, sizeof buf, 0, "m", &bd, &err) == 0);
    CHECK(bd && bd_sector_size_is_default(bd) && bd_raw_fd(bd) == -1);
    bd_close(bd);
    CHECK(bd_open_mem(buf, sizeof buf, 4096, "m", &bd, &err) == 0);
    CHECK(bd && !bd_sector_size_is_default(bd) && bd_sector_size(bd) == 4096);
    bd_close(bd);
    CHECK(bd_sector_size_valid(512) && bd_sector_size_valid(4096) && bd_sector_size_valid(65536));
    CHECK(!bd_sector_size_valid(0) && !bd_sector_size_valid(1000) && !bd_sector_size_valid(131072));
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/p2v-bd.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_refusals();
    test_file();
    test_mem();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_done("test_blockdev");
}
