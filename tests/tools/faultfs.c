/* faultfs: a one-file FUSE filesystem for end-to-end tests of bad sectors.
 * MOUNTPOINT/disk.img reads as IMAGE, except that any read touching one of
 * the given byte ranges fails with EIO, as a disk with bad sectors does.
 * Reads reach it unchanged (direct I/O: no page cache, no read-ahead), so a
 * 512-byte read of a good sector next to a bad one succeeds.
 *
 * usage: faultfs [--bad OFFSET:LENGTH]... IMAGE MOUNTPOINT [FUSE options]
 *        (unmount with fusermount3 -u MOUNTPOINT) */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BAD 256

struct faultfs {
    int fd;
    off_t size;
    uint64_t bad_off[MAX_BAD], bad_len[MAX_BAD];
    size_t nbad;
    unsigned long failed; /* reads refused */
};

static struct faultfs *ctx(void) { return fuse_get_context()->private_data; }

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    memset(st, 0, sizeof *st);
    if (!strcmp(path, "/")) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        return 0;
    }
    if (strcmp(path, "/disk.img"))
        return -ENOENT;
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = ctx()->size;
    return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    if (strcmp(path, "/"))
        return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    fill(buf, "disk.img", NULL, 0, 0);
    return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
    if (strcmp(path, "/disk.img"))
        return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EROFS;
    fi->direct_io = 1;
    return 0;
}

static int ff_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
    struct faultfs *f = ctx();
    for (size_t i = 0; i < f->nbad; i++)
        if ((uint64_t)off < f->bad_off[i] + f->bad_len[i] && f->bad_off[i] < (uint64_t)off + len) {
            f->failed++;
            return -EIO;
        }
    ssize_t n = pread(f->fd, buf, len, off);
    return n < 0 ? -errno : (int)n;
}

static const struct fuse_operations ff_ops = {
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .open = ff_open,
    .read = ff_read,
};

int main(int argc, char **argv)
{
    static struct faultfs f;
    int i = 1;
    for (; i + 1 < argc && !strcmp(argv[i], "--bad"); i += 2) {
        unsigned long long o, l;
        if (f.nbad == MAX_BAD || sscanf(argv[i + 1], "%llu:%llu", &o, &l) != 2 || l == 0) {
            fprintf(stderr, "faultfs: --bad wants OFFSET:LENGTH in bytes, not '%s'\n",
                    argv[i + 1]);
            return 2;
        }
        f.bad_off[f.nbad] = o;
        f.bad_len[f.nbad++] = l;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: faultfs [--bad OFFSET:LENGTH]... IMAGE MOUNTPOINT [FUSE options]\n");
        return 2;
    }
    struct stat st;
    f.fd = open(argv[i], O_RDONLY);
    if (f.fd < 0 || fstat(f.fd, &st) < 0) {
        perror(argv[i]);
        return 1;
    }
    f.size = st.st_size;
    /* FUSE sees: program, mount point, its options */
    char **fargv = calloc((size_t)argc + 4, sizeof *fargv);
    int n = 0;
    fargv[n++] = argv[0];
    fargv[n++] = argv[i + 1];
    fargv[n++] = "-oro,fsname=faultfs";
    for (int k = i + 2; k < argc; k++)
        fargv[n++] = argv[k];
    int r = fuse_main(n, fargv, &ff_ops, &f);
    free(fargv);
    return r;
}
