/* Which files lost data: from bad byte ranges of a partition to the names of
 * the files stored there, each filesystem through the files_at hook of its
 * row in the driver table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int fs_files_at(blockdev *bd, uint64_t part_offset, uint64_t part_len, const char *fstype,
                const extent_list *bad, fs_names *out, p2v_err *err)
{
    fsmap_src s = { .bd = bd, .off = part_offset, .len = part_len };
    const struct fs_driver *d = fs_driver_of_type(fstype);
    memset(out, 0, sizeof *out);
    if (!d || !d->files_at)
        return fsmap_errf(err, -ENOTSUP, bd_path(bd), part_offset, "cannot tell which files of "
                          "a %s filesystem lie in given sectors", fstype[0] ? fstype : "unknown");
    int rc = d->files_at(&s, bad, out, err);
    if (rc < 0) {
        fs_names_free(out);
        fsmap_err_locate(err, bd_path(bd), part_offset);
        return rc;
    }
    sort_unique(out);
    return 0;
}
