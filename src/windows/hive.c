/* Registry hives through hivex, from and to bytes in memory: hivex wants a
 * file name, so the bytes go through a memfd named by /proc/self/fd. */
#include <errno.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "windows/windows.h"

/* Hives of real systems reach a few hundred MiB (SOFTWARE); BCDs are small. */
#define WIN_HIVE_MAX ((size_t)1 << 30)

struct win_hive {
    hive_h *h;
    char what[256];
};

static int memfd_with(const uint8_t *data, size_t len, int *fd_out)
{
    int fd = memfd_create("p2v-hive", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t done;
    int r = len ? pwrite_full(fd, data, len, 0, &done) : 0;
    if (r < 0) {
        close(fd);
        return r;
    }
    *fd_out = fd;
    return 0;
}

int win_hive_open(const uint8_t *data, size_t len, bool writable, const char *what,
                  win_hive **out, p2v_err *err)
{
    win_hive *wh = calloc(1, sizeof *wh);
    if (!wh)
        return p2v_errf(err, -ENOMEM, "out of memory");
    snprintf(wh->what, sizeof wh->what, "%s", what ? what : "hive");
    int fd = -1, r = memfd_with(data, len, &fd);
    if (r < 0) {
        r = p2v_errf_at(err, r, wh->what, "cannot stage the hive in memory: %s",
                        strerror(-r));
        free(wh);
        return r;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    errno = 0;
    wh->h = hivex_open(path, writable ? HIVEX_OPEN_WRITE : 0);
    int e = errno;
    close(fd); /* hivex has read or mapped it */
    if (!wh->h) {
        /* hivex says ENOTSUP for a structure it does not recognise and
         * EINVAL for a wrong checksum, size or offset: both mean damaged,
         * which strerror ("Operation not supported") does not say. */
        const char *why = e == ENOTSUP ? "its header or blocks are not a registry hive's"
                        : e == EINVAL  ? "a checksum, size or offset in it is wrong"
                        : e == ENOMEM  ? "out of memory"
                        : e            ? strerror(e) : "hivex refused it";
        r = p2v_errf_at(err, e == ENOMEM ? -ENOMEM : -EBADMSG, what,
                        "not a registry hive hivex can read: damaged (%s)", why);
        free(wh);
        return r;
    }
    *out = wh;
    return 0;
}

struct hive_h *win_hive_h(win_hive *h) { return h->h; }
const char *win_hive_what(const win_hive *h) { return h->what; }

int win_hive_save(win_hive *h, uint8_t **data, size_t *len, p2v_err *err)
{
    int fd = memfd_create("p2v-hive-out", MFD_CLOEXEC), r = 0;
    if (fd < 0)
        return p2v_errf_at(err, -errno, h->what, "%s", strerror(errno));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct stat st;
    uint8_t *buf = NULL;
    if (hivex_commit(h->h, path, 0) != 0) {
        r = p2v_errf_at(err, -EIO, h->what, "hivex could not write the hive (%s)",
                        strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > WIN_HIVE_MAX) {
        r = p2v_errf_at(err, -EIO, h->what, "hivex wrote no usable hive");
        goto out;
    }
    buf = malloc((size_t)st.st_size);
    size_t done = 0;
    if (!buf) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = pread_full(fd, buf, (size_t)st.st_size, 0, &done)) < 0 ||
        done != (size_t)st.st_size) {
        r = p2v_errf_at(err, r < 0 ? r : -EIO, h->what, "reading back the saved hive failed");
        goto out;
    }
    *data = buf;
    *len = done;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return r;
}

void win_hive_close(win_hive *h)
{
    if (!h)
        return;
    hivex_close(h->h);
    free(h);
}

size_t win_hive_walk(hive_h *h, size_t from, const char *path, bool create)
{
    hive_node_h node = from ? from : hivex_root(h);
    char part[256]; /* a registry key name has at most 255 characters */
    while (node && *path) {
        const char *sep = strchr(path, '\\');
        size_t n = sep ? (size_t)(sep - path) : strlen(path);
        if (n >= sizeof part) {
            errno = ENAMETOOLONG;
            return 0;
        }
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (sep != NULL);
        if (!n)
            continue; /* "a\\b", a leading or a trailing '\' */
        errno = 0;
        hive_node_h child = hivex_node_get_child(h, node, part); /* case-insensitive */
        if (!child && create && errno == 0)
            child = hivex_node_add_child(h, node, part);
        node = child;
    }
    return node;
}

size_t win_hive_node(win_hive *h, const char *path) { return win_hive_walk(h->h, 0, path, false); }

static hive_value_h value_of(win_hive *h, const char *path, const char *value,
                             hive_type *type)
{
    size_t node = win_hive_node(h, path);
    hive_value_h v = node ? hivex_node_get_value(h->h, node, value) : 0;
    size_t len;
    if (v && hivex_value_type(h->h, v, type, &len) != 0)
        v = 0;
    return v;
}

int win_hive_get_string(win_hive *h, const char *path, const char *value, char *out, size_t cap)
{
    hive_type t;
    hive_value_h v = value_of(h, path, value, &t);
    if (!v || (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ))
        return -ENOENT;
    char *s = hivex_value_string(h->h, v);
    if (!s)
        return -ENOENT;
    snprintf(out, cap, "%s", s);
    free(s);
    return 0;
}

int win_hive_get_dword(win_hive *h, const char *path, const char *value, uint32_t *out)
{
    hive_type t;
    hive_value_h v = value_of(h, path, value, &t);
    if (!v || (t != hive_t_REG_DWORD && t != hive_t_REG_DWORD_BIG_ENDIAN))
        return -ENOENT;
    errno = 0;
    int32_t d = hivex_value_dword(h->h, v);
    if (errno)
        return -ENOENT;
    *out = (uint32_t)d;
    return 0;
}
