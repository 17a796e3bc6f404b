#include "blockdev/blockdev_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"

blockdev *bd_alloc(const struct bd_ops *ops, const char *path)
{
    blockdev *bd = calloc(1, sizeof *bd);
    if (!bd)
        return NULL;
    bd->path = strdup(path ? path : "");
    if (!bd->path) {
        free(bd);
        return NULL;
    }
    bd->ops = ops;
    bd->sector_size = 512;
    return bd;
}

blockdev *bd_alloc_priv(const struct bd_ops *ops, const char *path, size_t priv_size)
{
    void *priv = calloc(1, priv_size ? priv_size : 1);
    blockdev *bd = priv ? bd_alloc(ops, path) : NULL;
    if (!bd) {
        free(priv);
        return NULL;
    }
    bd->priv = priv;
    bd->owns_priv = true;
    return bd;
}

int bd_view_new(const struct bd_ops *ops, const blockdev *base, const char *name, uint64_t size,
                size_t priv_size, unsigned flags, blockdev **out, p2v_err *err)
{
    blockdev *bd = bd_alloc_priv(ops, name ? name : base->path, priv_size);
    if (!bd)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", base->path);
    bd->size = size;
    bd->sector_size = base->sector_size;
    bd->sector_size_set = base->sector_size_set;
    if (flags & BD_VIEW_BACKING)
        bd->backing = base;
    if (flags & BD_VIEW_IDENTITY) {
        bd->is_blockdev = base->is_blockdev;
        bd->st_dev = base->st_dev;
        bd->st_ino = base->st_ino;
        bd->st_rdev = base->st_rdev;
    }
    *out = bd;
    return 0;
}

int bd_view_new_at(const struct bd_ops *ops, const blockdev *base, uint64_t off, uint64_t size,
                   size_t priv_size, unsigned flags, blockdev **out, p2v_err *err)
{
    char name[4096 + 24];
    snprintf(name, sizeof name, "%s@%llu", base->path, (unsigned long long)off);
    return bd_view_new(ops, base, name, size, priv_size, flags, out, err);
}

int bd_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    uint64_t end;
    if (__builtin_add_overflow(off, (uint64_t)len, &end) || end > bd->size)
        return p2v_errf_at(err, -EIO, bd->path,
                           "read of %zu bytes at offset %llu goes past the end (size %llu bytes)",
                           len, (unsigned long long)off, (unsigned long long)bd->size);
    if (len == 0)
        return 0;
    return bd->ops->pread(bd, buf, len, off, err);
}

uint64_t bd_size(const blockdev *bd) { return bd->size; }
uint32_t bd_sector_size(const blockdev *bd) { return bd->sector_size; }
const char *bd_path(const blockdev *bd) { return bd->path; }
const char *bd_format(const blockdev *bd) { return bd->format ? bd->format : bd->ops->format; }
bool bd_is_block_device(const blockdev *bd) { return bd->is_blockdev; }
dev_t bd_st_dev(const blockdev *bd) { return bd->st_dev; }
ino_t bd_st_ino(const blockdev *bd) { return bd->st_ino; }
dev_t bd_st_rdev(const blockdev *bd) { return bd->st_rdev; }
const blockdev *bd_backing(const blockdev *bd) { return bd->backing; }

void bd_origin(const blockdev *bd, uint64_t off, const blockdev **disk, uint64_t *disk_off)
{
    const blockdev *base;
    uint64_t at;
    while (bd->ops->origin && bd->ops->origin(bd, off, &base, &at)) {
        bd = base;
        off = at;
    }
    *disk = bd;
    *disk_off = off;
}
void bd_set_sector_size(blockdev *bd, uint32_t sector_size)
{
    bd->sector_size = sector_size;
    bd->sector_size_set = true;
}
bool bd_sector_size_is_default(const blockdev *bd) { return !bd->sector_size_set; }
bool bd_sector_size_valid(uint64_t ss) { return ss >= 512 && ss <= 65536 && (ss & (ss - 1)) == 0; }

void bd_close(blockdev *bd)
{
    if (!bd)
        return;
    if (bd->ops->close)
        bd->ops->close(bd);
    if (bd->owns_priv)
        free(bd->priv);
    free(bd->path);
    free(bd);
}

/* ---- file / block device backend ---- */

/* Reads of at least this size go around the page cache where they can: a
 * copy reads each byte once, so caching it only costs a memcpy per byte,
 * evicts what the machine had cached, and makes the last close of a block
 * device drop the cached pages (0.1 s per GiB measured). Smaller reads
 * (metadata, short used extents) keep the kernel's caching and readahead. */
#define DIRECT_MIN (1u << 20)

struct file_priv {
    int fd;
    int dfd;          /* the same file opened O_DIRECT, or -1 (tmpfs, FUSE...) */
    bool direct_gone; /* an O_DIRECT read was refused: buffered reads only */
};

static bool file_direct_ok(blockdev *bd, const void *buf, size_t len, uint64_t off)
{
    struct file_priv *fp = bd->priv;
    return fp->dfd >= 0 && len >= DIRECT_MIN &&
           !__atomic_load_n(&fp->direct_gone, __ATOMIC_RELAXED) &&
           io_direct_aligned(buf, len, off, bd->sector_size);
}

static int file_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct file_priv *fp = bd->priv;
    size_t done;
    bool direct = file_direct_ok(bd, buf, len, off);
    int r = pread_full(direct ? fp->dfd : fp->fd, buf, len, off, &done);
    if (direct && r == -EINVAL && done == 0) { /* the file system wants other alignment */
        __atomic_store_n(&fp->direct_gone, true, __ATOMIC_RELAXED);
        r = pread_full(fp->fd, buf, len, off, &done);
    }
    off += done;
    if (r < 0 && len - done > bd->sector_size) {
        /* The failed read may span many sectors: name the first one that
         * fails on its own, as for a block device. */
        uint64_t end = off + (len - done), ss = bd->sector_size;
        for (uint64_t p = off; p < end; p = (p / ss + 1) * ss) {
            size_t n = (size_t)(((p / ss + 1) * ss < end ? (p / ss + 1) * ss : end) - p), got;
            if (pread_full(fp->fd, (uint8_t *)buf + (p - (off - done)), n, p, &got) < 0) {
                off = p;
                break;
            }
        }
    }
    if (r < 0)
        return p2v_errf_at(err, r, bd->path, "read error at offset %llu (sector %llu): %s",
                           (unsigned long long)off, (unsigned long long)(off / bd->sector_size),
                           strerror(-r));
    if (done < len)
        return p2v_errf_at(err, -EIO, bd->path, "unexpected end of file at offset %llu",
                           (unsigned long long)off);
    return 0;
}

static void file_close(blockdev *bd)
{
    struct file_priv *fp = bd->priv;
    close(fp->fd);
    if (fp->dfd >= 0)
        close(fp->dfd);
}

static const struct bd_ops file_ops = {
    .format = "raw",
    .pread = file_pread,
    .close = file_close,
};

int bd_raw_fd(const blockdev *bd)
{
    if (bd->ops != &file_ops)
        return -1;
    return ((const struct file_priv *)bd->priv)->fd;
}

int bd_limit(blockdev *bd, uint64_t size, const char *format, p2v_err *err)
{
    if (bd->ops != &file_ops || size == 0 || size > bd->size)
        return p2v_errf(err, -EINVAL, "%s: cannot limit to %llu bytes (%llu bytes)", bd->path,
                        (unsigned long long)size, (unsigned long long)bd->size);
    bd->size = size;
    bd->format = format;
    return 0;
}

int bd_open_raw(const char *path, blockdev **out, p2v_err *err)
{
    int fd = -1, r;
    blockdev *bd = NULL;
    struct stat st;

    if (stat(path, &st) < 0)
        return p2v_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return p2v_errf(err, -EISDIR, "%s: is a directory, not a disk or image file", path);
    if (S_ISCHR(st.st_mode))
        return p2v_errf(err, -ENODEV, "%s: is a character device, not a block device or image file",
                        path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return p2v_errf(err, -ENODEV, "%s: not a regular file or block device", path);

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return p2v_errf(err, -errno, "%s: cannot open for reading: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        r = p2v_errf(err, -errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* The path may have been replaced between stat() and open(). */
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        r = p2v_errf(err, -ENODEV, "%s: not a regular file or block device", path);
        goto out;
    }
    bd = bd_alloc_priv(&file_ops, path, sizeof(struct file_priv));
    if (!bd) {
        r = p2v_errf(err, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    struct file_priv *fp = bd->priv;
    fp->fd = fd;
    fp->dfd = -1;
    fd = -1;
    bd->st_dev = st.st_dev;
    bd->st_ino = st.st_ino;
    bd->st_rdev = st.st_rdev;
    if (S_ISBLK(st.st_mode)) {
        uint64_t size = 0;
        int ssz = 0;
        bd->is_blockdev = true;
        if (ioctl(fp->fd, BLKGETSIZE64, &size) < 0) {
            r = p2v_errf(err, -errno, "%s: BLKGETSIZE64: %s", path, strerror(errno));
            goto out;
        }
        if (ioctl(fp->fd, BLKSSZGET, &ssz) < 0) {
            r = p2v_errf(err, -errno, "%s: BLKSSZGET: %s", path, strerror(errno));
            goto out;
        }
        if (!bd_sector_size_valid((uint64_t)(ssz > 0 ? ssz : 0))) {
            r = p2v_errf(err, -EINVAL, "%s: unsupported logical sector size %d", path, ssz);
            goto out;
        }
        bd->size = size;
        bd->sector_size = (uint32_t)ssz;
        bd->sector_size_set = true;
    } else {
        bd->size = (uint64_t)st.st_size;
        bd->sector_size = 512;
    }
    fp->dfd = reopen_fd(fp->fd, O_RDONLY | O_DIRECT | O_NOCTTY); /* -1: tmpfs, FUSE... */
    *out = bd;
    return 0;
out:
    if (fd >= 0)
        close(fd);
    bd_close(bd);
    return r;
}

/* ---- memory backend ---- */

static int mem_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    memcpy(buf, (const uint8_t *)bd->priv + off, len);
    return 0;
}

static const struct bd_ops mem_ops = {
    .format = "raw",
    .pread = mem_pread,
    .close = NULL,
};

int bd_open_mem(const uint8_t *buf, size_t len, uint32_t sector_size, const char *name,
                blockdev **out, p2v_err *err)
{
    blockdev *bd = bd_alloc(&mem_ops, name ? name : "(memory)");
    if (!bd)
        return p2v_errf(err, -ENOMEM, "out of memory");
    bd->priv = (void *)buf;
    bd->size = len;
    bd->sector_size = sector_size ? sector_size : 512;
    bd->sector_size_set = sector_size != 0;
    *out = bd;
    return 0;
}
