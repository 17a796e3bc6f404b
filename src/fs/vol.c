/* Files by path through the volume operations of a driver row. */
#include "fs/vol.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/driver.h"

struct fs_vol {
    const struct fs_vol_ops *ops;
    void *v;
};

int fs_vol_open(enum fs_kind kind, blockdev *bd, uint64_t off, uint64_t len, unsigned flags,
                fs_vol **out, p2v_err *err)
{
    const struct fs_driver *d = fs_driver_of_kind(kind);
    *out = NULL;
    if (!d || !d->vol)
        return fsmap_errf(err, -ENOTSUP, bd_path(bd), off, "p2v cannot open files on a %s "
                          "volume", d && d->name ? d->name : "filesystem of this kind");
    fs_vol *v = calloc(1, sizeof *v);
    if (!v)
        return p2v_errf(err, -ENOMEM, "out of memory");
    v->ops = d->vol;
    int r = v->ops->open(bd, off, len, (flags & FS_VOL_WRITE) != 0, &v->v, err);
    if (r < 0) {
        free(v);
        return r;
    }
    *out = v;
    return 0;
}

int fs_vol_stat(fs_vol *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                p2v_err *err)
{
    return v->ops->stat(v->v, path, exists, is_dir, size, err);
}

int fs_vol_read_file(fs_vol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                     p2v_err *err)
{
    return v->ops->read_file(v->v, path, max, data, len, err);
}

int fs_vol_write_file(fs_vol *v, const char *path, const uint8_t *data, size_t len,
                      p2v_err *err)
{
    return v->ops->write_file(v->v, path, data, len, err);
}

int fs_vol_close(fs_vol *v, p2v_err *err)
{
    if (!v)
        return 0;
    int r = v->ops->close(v->v, err);
    free(v);
    return r;
}
