/* Bad sectors in filesystem metadata, in process: a FAT's first FAT and an
 * ext4's group descriptors made unreadable with bd_open_faulty. The used
 * map cannot be built: fsmap_build fails with -EIO naming the disk and the
 * exact sector (the convert library then copies every sector under
 * --bad-sectors zero, which the bad_sectors integration test shows for NTFS). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fsmap.h"
#include "sh_testlib.h"
#include "t.h"

/* fsmap_build over fs.img with byte `bad` unreadable: -EIO naming sector bad/512. */
static void expect_eio(const char *what, uint64_t bad)
{
    size_t len;
    uint8_t *img = slurp("fs.img", &len);
    CHECK(img != NULL && len > 0);
    blockdev *mem = NULL, *bd = NULL;
    extent_list ex = { 0 };
    p2v_err err;
    fsmap m;
    char want[96];
    CHECK(bd_open_mem(img, len, 512, "old.img", &mem, &err) == 0);
    CHECK(fsmap_build(mem, 0, len, NULL, &m, &err) == 0 && !m.full);
    fsmap_free(&m);
    extent_list_add(&ex, bad, 1);
    CHECK(bd_open_faulty(mem, &ex, &bd, &err) == 0);
    CHECK(fsmap_build(bd, 0, len, NULL, &m, &err) == -EIO);
    snprintf(want, sizeof want, "(sector %llu)", (unsigned long long)(bad / 512));
    fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(strstr(err.msg, "old.img") != NULL);
    CHECK(strstr(err.msg, want) != NULL);
    bd_close(bd);
    bd_close(mem);
    extent_list_free(&ex);
    free(img);
}

int main(void)
{
    if (t_scratch("badmeta") < 0)
        return 1;
    /* FAT16: 4 reserved sectors, FAT #1 from sector 4: its second sector */
    CHECK(sh("truncate -s 16M fs.img && mkfs.vfat -F 16 -R 4 fs.img") == 0);
    expect_eio("FAT #1", 5 * 512 + 100);
    /* ext4 with 1 KiB blocks: the group descriptors in block 2 */
    CHECK(sh("rm fs.img && truncate -s 16M fs.img && mkfs.ext4 -q -F -b 1024 fs.img") == 0);
    expect_eio("ext4 group descriptors", 2 * 1024);
    return t_scratch_done("test_bad_metadata");
}
