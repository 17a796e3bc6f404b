/* libntfs-3g device operations over a window of a blockdev: reads go through
 * bd_pread (so a qcow2 source works like a raw disk), writes through
 * bd_overlay_pwrite and only on an overlay, so a source is never written. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logfile.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "fs/ntfs_dev.h"

static int ntdev_open(struct ntfs_device *dev, int flags)
{
    struct ntdev *d = dev->d_private;
    bool rw = (flags & O_ACCMODE) != O_RDONLY;
    if (rw && !bd_is_overlay(d->bd)) {
        errno = EROFS;
        return -1;
    }
    NDevSetOpen(dev);
    if (rw)
        NDevClearReadOnly(dev);
    else
        NDevSetReadOnly(dev);
    return 0;
}

static int ntdev_close(struct ntfs_device *dev)
{
    NDevClearOpen(dev);
    return 0;
}

static s64 ntdev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
    struct ntdev *d = dev->d_private;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? d->pos : (int64_t)d->len;
    int64_t np;
    if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) ||
        __builtin_add_overflow(base, offset, &np) || np < 0) {
        errno = EINVAL;
        return -1;
    }
    d->pos = np;
    return np;
}

static void ntdev_fail(struct ntdev *d, const p2v_err *e)
{
    if (!d->failed) {
        d->err = *e;
        d->failed = 1;
    }
    errno = EIO;
}

/* Clip [offset, offset + count) to the window: a short transfer at the end,
 * like a device. -1 (errno set) for negative arguments. */
static s64 ntdev_clip(const struct ntdev *d, s64 count, s64 offset)
{
    if (count < 0 || offset < 0) {
        errno = EINVAL;
        return -1;
    }
    if ((uint64_t)offset >= d->len)
        return 0;
    if ((uint64_t)count > d->len - (uint64_t)offset)
        count = (s64)(d->len - (uint64_t)offset);
    return count;
}

/* Read into rbuf, or write wbuf into the overlay, the part of [offset,
 * offset + count) inside the volume: the bytes done, 0 past its end, -1 on
 * a failure (kept for ntvol's error). */
static s64 ntdev_io(struct ntdev *d, void *rbuf, const void *wbuf, s64 count, s64 offset)
{
    p2v_err e;
    count = ntdev_clip(d, count, offset);
    if (count <= 0)
        return count;
    uint64_t at = d->off + (uint64_t)offset;
    int r = rbuf ? bd_pread(d->bd, rbuf, (size_t)count, at, &e)
                 : bd_overlay_pwrite(d->bd, wbuf, (size_t)count, at, &e);
    if (r < 0) {
        ntdev_fail(d, &e);
        return -1;
    }
    return count;
}

static s64 ntdev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
    return ntdev_io(dev->d_private, buf, NULL, count, offset);
}

static s64 ntdev_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 offset)
{
    if (NDevReadOnly(dev)) {
        errno = EROFS;
        return -1;
    }
    s64 n = ntdev_io(dev->d_private, NULL, buf, count, offset);
    if (n > 0)
        NDevSetDirty(dev);
    return n;
}

static s64 ntdev_read(struct ntfs_device *dev, void *buf, s64 count)
{
    struct ntdev *d = dev->d_private;
    s64 n = ntdev_pread(dev, buf, count, d->pos);
    if (n > 0)
        d->pos += n;
    return n;
}

static s64 ntdev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
    struct ntdev *d = dev->d_private;
    s64 n = ntdev_pwrite(dev, buf, count, d->pos);
    if (n > 0)
        d->pos += n;
    return n;
}

static int ntdev_sync(struct ntfs_device *dev)
{
    NDevClearDirty(dev);
    return 0;
}

static int ntdev_stat(struct ntfs_device *dev, struct stat *st)
{
    struct ntdev *d = dev->d_private;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0600;
    st->st_size = (off_t)d->len;
    return 0;
}

static int ntdev_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
    struct ntdev *d = dev->d_private;
    if (request == BLKGETSIZE64) {
        *(uint64_t *)argp = d->len;
        return 0;
    }
    if (request == BLKSSZGET) {
        *(int *)argp = (int)bd_sector_size(d->bd);
        return 0;
    }
    errno = ENOTTY;
    return -1;
}

static struct ntfs_device_operations ntdev_ops = {
    .open = ntdev_open,
    .close = ntdev_close,
    .seek = ntdev_seek,
    .read = ntdev_read,
    .write = ntdev_write,
    .pread = ntdev_pread,
    .pwrite = ntdev_pwrite,
    .sync = ntdev_sync,
    .stat = ntdev_stat,
    .ioctl = ntdev_ioctl,
};

struct ntfs_device *ntdev_alloc(struct ntdev *d)
{
    return ntfs_device_alloc(bd_path(d->bd), 0, &ntdev_ops, d);
}

/* libntfs-3g reports through a process-wide log handler; p2v keeps its
 * last error line (per thread) to explain a failed mount, and prints
 * nothing itself: only the CLI speaks. */
static _Thread_local char ntfs_last_msg[200];

static int ntfs_capture_log(const char *function, const char *file, int line, u32 level,
                            void *data, const char *format, va_list args)
{
    if (level & (NTFS_LOG_LEVEL_ERROR | NTFS_LOG_LEVEL_PERROR | NTFS_LOG_LEVEL_CRITICAL)) {
        vsnprintf(ntfs_last_msg, sizeof ntfs_last_msg, format, args);
        size_t l = strlen(ntfs_last_msg);
        while (l > 0 && (ntfs_last_msg[l - 1] == '\n' || ntfs_last_msg[l - 1] == '.'))
            ntfs_last_msg[--l] = '\0';
    }
    return 0;
}

void ntdev_capture_log(void)
{
    ntfs_log_set_handler(ntfs_capture_log);
    ntfs_last_msg[0] = '\0';
}

const char *ntdev_last_msg(void) { return ntfs_last_msg; }

/* ---- is the volume clean? ---- */

/* Is hiberfil.sys in use? "hibr"/"HIBR" at its start: a hibernated
 * Windows (or Fast Startup); "rstr"/"RSTR": a resume from it was in
 * progress, so the image is still needed as much. */
static bool ntdev_hibernated(ntfs_volume *vol)
{
    bool hib = false;
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, "hiberfil.sys");
    if (!ni)
        return false;
    ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (na) {
        char buf[4];
        if (na->data_size >= 4 && ntfs_attr_pread(na, 0, 4, buf) == 4 &&
            (!strncasecmp(buf, "hibr", 4) || !strncasecmp(buf, "rstr", 4)))
            hib = true;
        ntfs_attr_close(na);
    }
    ntfs_inode_close(ni);
    return hib;
}

/* Does $LogFile hold unfinished transactions? Unreadable counts as unclean. */
static bool ntdev_logfile_unclean(ntfs_volume *vol)
{
    bool unclean = true;
    RESTART_PAGE_HEADER *rp = NULL;
    ntfs_inode *ni = ntfs_inode_open(vol, FILE_LogFile);
    if (!ni)
        return true;
    ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (na) {
        if (ntfs_check_logfile(na, &rp) && ntfs_is_logfile_clean(na, rp))
            unclean = false;
        free(rp);
        ntfs_attr_close(na);
    }
    ntfs_inode_close(ni);
    return unclean;
}

const char *ntdev_unclean_reason(ntfs_volume *vol)
{
    if (vol->flags & VOLUME_IS_DIRTY)
        return "is marked dirty (Windows did not shut it down cleanly)";
    if (ntdev_hibernated(vol))
        return "holds a hibernated Windows (hiberfil.sys in use: Fast Startup or hibernation)";
    if (ntdev_logfile_unclean(vol))
        return "has unfinished transactions in its journal ($LogFile)";
    return NULL;
}
