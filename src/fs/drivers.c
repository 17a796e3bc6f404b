/* The filesystem driver table and the dispatchers that go through it:
 * fsmap_build (probe the partition, hand it to the map of the first row
 * whose probe answers) and the kind of a type name. Each row
 * lives in the file of its filesystem; this file only lists them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/driver.h"

/* Probe order: the signatures p2v cannot map come first, so that a volume
 * carrying one (BitLocker's OEM name in a FAT-like boot sector) is never
 * handed to a map; then NTFS, ext, swap, and FAT last (its probe is the
 * loosest). */
const struct fs_driver *const fs_drivers[] = {
    &fs_driver_bitlocker, &fs_driver_exfat, &fs_driver_xfs, &fs_driver_luks,
    &fs_driver_btrfs,     &fs_driver_lvm,   &fs_driver_ntfs, &fs_driver_ext,
    &fs_driver_swap,      &fs_driver_fat,   NULL,
};

const struct fs_driver *fs_driver_of_kind(enum fs_kind kind)
{
    if (kind == FS_UNKNOWN || kind == FS_OTHER)
        return NULL;
    for (const struct fs_driver *const *d = fs_drivers; *d; d++)
        if ((*d)->kind == kind)
            return *d;
    return NULL;
}

static bool answers_to(const struct fs_driver *d, const char *type)
{
    if (d->name && !strcmp(d->name, type))
        return true;
    if (!d->blkid_type)
        return false;
    return d->blkid_prefix ? !strncmp(type, d->blkid_type, strlen(d->blkid_type))
                           : !strcmp(type, d->blkid_type);
}

const struct fs_driver *fs_driver_of_type(const char *type)
{
    if (!type || !type[0])
        return NULL;
    for (const struct fs_driver *const *d = fs_drivers; *d; d++)
        if (answers_to(*d, type))
            return *d;
    return NULL;
}

enum fs_kind fs_kind_of(const char *type)
{
    if (!type || !type[0])
        return FS_UNKNOWN;
    const struct fs_driver *d = fs_driver_of_type(type);
    return d ? d->kind : FS_OTHER;
}

const char *fs_kind_name(enum fs_kind kind)
{
    const struct fs_driver *d = fs_driver_of_kind(kind);
    return d && d->name ? d->name : "";
}

const struct fs_driver *fs_driver_probe(const uint8_t *head, size_t n)
{
    for (const struct fs_driver *const *d = fs_drivers; *d; d++)
        if ((*d)->probe && (*d)->probe(head, n))
            return *d;
    return NULL;
}

/* Map the partition with the driver its start names. */
static int map_with(const struct fs_driver *d, const fsmap_src *s, const fsmap_opts *o,
                    fsmap *out, p2v_err *err)
{
    if (!d)
        return fsmap_set_full(out, "no filesystem recognised");
    out->kind = d->kind;
    if (!d->map)
        return fsmap_set_full(out, "%s", d->unmappable);
    snprintf(out->fstype, sizeof out->fstype, "%s", d->name);
    return d->map(s, o, out, err);
}

int fsmap_build(blockdev *bd, uint64_t part_offset, uint64_t part_len, const fsmap_opts *opts,
                fsmap *out, p2v_err *err)
{
    static const fsmap_opts defaults = { .allow_dirty = false };
    fsmap_src s = { .bd = bd, .off = part_offset, .len = part_len };
    uint8_t *b = NULL;
    int r = 0;

    memset(out, 0, sizeof *out);
    if (!opts)
        opts = &defaults;
    uint64_t end;
    if (__builtin_add_overflow(part_offset, part_len, &end) || end > bd_size(bd)) {
        r = p2v_errf(err, -EINVAL, "its %llu bytes go past the end of the disk (%llu bytes)",
                     (unsigned long long)part_len, (unsigned long long)bd_size(bd));
        goto out;
    }
    size_t n = part_len < FS_PROBE_LEN ? (size_t)part_len : FS_PROBE_LEN;
    if (n < 512)
        return fsmap_set_full(out, "partition smaller than one sector");
    b = malloc(n);
    if (!b) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    r = fsmap_read(&s, b, n, 0, err);
    if (r < 0)
        goto out;
    r = map_with(fs_driver_probe(b, n), &s, opts, out, err);
    if (r < 0)
        goto out;
    if (!out->full) {
        extent_list_normalize(&out->used);
        extent_list_clip(&out->used, part_len);
    } else {
        extent_list_free(&out->used);
    }
out:
    if (r < 0) {
        fsmap_free(out);
        fsmap_err_locate(err, bd_path(bd), part_offset);
    }
    free(b);
    return r;
}
