/* Where a disk's bytes really are: through partition devices (/dev/sdb2 is
 * bytes of /dev/sdb) and loop devices (/dev/loop0 is bytes of an image
 * file), down to a whole disk or a regular file and an offset. Used to find
 * the mounted filesystems on a source (/proc/self/mountinfo) and to see the
 * same partition selected under two names. */
#include "blockdev/blockdev.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The first line of a sysfs file, without its newline; false if absent. */
static bool sys_read(const char *dir, const char *name, char *buf, size_t cap)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "re");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

static bool sys_u64(const char *dir, const char *name, uint64_t *v)
{
    char buf[64], *end;
    if (!sys_read(dir, name, buf, sizeof buf))
        return false;
    *v = strtoull(buf, &end, 10);
    return end != buf;
}

void bd_place_of_rdev(dev_t rdev, bd_place *p)
{
    *p = (bd_place){ .is_blk = true, .dev = rdev, .size = UINT64_MAX };
    for (int depth = 0; depth < 8; depth++) {
        char sys[96], buf[PATH_MAX];
        uint64_t v, size;
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(p->dev), minor(p->dev));
        if (sys_u64(sys, "partition", &v) && sys_u64(sys, "start", &v)) {
            char parent[sizeof sys + 4];
            unsigned ma, mi;
            if (p->size == UINT64_MAX && sys_u64(sys, "size", &size))
                p->size = size * 512;
            p->offset += v * 512;
            snprintf(parent, sizeof parent, "%s/..", sys);
            if (!sys_read(parent, "dev", buf, sizeof buf) || sscanf(buf, "%u:%u", &ma, &mi) != 2)
                return;
            p->dev = makedev(ma, mi);
            continue;
        }
        if (sys_read(sys, "loop/backing_file", buf, sizeof buf)) {
            struct stat st;
            uint64_t off = 0;
            sys_u64(sys, "loop/offset", &off);
            if (p->size == UINT64_MAX && sys_u64(sys, "loop/sizelimit", &size) && size)
                p->size = size;
            if (stat(buf, &st) != 0)
                return;
            p->offset += off;
            if (S_ISBLK(st.st_mode)) {
                p->dev = st.st_rdev;
                continue;
            }
            p->is_blk = false;
            p->dev = st.st_dev;
            p->ino = st.st_ino;
            return;
        }
        return;
    }
}

int bd_place_of_path(const char *path, bd_place *p)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    if (S_ISBLK(st.st_mode)) {
        bd_place_of_rdev(st.st_rdev, p);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return -ENODEV;
    *p = (bd_place){ .dev = st.st_dev, .ino = st.st_ino, .size = UINT64_MAX };
    return 0;
}

void bd_place_of(const blockdev *bd, bd_place *p)
{
    if (bd_is_block_device(bd))
        bd_place_of_rdev(bd_st_rdev(bd), p);
    else
        *p = (bd_place){ .dev = bd_st_dev(bd), .ino = bd_st_ino(bd), .size = UINT64_MAX };
}

/* [start, end) on the underlying disk or file of [off, off + len) of p,
 * clipped to p's size; saturating. */
static void span(const bd_place *p, uint64_t off, uint64_t len, uint64_t *start, uint64_t *end)
{
    uint64_t e = UINT64_MAX - off < len ? UINT64_MAX : off + len;
    if (p->size != UINT64_MAX && e > p->size)
        e = p->size;
    if (off > e)
        off = e;
    *start = UINT64_MAX - p->offset < off ? UINT64_MAX : p->offset + off;
    *end = UINT64_MAX - p->offset < e ? UINT64_MAX : p->offset + e;
}

bool bd_place_overlap(const bd_place *a, uint64_t aoff, uint64_t alen, const bd_place *b,
                      uint64_t boff, uint64_t blen)
{
    uint64_t as, ae, bs, be;
    if (a->is_blk != b->is_blk || a->dev != b->dev || (!a->is_blk && a->ino != b->ino))
        return false;
    span(a, aoff, alen, &as, &ae);
    span(b, boff, blen, &bs, &be);
    return as < be && bs < ae;
}
