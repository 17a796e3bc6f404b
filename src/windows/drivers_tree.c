/* A virtio-win tree: the list of its files, from a directory or an ISO image,
 * and reading one of them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "util/array.h"
#include "util/io.h"
#include "windows/drivers_impl.h"
#include "windows/iso.h"

enum { TREE_MAX_DEPTH = 16, TREE_MAX_FILES = 100000 };
#define TREE_MAX_FILE ((size_t)256 << 20)

typedef struct tree_ent {
    char *path;
    uint64_t size;
} tree_ent;

struct drv_tree {
    char *name;       /* what the user gave */
    char *dir;        /* directory backend: its path */
    char *root;       /* directory backend: its path resolved (realpath) */
    blockdev *bd;     /* ISO backend */
    bool own_bd;
    tree_ent *files;
    size_t n, cap;
};

static int tree_add(drv_tree *t, const char *path, uint64_t size)
{
    if (t->n == TREE_MAX_FILES)
        return -E2BIG;
    tree_ent *f = array_room(t->files, &t->cap, t->n, sizeof *f, 64);
    if (!f)
        return -ENOMEM;
    t->files = f;
    if (!(f[t->n].path = strdup(path)))
        return -ENOMEM;
    f[t->n++].size = size;
    return 0;
}

static int iso_add(void *ctx, const char *path, uint64_t size) { return tree_add(ctx, path, size); }

/* The tree's root as the kernel resolves it, computed once per tree: every
 * file p2v reads must resolve to a path below it. */
static int tree_root(drv_tree *t, p2v_err *err)
{
    if (t->root)
        return 0;
    if (!(t->root = realpath(t->dir, NULL)))
        return p2v_errf(err, -errno, "%s: %s", t->dir, strerror(errno));
    return 0;
}

/* Whether the resolved path real lies inside the tree (the root itself is not
 * a file of it). */
static bool tree_contains(const drv_tree *t, const char *real)
{
    size_t n = strlen(t->root);
    if (strcmp(t->root, "/") == 0)
        return real[1] != 0;
    return strncmp(real, t->root, n) == 0 && real[n] == '/';
}

/* A symbolic link met in the walk: one to a regular file inside the tree is
 * listed (it is read through its target, see read_dir_file); one that leaves
 * the tree is refused, whatever it names, so that no file of the host can end
 * up in a guest; one to a directory is not followed (no loops); a dangling one
 * names nothing and is skipped. */
static int walk_link(drv_tree *t, const char *child, const char *cfull, p2v_err *err)
{
    char *real = realpath(cfull, NULL);
    if (!real)
        return errno == ENOENT || errno == ENOTDIR ? 0 : p2v_errf(err, -errno, "%s: %s", cfull, strerror(errno));
    int rc = 0;
    struct stat st;
    if (!tree_contains(t, real))
        rc = p2v_errf(err, -EXDEV,
                      "%s: a symbolic link to %s, outside the driver tree %s: refused (copy the "
                      "file into the tree if it is meant)",
                      cfull, real, t->root);
    else if (stat(real, &st) == 0 && S_ISREG(st.st_mode))
        rc = tree_add(t, child, (uint64_t)st.st_size);
    free(real);
    return rc;
}

static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m) ? "a named pipe" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : "not a regular file";
}

/* One entry of a directory, by what lstat says it is: directories are walked,
 * regular files listed, links checked (walk_link), anything else refused. */
static int walk_entry(drv_tree *t, const char *child, const char *cfull, int depth, p2v_err *err);

/* Walk dir/rel recursively. */
static int walk_dir(drv_tree *t, const char *rel, int depth, p2v_err *err)
{
    char *full = *rel ? drv_strcat3(t->dir, "/", rel) : strdup(t->dir);
    if (!full)
        return -ENOMEM;
    DIR *d = opendir(full);
    int rc = 0;
    if (!d)
        rc = p2v_errf(err, -errno, "%s: cannot read the directory: %s", full, strerror(errno));
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *child = *rel ? drv_strcat3(rel, "/", e->d_name) : strdup(e->d_name);
        char *cfull = child ? drv_strcat3(t->dir, "/", child) : NULL;
        rc = cfull ? walk_entry(t, child, cfull, depth, err) : -ENOMEM;
        free(child);
        free(cfull);
    }
    if (d)
        closedir(d);
    free(full);
    return rc;
}

static int walk_entry(drv_tree *t, const char *child, const char *cfull, int depth, p2v_err *err)
{
    struct stat st;
    if (lstat(cfull, &st) < 0)
        return errno == ENOENT ? 0 : p2v_errf(err, -errno, "%s: %s", cfull, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return depth < TREE_MAX_DEPTH ? walk_dir(t, child, depth + 1, err) : 0;
    if (S_ISREG(st.st_mode))
        return tree_add(t, child, (uint64_t)st.st_size);
    if (S_ISLNK(st.st_mode))
        return walk_link(t, child, cfull, err);
    return p2v_errf(err, -EINVAL, "%s: %s, not a file a driver tree holds: refused", cfull,
                    file_kind(st.st_mode));
}

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const tree_ent *)a)->path, ((const tree_ent *)b)->path);
}


static int tree_finish(drv_tree *t, int rc, drv_tree **out, p2v_err *err)
{
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "%s: out of memory listing the driver tree", t->name);
    else if (rc == -E2BIG)
        p2v_errf(err, rc, "%s: more than %d files: not a virtio-win tree", t->name, TREE_MAX_FILES);
    /* sorted by path, so that choices do not depend on readdir or ISO order */
    if (rc == 0 && t->n) /* qsort takes no NULL array, even of 0 entries */
        qsort(t->files, t->n, sizeof *t->files, ent_cmp);
    if (rc == 0 && t->n == 0)
        rc = p2v_errf(err, -ENOENT, "%s: no files: not a virtio-win tree", t->name);
    if (rc < 0) {
        drv_tree_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

int drv_tree_open_dir(const char *dir, drv_tree **out, p2v_err *err)
{
    drv_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(dir)) || !(t->dir = strdup(dir))) {
        drv_tree_close(t);
        return p2v_errf(err, -ENOMEM, "%s: out of memory", dir);
    }
    int rc = tree_root(t, err);
    return tree_finish(t, rc < 0 ? rc : walk_dir(t, "", 0, err), out, err);
}

int drv_tree_open_iso(blockdev *bd, drv_tree **out, p2v_err *err)
{
    drv_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(bd_path(bd)))) {
        free(t);
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(bd));
    }
    t->bd = bd;
    return tree_finish(t, iso_walk(bd, iso_add, t, err), out, err);
}

int drv_tree_open(const char *path, drv_tree **out, p2v_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return p2v_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return drv_tree_open_dir(path, out, err);
    blockdev *bd;
    int rc = bd_open_raw(path, &bd, err);
    if (rc < 0)
        return rc;
    rc = drv_tree_open_iso(bd, out, err);
    if (rc < 0)
        bd_close(bd);
    else
        (*out)->own_bd = true;
    return rc;
}

void drv_tree_close(drv_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->files[i].path);
    free(t->files);
    if (t->own_bd)
        bd_close(t->bd);
    free(t->dir);
    free(t->root);
    free(t->name);
    free(t);
}

const char *drv_tree_name(const drv_tree *t) { return t->name; }
size_t drv_tree_count(const drv_tree *t) { return t->n; }
const char *drv_tree_path(const drv_tree *t, size_t i)
{
    return i < t->n ? t->files[i].path : NULL;
}

uint64_t drv_tree_size(const drv_tree *t, size_t i) { return i < t->n ? t->files[i].size : 0; }

long drv_tree_find(const drv_tree *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(t->files[i].path, path) == 0)
            return (long)i;
    return -1;
}

/* Open a listed file of a directory tree for reading, checking again what the
 * walk checked (the tree may have changed since): the path must resolve inside
 * the tree and name a regular file of the listed size. */
static int open_dir_file(const drv_tree *t, const char *full, uint64_t size, p2v_err *err)
{
    char *real = realpath(full, NULL);
    if (!real)
        return p2v_errf(err, -errno, "%s: %s", full, strerror(errno));
    int fd = -1, rc = 0;
    struct stat st;
    if (!tree_contains(t, real))
        rc = p2v_errf(err, -EXDEV, "%s: resolves to %s, outside the driver tree %s: refused", full,
                      real, t->root);
    else if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
        rc = p2v_errf(err, -errno, "%s: %s", full, strerror(errno));
    else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
        rc = p2v_errf(err, -EIO, "%s: no longer the regular file of %llu bytes p2v listed: refused",
                      full, (unsigned long long)size);
    free(real);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

static int read_dir_file(const drv_tree *t, const char *rel, uint64_t size, uint8_t **buf,
                         size_t *len, p2v_err *err)
{
    char *full = drv_strcat3(t->dir, "/", rel);
    if (!full)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", t->name);
    int rc = 0;
    uint8_t *b = NULL;
    size_t got = 0;
    int fd = open_dir_file(t, full, size, err);
    if (fd < 0)
        rc = fd;
    else if (!(b = malloc(size ? (size_t)size : 1)))
        rc = p2v_errf(err, -ENOMEM, "%s: out of memory", full);
    else if (pread_full(fd, b, (size_t)size, 0, &got) < 0 || got != size)
        rc = p2v_errf(err, -EIO, "%s: cannot read %llu bytes (the file changed while p2v read it?)",
                      full, (unsigned long long)size);
    if (fd >= 0)
        close(fd);
    free(full);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = (size_t)size;
    return 0;
}

int drv_tree_read(drv_tree *t, size_t i, uint8_t **buf, size_t *len, p2v_err *err)
{
    if (i >= t->n)
        return p2v_errf(err, -EINVAL, "%s: no file number %zu", t->name, i);
    if (t->files[i].size > TREE_MAX_FILE)
        return p2v_errf(err, -EFBIG, "%s: %s: %llu bytes, too large for a driver file", t->name,
                        t->files[i].path, (unsigned long long)t->files[i].size);
    if (t->dir)
        return read_dir_file(t, t->files[i].path, t->files[i].size, buf, len, err);
    return iso_read_file(t->bd, t->files[i].path, TREE_MAX_FILE, buf, len, err);
}
