/* Mounted sources: the mountinfo parser on hand-written lines, then real
 * mounts (ext4, vfat, and ntfs-3g through FUSE) of loop devices over an image
 * file with two partitions, found through the image file and the loop
 * device, read-write and read-only. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "sh_testlib.h"
#include "t.h"

static void test_parse(void)
{
    const char text[] =
        "36 35 98:0 /mnt1 /mnt\\040point rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
        "garbage line without fields\n"
        "37 35 0:55 / /media/win ro,relatime - fuseblk /dev/loop0p2 rw,user_id=0\n"
        "38 35 8:2 / /data rw - ext4 /dev/sda2 ro\n"
        "39 35 8:3 / /x rw";
    size_t pos = 0;
    bd_mountinfo e;
    CHECK(bd_mountinfo_next(text, strlen(text), &pos, &e) == 1);
    CHECK(e.major == 98 && e.minor == 0 && !e.ro);
    CHECK_STR(e.point, "/mnt point");
    CHECK_STR(e.fstype, "ext3");
    CHECK_STR(e.source, "/dev/root");
    CHECK(bd_mountinfo_next(text, strlen(text), &pos, &e) == 1);
    CHECK(e.major == 0 && e.minor == 55 && e.ro);
    CHECK_STR(e.source, "/dev/loop0p2");
    CHECK(bd_mountinfo_next(text, strlen(text), &pos, &e) == 1);
    CHECK(e.ro); /* read-only superblock */
    CHECK_STR(e.point, "/data");
    CHECK(bd_mountinfo_next(text, strlen(text), &pos, &e) == 0); /* truncated last line */
}

static char loops[3][64]; /* the whole image, partition 1, partition 2 */

static bool mounted_any;

static void cleanup(void)
{
    if (!mounted_any)
        return;
    mounted_any = false;
    sh("umount -l m1 m2 2>/dev/null; true");
    for (int i = 0; i < 3; i++)
        if (loops[i][0]) {
            sh("losetup -d %s", loops[i]);
            loops[i][0] = '\0';
        }
}

#define P1 (1024u * 1024u)       /* partition 1: 1 MiB .. 17 MiB */
#define P2 (17u * 1024u * 1024u) /* partition 2: 17 MiB .. 33 MiB */
#define PLEN (16u * 1024u * 1024u)

/* A loop device over disk.img (with options, e.g. an offset): its path. */
static void attach(int i, const char *opts)
{
    char p[512];
    snprintf(p, sizeof p, "cd %s && losetup -f --show %s disk.img", dir, opts);
    FILE *f = popen(p, "r");
    CHECK(f && fgets(loops[i], sizeof loops[i], f));
    if (f)
        pclose(f);
    loops[i][strcspn(loops[i], "\n")] = '\0';
}

/* Expect (want 1) or not (0) a mount on partition `part`, with its mount
 * point and mode, looking through bd. */
static void expect(blockdev *bd, int part, int want, bool want_ro, const char *point)
{
    bd_mountinfo m;
    p2v_err err;
    int r = bd_find_mount(bd, part == 1 ? P1 : P2, PLEN, &m, &err);
    CHECK(r == want);
    if (r == 1 && want == 1) {
        CHECK(m.ro == want_ro);
        CHECK(strstr(m.point, point) != NULL);
    }
}

/* ext4 on partition 1 with the kernel, fs2 on partition 2 (made by mkfs2,
 * mounted by the shell commands rw2 and ro2 with $D the device, on m2);
 * both through loop devices with offsets, as one mounts partitions of an
 * image file. */
static void test_real(const char *fs2, const char *mkfs2, const char *rw2, const char *ro2)
{
    blockdev *img = NULL, *whole = NULL;
    p2v_err err;
    char p[512];
    CHECK(sh("rm -f disk.img && truncate -s 40M disk.img && "
             "printf 'start=2048,size=32768,type=83\\nstart=34816,size=32768,type=7\\n' | "
             "sfdisk -q disk.img && mkdir -p m1 m2") == 0);
    mounted_any = true;
    attach(0, "");
    attach(1, "-o 1MiB --sizelimit 16MiB");
    attach(2, "-o 17MiB --sizelimit 16MiB");
    CHECK(sh("mkfs.ext4 -q -F %s && %s %s", loops[1], mkfs2, loops[2]) == 0);
    snprintf(p, sizeof p, "%s/disk.img", dir);
    CHECK(source_open(p, NULL, &img, &err) == 0);
    CHECK(source_open(loops[0], NULL, &whole, &err) == 0);

    expect(img, 1, 0, false, "");
    CHECK(sh("mount -o rw %s m1 && D=%s && %s", loops[1], loops[2], rw2) == 0);
    expect(img, 1, 1, false, "/m1");
    expect(img, 2, 1, false, "/m2");
    expect(whole, 1, 1, false, "/m1");
    expect(whole, 2, 1, false, "/m2");
    CHECK(sh("umount m2 && D=%s && %s && mount -o remount,ro m1", loops[2], ro2) == 0);
    expect(img, 1, 1, true, "/m1");
    expect(whole, 2, 1, true, "/m2");
    CHECK(sh("umount m1 m2") == 0);
    expect(img, 1, 0, false, "");
    expect(whole, 2, 0, false, "");
    fprintf(stderr, "  ext4 and %s: rw and ro mounts found through the image and a loop device\n",
            fs2);
    bd_close(img);
    bd_close(whole);
    cleanup();
}

int main(void)
{
    test_parse();
    if (t_scratch("mounts") < 0)
        return 1;
    atexit(cleanup);
    /* vfat through FUSE (fusefat: not every kernel has vfat), naming its
     * device as ntfs-3g does */
    test_real("vfat (fusefat)", "mkfs.vfat", "fusefat -o rw+,fsname=$D $D m2",
              "fusefat -o ro,fsname=$D $D m2");
    test_real("ntfs-3g (FUSE)", "mkntfs -q -F -Q", "ntfs-3g $D m2", "ntfs-3g -o ro $D m2");
    return t_scratch_done("test_mounts");
}
