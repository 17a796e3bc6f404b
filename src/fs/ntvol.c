/* Reading and writing files of an NTFS volume through libntfs-3g over a
 * blockdev window (writes only into a copy-on-write overlay). */
#include "fs/ntvol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include <ntfs-3g/layout.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "fs/driver.h"
#include "fs/ntfs_dev.h"

struct ntvol {
    struct ntdev d;
    ntfs_volume *vol;
    bool writable;
    char name[300]; /* "<bd path>@<offset>" for messages */
};

static int ntvol_mount(ntvol *v, unsigned long mnt_flags, p2v_err *err)
{
    ntdev_capture_log();
    struct ntfs_device *dev = ntdev_alloc(&v->d);
    if (!dev)
        return p2v_errf(err, -ENOMEM, "out of memory");
    v->vol = ntfs_device_mount(dev, mnt_flags);
    if (v->vol) {
        ntfs_set_ignore_case(v->vol);
        return 0;
    }
    if (NDevOpen(dev))
        dev->d_ops->close(dev);
    ntfs_device_free(dev);
    if (v->d.failed) {
        *err = v->d.err;
        return p2v_err_prefix(err, -EIO, "%s: NTFS", v->name);
    }
    return p2v_errf(err, -EINVAL, "%s: NTFS volume cannot be opened%s (%s)", v->name,
                    mnt_flags & NTFS_MNT_RDONLY ? "" : " for writing",
                    ntdev_last_msg()[0] ? ntdev_last_msg() : "libntfs-3g refused it");
}

/* Mount read-only first: a volume that is not clean is refused for writing
 * before libntfs-3g changes anything (it resets the journal when mounting
 * read-write). */
int ntvol_open(blockdev *bd, uint64_t off, uint64_t len, unsigned flags, ntvol **out,
               p2v_err *err)
{
    bool wr = flags & NTVOL_WRITE;
    ntvol *v = calloc(1, sizeof *v);
    if (!v)
        return p2v_errf(err, -ENOMEM, "out of memory");
    if (off)
        snprintf(v->name, sizeof v->name, "%s@%llu", bd_path(bd), (unsigned long long)off);
    else
        snprintf(v->name, sizeof v->name, "%s", bd_path(bd));
    v->d = (struct ntdev){ .bd = bd, .off = off, .len = len };
    int r;
    if (wr && !bd_is_overlay(bd)) {
        r = p2v_errf(err, -EROFS, "%s: NTFS volume can only be written through an overlay",
                     v->name);
        goto fail;
    }
    if ((r = ntvol_mount(v, NTFS_MNT_RDONLY, err)) < 0)
        goto fail;
    const char *why = wr ? ntdev_unclean_reason(v->vol) : NULL;
    if (why) {
        r = p2v_errf(err, -EBUSY, "%s: NTFS volume %s: it cannot be edited", v->name, why);
        goto fail;
    }
    if (wr) {
        ntfs_umount(v->vol, FALSE);
        v->vol = NULL;
        if ((r = ntvol_mount(v, NTFS_MNT_NONE, err)) < 0)
            goto fail;
        v->writable = true;
    }
    *out = v;
    return 0;
fail:
    if (v->vol)
        ntfs_umount(v->vol, FALSE);
    free(v);
    return r;
}

int ntvol_close(ntvol *v, p2v_err *err)
{
    if (!v)
        return 0;
    int r = 0;
    if (ntfs_umount(v->vol, FALSE) != 0)
        r = p2v_errf(err, -EIO, "%s: NTFS volume could not be written back (%s)", v->name,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    if (v->d.failed) {
        *err = v->d.err;
        r = p2v_err_prefix(err, -EIO, "%s: NTFS", v->name);
    }
    free(v);
    return r;
}

/* path with '\' turned into '/', in a caller buffer; -ENAMETOOLONG. */
static int norm_path(const ntvol *v, const char *path, char *out, size_t cap, p2v_err *err)
{
    size_t n = strlen(path);
    if (n + 1 > cap)
        return p2v_errf(err, -ENAMETOOLONG, "%s: path too long: %s", v->name, path);
    for (size_t i = 0; i <= n; i++)
        out[i] = path[i] == '\\' ? '/' : path[i];
    return 0;
}

/* The inode at path, or NULL with errno (ENOENT when missing). */
static ntfs_inode *lookup(ntvol *v, const char *path, p2v_err *err, int *r)
{
    char p[4096];
    if ((*r = norm_path(v, path, p, sizeof p, err)) < 0)
        return NULL;
    ntfs_inode *ni = ntfs_pathname_to_inode(v->vol, NULL, p);
    if (!ni) {
        *r = v->d.failed ? -EIO : -ENOENT;
        if (v->d.failed) {
            *err = v->d.err;
            p2v_err_prefix(err, *r, "%s: %s", v->name, path);
        }
    }
    return ni;
}

static bool is_dir(const ntfs_inode *ni)
{
    return (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
}

int ntvol_stat(ntvol *v, const char *path, bool *exists, bool *isdir, uint64_t *size,
               p2v_err *err)
{
    int r;
    ntfs_inode *ni = lookup(v, path, err, &r);
    *exists = ni != NULL;
    if (!ni)
        return r == -ENOENT ? 0 : r;
    if (isdir)
        *isdir = is_dir(ni);
    if (size)
        *size = is_dir(ni) ? 0 : (uint64_t)ni->data_size;
    ntfs_inode_close(ni);
    return 0;
}

static int read_attr(ntvol *v, ntfs_attr *na, const char *path, uint8_t *buf, size_t len,
                     p2v_err *err)
{
    size_t done = 0;
    while (done < len) {
        s64 got = ntfs_attr_pread(na, (s64)done, (s64)(len - done), buf + done);
        if (got <= 0) {
            if (v->d.failed) {
                *err = v->d.err;
                return p2v_err_prefix(err, -EIO, "%s: %s", v->name, path);
            }
            return p2v_errf(err, -EIO, "%s: %s: read failed at byte %zu (%s)", v->name, path,
                            done, ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
        }
        done += (size_t)got;
    }
    return 0;
}

int ntvol_read_file(ntvol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                    p2v_err *err)
{
    int r;
    ntfs_attr *na = NULL;
    uint8_t *buf = NULL;
    ntfs_inode *ni = lookup(v, path, err, &r);
    if (!ni)
        return r == -ENOENT ? p2v_errf(err, r, "%s: %s: no such file", v->name, path) : r;
    if (is_dir(ni)) {
        r = p2v_errf(err, -EISDIR, "%s: %s is a directory", v->name, path);
        goto out;
    }
    na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (!na) {
        r = p2v_errf(err, -EIO, "%s: %s: no data attribute", v->name, path);
        goto out;
    }
    if (na->data_size < 0 || (uint64_t)na->data_size > max) {
        r = p2v_errf(err, -EFBIG, "%s: %s: %lld bytes, more than the %zu expected", v->name,
                     path, (long long)na->data_size, max);
        goto out;
    }
    size_t n = (size_t)na->data_size;
    buf = malloc(n ? n : 1);
    if (!buf) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = read_attr(v, na, path, buf, n, err)) < 0)
        goto out;
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (na)
        ntfs_attr_close(na);
    ntfs_inode_close(ni);
    return r;
}

/* Split path into its parent directory's inode and the last name (UTF-16,
 * *uname to free). */
static int open_parent(ntvol *v, const char *path, ntfs_inode **dir, ntfschar **uname,
                       int *ulen, p2v_err *err)
{
    char p[4096];
    int r = norm_path(v, path, p, sizeof p, err);
    if (r < 0)
        return r;
    char *slash = strrchr(p, '/');
    const char *name = slash ? slash + 1 : p;
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return p2v_errf(err, -EINVAL, "%s: %s: not a file name", v->name, path);
    *uname = NULL;
    *ulen = ntfs_mbstoucs(name, uname);
    if (*ulen <= 0)
        return p2v_errf(err, -EINVAL, "%s: %s: name cannot be converted to UTF-16", v->name,
                        path);
    if (slash)
        *slash = '\0';
    *dir = ntfs_pathname_to_inode(v->vol, NULL, slash && p[0] ? p : "/");
    if (!*dir || !is_dir(*dir)) {
        if (*dir)
            ntfs_inode_close(*dir);
        free(*uname);
        return p2v_errf(err, -ENOENT, "%s: %s: parent directory missing", v->name, path);
    }
    return 0;
}

static int create(ntvol *v, const char *path, mode_t type, ntfs_inode **out, p2v_err *err)
{
    ntfs_inode *dir;
    ntfschar *uname;
    int ulen;
    int r = open_parent(v, path, &dir, &uname, &ulen, err);
    if (r < 0)
        return r;
    *out = ntfs_create(dir, const_cpu_to_le32(0), uname, (u8)ulen, type);
    if (!*out)
        r = p2v_errf(err, -errno ? -errno : -EIO, "%s: %s cannot be created (%s)", v->name, path,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    free(uname);
    ntfs_inode_close(dir);
    return r;
}

static int write_data(ntvol *v, ntfs_inode *ni, const char *path, const uint8_t *data,
                      size_t len, p2v_err *err)
{
    int r = 0;
    ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (!na)
        return p2v_errf(err, -EIO, "%s: %s: no data attribute", v->name, path);
    if (ntfs_attr_truncate(na, (s64)len) != 0) {
        r = p2v_errf(err, -EIO, "%s: %s: cannot be resized to %zu bytes (%s)", v->name, path,
                     len, ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
        goto out;
    }
    for (size_t done = 0; done < len;) {
        s64 n = ntfs_attr_pwrite(na, (s64)done, (s64)(len - done), data + done);
        if (n <= 0) {
            r = p2v_errf(err, -EIO, "%s: %s: write failed at byte %zu (%s)", v->name, path, done,
                         ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
out:
    ntfs_attr_close(na);
    if (r == 0 && v->d.failed) {
        *err = v->d.err;
        r = p2v_err_prefix(err, -EIO, "%s: %s", v->name, path);
    }
    return r;
}

/* lookup for a change at path: NULL with *r -ENOENT when path is missing
 * (the caller makes it), or with another error, -EROFS on a volume opened
 * read-only among them. */
static ntfs_inode *lookup_for_write(ntvol *v, const char *path, p2v_err *err, int *r)
{
    if (!v->writable) {
        *r = p2v_errf(err, -EROFS, "%s: %s: volume opened read-only", v->name, path);
        return NULL;
    }
    return lookup(v, path, err, r);
}

int ntvol_write_file(ntvol *v, const char *path, const uint8_t *data, size_t len, p2v_err *err)
{
    int r;
    ntfs_inode *ni = lookup_for_write(v, path, err, &r);
    if (!ni && r != -ENOENT)
        return r;
    if (!ni && (r = create(v, path, S_IFREG, &ni, err)) < 0)
        return r;
    if (is_dir(ni))
        r = p2v_errf(err, -EISDIR, "%s: %s is a directory", v->name, path);
    else
        r = write_data(v, ni, path, data, len, err);
    if (ntfs_inode_close(ni) != 0 && r == 0)
        r = p2v_errf(err, -EIO, "%s: %s: inode could not be written", v->name, path);
    return r;
}

int ntvol_mkdir(ntvol *v, const char *path, p2v_err *err)
{
    int r;
    ntfs_inode *ni = lookup_for_write(v, path, err, &r);
    if (!ni && r != -ENOENT)
        return r;
    if (ni) {
        r = is_dir(ni) ? 0 : p2v_errf(err, -EEXIST, "%s: %s exists and is not a directory",
                                      v->name, path);
        ntfs_inode_close(ni);
        return r;
    }
    if ((r = create(v, path, S_IFDIR, &ni, err)) < 0)
        return r;
    if (ntfs_inode_close(ni) != 0)
        r = p2v_errf(err, -EIO, "%s: %s: directory could not be written", v->name, path);
    return r;
}

struct list_ctx {
    ntvol_dir_fn fn;
    void *ctx;
    int stop;
};

static int list_one(void *dirent, const ntfschar *name, const int name_len, const int name_type,
                    const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
    struct list_ctx *c = dirent;
    char *mb = NULL;
    if (name_type == FILE_NAME_DOS)
        return 0;
    if (ntfs_ucstombs(name, name_len, &mb, 0) < 0 || !mb)
        return 0; /* a name that cannot be shown in UTF-8 is skipped */
    if (strcmp(mb, ".") && strcmp(mb, ".."))
        c->stop = c->fn(c->ctx, mb, dt_type == NTFS_DT_DIR);
    free(mb);
    return c->stop;
}

int ntvol_list(ntvol *v, const char *path, ntvol_dir_fn fn, void *ctx, p2v_err *err)
{
    int r;
    ntfs_inode *ni = lookup(v, path, err, &r);
    if (!ni)
        return r == -ENOENT ? p2v_errf(err, r, "%s: %s: no such directory", v->name, path) : r;
    struct list_ctx c = { .fn = fn, .ctx = ctx };
    s64 pos = 0;
    if (!is_dir(ni))
        r = p2v_errf(err, -ENOTDIR, "%s: %s is not a directory", v->name, path);
    else {
        /* Case-insensitive lookups also make readdir show names in lower
         * case: list them as stored. */
        NVolSetCaseSensitive(v->vol);
        if (ntfs_readdir(ni, &pos, &c, list_one) != 0 && !c.stop)
            r = p2v_errf(err, -EIO, "%s: %s: directory cannot be read", v->name, path);
        NVolClearCaseSensitive(v->vol);
    }
    ntfs_inode_close(ni);
    return r < 0 ? r : c.stop;
}

/* The volume operations of the NTFS driver row (fs/vol.h). */
static int vol_open(blockdev *bd, uint64_t off, uint64_t len, bool writable, void **out,
                    p2v_err *err)
{
    ntvol *v = NULL;
    int r = ntvol_open(bd, off, len, writable ? NTVOL_WRITE : 0, &v, err);
    *out = v;
    return r;
}

static int vol_stat(void *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                    p2v_err *err)
{
    return ntvol_stat(v, path, exists, is_dir, size, err);
}

static int vol_read(void *v, const char *path, size_t max, uint8_t **data, size_t *len,
                    p2v_err *err)
{
    return ntvol_read_file(v, path, max, data, len, err);
}

static int vol_write(void *v, const char *path, const uint8_t *data, size_t len, p2v_err *err)
{
    return ntvol_write_file(v, path, data, len, err);
}

static int vol_close(void *v, p2v_err *err) { return ntvol_close(v, err); }

const struct fs_vol_ops fs_vol_ops_ntfs = {
    .open = vol_open,
    .stat = vol_stat,
    .read_file = vol_read,
    .write_file = vol_write,
    .close = vol_close,
};
