#include "sink/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <libgen.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vdisk/vdisk.h"

bool sink_same_file(const struct stat *a, const struct stat *b)
{
    if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
        return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) && a->st_rdev == b->st_rdev;
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is `st` (a regular file) the backing file of loop device `path`? Asked
 * with LOOP_GET_STATUS64 (lo_device holds the kernel's dev_t encoding, major
 * << 20 | minor; the userspace one is accepted too), else through sysfs. */
static bool loop_backs(const char *path, const struct stat *dev, const struct stat *st)
{
    if (!S_ISBLK(dev->st_mode))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct loop_info64 li;
        int r = ioctl(fd, LOOP_GET_STATUS64, &li);
        close(fd);
        if (r == 0) {
            uint64_t kdev = li.lo_device;
            bool same_dev = kdev == (uint64_t)st->st_dev ||
                            ((kdev >> 20) == major(st->st_dev) &&
                             (kdev & 0xfffff) == minor(st->st_dev));
            if (same_dev && li.lo_inode == (uint64_t)st->st_ino)
                return true;
        }
    }
    char sys[96], back[4096];
    snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/loop/backing_file", major(dev->st_rdev),
             minor(dev->st_rdev));
    FILE *f = fopen(sys, "re");
    if (!f)
        return false;
    bool same = false;
    if (fgets(back, sizeof back, f)) {
        back[strcspn(back, "\n")] = '\0';
        struct stat bs;
        same = stat(back, &bs) == 0 && bs.st_dev == st->st_dev && bs.st_ino == st->st_ino;
    }
    fclose(f);
    return same;
}

/* The absolute path a file not created yet at PATH would have: its
 * directory resolved by realpath, then its last component. */
static bool resolve_new_path(const char *path, char out[PATH_MAX])
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= sizeof dir || !*base)
        return false;
    if (slash && dlen == 0)
        dlen = 1; /* "/name" */
    memcpy(dir, slash ? path : ".", slash ? dlen : 1);
    dir[slash ? dlen : 1] = '\0';
    char rdir[PATH_MAX];
    if (!realpath(dir, rdir))
        return false;
    int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", base);
    return n > 0 && n < PATH_MAX;
}

/* OUTPUT as the guard compares it: the existing file's stat, else the
 * absolute path a new file would have. */
struct out_id {
    bool exists;
    const struct stat *st;
    bool have_real;
    const char *real;
};

/* Is the file behind blockdev b the OUTPUT? */
static bool is_output(const struct out_id *o, const blockdev *b)
{
    if (o->exists)
        return o->st->st_dev == bd_st_dev(b) && o->st->st_ino == bd_st_ino(b);
    char b_real[PATH_MAX];
    return o->have_real && realpath(bd_path(b), b_real) && !strcmp(b_real, o->real);
}

/* OUTPUT must not be a source, a file in a source's backing chain, nor the
 * file behind a loop device that is a source; an existing OUTPUT needs --force. */
int sink_guard_output(const char *output, const sink_source *src, size_t nsrc, bool force,
                      char **write_path, p2v_err *err)
{
    struct stat st;
    size_t olen = strlen(output);
    if (olen == 0)
        return p2v_errf(err, -EINVAL, "OUTPUT is an empty name");
    if (output[olen - 1] == '/')
        return p2v_errf(err, -EISDIR, "%s: OUTPUT names a directory; give a file name", output);
    /* A symlink OUTPUT: the image replaces the file it points to (the
     * temporary file goes beside that file), so that the link still works. */
    if (lstat(output, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (!(*write_path = realpath(output, NULL))) {
            p2v_errf(err, -ENOENT, "%s: a symbolic link to a missing or unreachable file (%s); give the "
                      "file itself as OUTPUT", output, strerror(errno));
            return -1;
        }
    }
    bool exists = stat(output, &st) == 0;
    /* Every file of a source's backing chain is a source too, and so is
     * every extent file of each layer (a VMDK's descriptor names them). */
    char out_real[PATH_MAX];
    bool have_real = !exists && resolve_new_path(output, out_real);
    struct out_id id = { exists, &st, have_real, out_real };
    for (size_t i = 0; i < nsrc; i++)
        for (const blockdev *b = src[i].bd; b; b = bd_backing(b)) {
            const blockdev *f;
            if (b != src[i].bd && is_output(&id, b)) {
                p2v_errf(err, -EEXIST, "%s: OUTPUT is %s, in the backing chain of %s, one of the "
                         "sources; refusing to write over it", output, bd_path(b), src[i].path);
                return -1;
            }
            for (size_t k = 0; (f = vdisk_extra_file(b, k)); k++)
                if (is_output(&id, f)) {
                    p2v_errf(err, -EEXIST, "%s: OUTPUT is %s, an extent file of %s (read for %s, "
                             "one of the sources); refusing to write over it", output, bd_path(f),
                             bd_path(b), src[i].path);
                    return -1;
                }
        }
    if (!exists)
        return 0;
    for (size_t i = 0; i < nsrc; i++) {
        if (sink_same_file(&st, &src[i].st)) {
            p2v_errf(err, -EEXIST, "%s: OUTPUT is one of the sources (%s); refusing to write over it",
                      output, src[i].path);
            return -1;
        }
        if (S_ISREG(st.st_mode) && loop_backs(src[i].path, &src[i].st, &st)) {
            p2v_errf(err, -EEXIST, "%s: OUTPUT is the backing file of loop device %s, one of the sources; "
                      "refusing to write over it", output, src[i].path);
            return -1;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        p2v_errf(err, -EEXIST, "%s: exists and is not a regular file; OUTPUT must be an image file",
                  output);
        return -1;
    }
    if (!force) {
        p2v_errf(err, -EEXIST, "%s: already exists (use --force to replace it)", output);
        return -1;
    }
    return 0;
}


/* The directory part and base name of a path, in caller buffers. */
static void split_path(const char *path, char dir[PATH_MAX], char base[NAME_MAX + 1])
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    snprintf(dir, PATH_MAX, "%s", dirname(a));
    snprintf(base, NAME_MAX + 1, "%s", basename(b));
}

int sink_guard_output_dir(const char *output, p2v_err *err)
{
    char dir[PATH_MAX], base[NAME_MAX + 1];
    split_path(output, dir, base);
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    int e = errno;
    return p2v_errf(err, -e, "%s: cannot write into its directory %s: %s", output, dir,
                    strerror(e));
}

/* Does any process hold the file (dev, ino) open? Looks through /proc. */
static bool open_by_a_process(dev_t dev, ino_t ino)
{
    DIR *proc = opendir("/proc");
    struct dirent *p;
    bool found = false;
    while (proc && !found && (p = readdir(proc))) {
        if (p->d_name[0] < '0' || p->d_name[0] > '9')
            continue;
        char fdp[300];
        snprintf(fdp, sizeof fdp, "/proc/%s/fd", p->d_name);
        DIR *fds = opendir(fdp);
        struct dirent *f;
        while (fds && !found && (f = readdir(fds))) {
            char one[600];
            struct stat st;
            snprintf(one, sizeof one, "%s/%s", fdp, f->d_name);
            found = f->d_name[0] != '.' && stat(one, &st) == 0 && st.st_dev == dev &&
                    st.st_ino == ino;
        }
        if (fds)
            closedir(fds);
    }
    if (proc)
        closedir(proc);
    return found;
}

int sink_guard_stale_temps(const char *output, bool remove, p2v_warnings *said, p2v_err *err)
{
    char dir[PATH_MAX], base[NAME_MAX + 1], prefix[NAME_MAX + 16];
    split_path(output, dir, base);
    /* as sink_create names it: "." + the name (cut to fit) + ".p2v-" + 6 characters */
    int plen = snprintf(prefix, sizeof prefix, ".%.*s.p2v-", 255 - 12, base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct stat st;
        char path[PATH_MAX + NAME_MAX + 2];
        if (strncmp(e->d_name, prefix, (size_t)plen) || strlen(e->d_name) != (size_t)plen + 6)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            open_by_a_process(st.st_dev, st.st_ino))
            continue;
        if (!remove)
            p2v_warn(said, "%s is the temporary file of an interrupted conversion to %s (no "
                     "process has it open); remove it, or pass --force to have it removed",
                     path, output);
        else if (unlink(path) == 0)
            p2v_warn(said, "removed %s, the temporary file of an interrupted conversion to %s",
                     path, output);
        else
            p2v_warn(said, "%s, the temporary file of an interrupted conversion to %s, cannot "
                     "be removed: %s", path, output, strerror(errno));
    }
    if (d)
        closedir(d);
    (void)err;
    return 0;
}

int sink_guard_remove_temp(const char *temp, p2v_err *err)
{
    struct stat st;
    if (lstat(temp, &st) != 0 || unlink(temp) == 0 || errno == ENOENT)
        return 0;
    int e = errno;
    return p2v_errf(err, -e, "the temporary file %s cannot be removed (%s); remove it by hand",
                    temp, strerror(e));
}
