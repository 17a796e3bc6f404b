/* Which files lost data: from bad byte ranges of a partition to the names of
 * the files stored there, each filesystem through the files_at hook of its
 * row in the driver table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "fs/bpb.h"
#include "fs/driver.h"

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(fs_names *n)
{
    size_t k = 0;
    if (n->count > 1)
        qsort(n->v, n->count, sizeof *n->v, cmp_name);
    for (size_t i = 0; i < n->count; i++) {
        if (k && !strcmp(n->v[k - 1], n->v[i]))
            free(n->v[i]);
        else
            n->v[k++] = n->v[i];
    }
    n->count = k;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* A partition whose first sector is lost (an unreadable sector reads as
 * zeros here) names no filesystem; one that keeps a copy of that sector
 * elsewhere (NTFS's backup boot sector) is read with the copy laid over it.
 * -ENOENT when there is no such copy. */
static int files_from_backup(blockdev *bd, uint64_t off, uint64_t len, const extent_list *bad,
                             fs_names *out, p2v_err *err)
{
    fsmap_src s = { .bd = bd, .off = off, .len = len };
    uint8_t sec[4096];
    size_t got = 0;
    int r = len >= BPB_SECTOR ? fsmap_read(&s, sec, BPB_SECTOR, 0, err) : -ENOENT;
    if (r < 0 || !all_zero(sec, BPB_SECTOR))
        return r < 0 ? r : -ENOENT;
    for (const struct fs_driver *const *d = fs_drivers; *d; d++) {
        if (!(*d)->backup_boot || !(*d)->files_at)
            continue;
        r = (*d)->backup_boot(&s, sec, sizeof sec, &got, err);
        if (r == -ENOENT || (r == 0 && (*d)->probe && !(*d)->probe(sec, got)))
            continue;
        blockdev *ov = NULL;
        if (r == 0)
            r = bd_overlay_open(bd, off, len, NULL, &ov, err);
        if (r == 0)
            r = bd_overlay_pwrite(ov, sec, got, 0, err);
        if (r == 0)
            r = (*d)->files_at(&(fsmap_src){ .bd = ov, .off = 0, .len = len }, bad, out, err);
        bd_close(ov);
        return r;
    }
    return -ENOENT;
}

/* The row whose probe recognises the partition's start as bd reads it now
 * (the caller's view: known bad sectors as zeros), where the caller knew no
 * type (its probe met a bad sector); *d NULL if none. */
static int probe_again(const fsmap_src *s, const struct fs_driver **d, p2v_err *err)
{
    size_t n = s->len < FS_PROBE_LEN ? (size_t)s->len : FS_PROBE_LEN;
    uint8_t *head = n >= BPB_SECTOR ? malloc(n) : NULL;
    *d = NULL;
    if (n < BPB_SECTOR)
        return 0;
    if (!head)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int r = fsmap_read(s, head, n, 0, err);
    if (r == 0)
        *d = fs_driver_probe(head, n);
    free(head);
    return r;
}

int fs_files_at(blockdev *bd, uint64_t part_offset, uint64_t part_len, const char *fstype,
                const extent_list *bad, fs_names *out, p2v_err *err)
{
    fsmap_src s = { .bd = bd, .off = part_offset, .len = part_len };
    const struct fs_driver *d = fs_driver_of_type(fstype);
    int rc = 0;
    memset(out, 0, sizeof *out);
    bool unknown = !d;
    if (unknown && (rc = probe_again(&s, &d, err)) < 0) {
        fsmap_err_locate(err, bd_path(bd), part_offset);
        return rc;
    }
    /* One whose start names no filesystem may be read through a backup of
     * its first sector; -ENOENT: no such backup, go by the row. */
    rc = unknown && !d ? files_from_backup(bd, part_offset, part_len, bad, out, err) : -ENOENT;
    if (rc == -ENOENT) {
        if (!d || !d->files_at)
            return fsmap_errf(err, -ENOTSUP, bd_path(bd), part_offset, "cannot tell which files "
                              "of a %s filesystem lie in given sectors",
                              fstype[0] ? fstype : "unknown");
        rc = d->files_at(&s, bad, out, err);
    }
    if (rc < 0) {
        fs_names_free(out);
        fsmap_err_locate(err, bd_path(bd), part_offset);
        return rc;
    }
    sort_unique(out);
    return 0;
}
