/* What a filesystem allows when its partition changes size: the checks that
 * come before any edit, and the edit, each filesystem's through the
 * resize_check, resize_apply and resize_min of its row in the driver table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/driver.h"
#include "fs/probe.h"
#include "fs/resize_impl.h"
#include "util/size.h"

int fsresize_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                   fsresize_info *out, p2v_err *err)
{
    struct fs_identity id;
    memset(out, 0, sizeof *out);
    int r = fs_probe(bd, off, len, &id, err);
    if (r < 0)
        return r;
    snprintf(out->fstype, sizeof out->fstype, "%s", id.type);
    const struct fs_driver *d = fs_driver_of_kind(id.kind);
    if (d && d->resize_check) {
        out->kind = (enum fsresize_kind)d->kind;
        return d->resize_check(bd, off, len, what, out, err);
    }
    /* Not understood: the contents keep their bytes. */
    fsresize_fixed_size(out, len);
    return 0;
}

int fsresize_apply(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                   const fsresize_info *fi, const char *what, fsresize_done *out, p2v_err *err)
{
    const struct fs_driver *d = fs_driver_of_kind((enum fs_kind)fi->kind);
    bool shrink = new_bytes < old_bytes;
    memset(out, 0, sizeof *out);
    if (d && d->resize_apply && (!shrink || d->resize_min))
        return d->resize_apply(bd, off, old_bytes, new_bytes, fi, what, out, err);
    out->fs_new = fi->fs_bytes;
    if (shrink)
        snprintf(out->action, sizeof out->action, "%s kept at its size (the partition's unused "
                 "tail is left out)", fsresize_name(fi));
    else
        snprintf(out->action, sizeof out->action, "%s contents keep their size",
                 fsresize_name(fi));
    return 1;
}

void fsresize_done_free(fsresize_done *d)
{
    bd_close(d->overlay);
    bd_close(d->view);
    bd_close(d->edit);
    bd_close(d->window);
    d->overlay = d->view = d->edit = d->window = NULL;
}

bool fsresize_min(const fsresize_info *fi, uint64_t margin, uint64_t *bytes)
{
    const struct fs_driver *d = fs_driver_of_kind((enum fs_kind)fi->kind);
    if (!d || !d->resize_min)
        return false;
    *bytes = d->resize_min(fi, margin);
    return true;
}

int fsresize_fits(const fsresize_info *fi, uint64_t new_bytes, const char *what, p2v_err *err)
{
    char h1[32], h2[32];
    if (new_bytes >= fi->min_bytes)
        return 0;
    size_human(new_bytes, h1, sizeof h1);
    size_human(fi->min_bytes, h2, sizeof h2);
    switch (fi->kind) {
    case FSRESIZE_NTFS:
        return p2v_errf(err, -ERANGE,
                        "%s: %s (%llu bytes) is smaller than the %llu bytes the NTFS volume "
                        "uses (at least %s, %llu bytes)", what, h1,
                        (unsigned long long)new_bytes, (unsigned long long)fi->used_bytes, h2,
                        (unsigned long long)fi->min_bytes);
    case FSRESIZE_EXT:
        return p2v_errf(err, -ERANGE,
                        "%s: %s (%llu bytes) is smaller than its %s filesystem (%s, %llu "
                        "bytes); shrinking ext2/3/4 is not supported: shrink it with resize2fs "
                        "first", what, h1, (unsigned long long)new_bytes, fi->fstype, h2,
                        (unsigned long long)fi->min_bytes);
    case FSRESIZE_FAT:
        return p2v_errf(err, -ERANGE,
                        "%s: %s (%llu bytes) is smaller than its FAT filesystem (%s, %llu "
                        "bytes); FAT keeps its size", what, h1, (unsigned long long)new_bytes, h2,
                        (unsigned long long)fi->min_bytes);
    default:
        return p2v_errf(err, -ERANGE,
                        "%s: %s (%llu bytes) is smaller than the source partition (%s, %llu "
                        "bytes) and its contents (%s) cannot be shrunk", what, h1,
                        (unsigned long long)new_bytes, h2, (unsigned long long)fi->min_bytes,
                        fi->fstype[0] ? fi->fstype : "not understood");
    }
}
