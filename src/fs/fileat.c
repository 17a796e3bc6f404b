/* Which files lost data: from bad byte ranges of a partition to the names of
 * the files stored there, each filesystem through its own reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fsmap_impl.h"

int fs_names_add(fs_names *n, const char *name)
{
    char *c = strdup(name);
    char **v = c ? realloc(n->v, (n->count + 1) * sizeof *v) : NULL;
    if (!v) {
        free(c);
        return -ENOMEM;
    }
    n->v = v;
    n->v[n->count++] = c;
    return 0;
}

void fs_names_free(fs_names *n)
{
    for (size_t i = 0; i < n->count; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->count = 0;
}

bool fs_extents_touch(const extent_list *l, uint64_t start, uint64_t len)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi) { /* the first extent ending after start */
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].start + l->v[mid].len <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->count && l->v[lo].start < start + len;
}

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
    int rc;
    memset(out, 0, sizeof *out);
    if (!strcmp(fstype, "ntfs"))
        rc = fs_files_ntfs(&s, bad, out, err);
    else if (!strncmp(fstype, "ext", 3))
        rc = fs_files_ext(&s, bad, out, err);
    else if (!strcmp(fstype, "vfat"))
        rc = fs_files_fat(&s, bad, out, err);
    else
        return p2v_errf(err, -ENOTSUP, "%s: partition at byte %llu: cannot tell which files "
                        "of a %s filesystem lie in given sectors", bd_path(bd),
                        (unsigned long long)part_offset, fstype[0] ? fstype : "unknown");
    if (rc < 0) {
        fs_names_free(out);
        fsmap_err_locate(err, bd_path(bd), part_offset);
        return rc;
    }
    sort_unique(out);
    return 0;
}
