/* ISO 9660 through libarchive's reader, fed from a blockdev by callbacks. */
#include "windows/iso.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "util/optlib.h"

/* libarchive is opened on first use (util/optlib.h) */
#define LA_FNS(X)                                                                                  \
    X(archive_read_new) X(archive_read_support_format_iso9660) X(archive_read_set_read_callback) \
    X(archive_read_set_seek_callback) X(archive_read_set_skip_callback)                          \
    X(archive_read_set_callback_data) X(archive_read_open1) X(archive_read_next_header)          \
    X(archive_read_data) X(archive_read_free) X(archive_error_string) X(archive_set_error)       \
    X(archive_entry_filetype) X(archive_entry_pathname) X(archive_entry_size)
static OPTLIB_TABLE(la_fns, LA_FNS) la;
OPTLIB(la_lib, P2V_SONAME_ARCHIVE, "reading ISO images", LA_FNS, la);

enum { ISO_CHUNK = 64 * 1024 };

typedef struct iso_src {
    blockdev *bd;
    uint64_t pos;
    uint8_t buf[ISO_CHUNK];
    p2v_err err;
    int failed; /* a read error of the blockdev, reported instead of libarchive's */
} iso_src;

static la_ssize_t src_read(struct archive *a, void *ctx, const void **out)
{
    iso_src *s = ctx;
    uint64_t size = bd_size(s->bd);
    size_t n = s->pos >= size ? 0 : (size - s->pos < ISO_CHUNK ? (size_t)(size - s->pos) : ISO_CHUNK);
    *out = s->buf;
    if (n == 0)
        return 0;
    int rc = bd_pread(s->bd, s->buf, n, s->pos, &s->err);
    if (rc < 0) {
        s->failed = rc;
        la.f.archive_set_error(a, -rc, "%s", s->err.msg);
        return -1;
    }
    s->pos += n;
    return (la_ssize_t)n;
}

static la_int64_t src_seek(struct archive *a, void *ctx, la_int64_t off, int whence)
{
    (void)a;
    iso_src *s = ctx;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)s->pos
                                                               : (int64_t)bd_size(s->bd);
    if (off < -base || (off > 0 && base > INT64_MAX - off))
        return ARCHIVE_FATAL;
    int64_t np = base + off;
    if ((uint64_t)np > bd_size(s->bd))
        np = (int64_t)bd_size(s->bd);
    s->pos = (uint64_t)np;
    return np;
}

static la_int64_t src_skip(struct archive *a, void *ctx, la_int64_t n)
{
    (void)a;
    iso_src *s = ctx;
    uint64_t left = bd_size(s->bd) - (s->pos < bd_size(s->bd) ? s->pos : bd_size(s->bd));
    uint64_t k = n < 0 ? 0 : (uint64_t)n < left ? (uint64_t)n : left;
    s->pos += k;
    return (la_int64_t)k;
}

/* ---- a check of the directory tree before libarchive reads it ----
 * libarchive allocates a directory's recorded length at once: a hostile
 * record claiming 4 GiB is a 4 GiB allocation. Every directory record of
 * every volume descriptor must name an extent inside the image. */

enum { ISO_SECTOR = 2048, ISO_MAX_DIRS = 4096, ISO_MAX_DIR_SECTORS = 1 << 16 };

struct iso_dirq {
    uint64_t lba[ISO_MAX_DIRS], len[ISO_MAX_DIRS];
    size_t n, next;
};

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Check the record at r (byte `at` of the image) and queue it if it is a
 * directory. */
static int iso_record(blockdev *bd, const uint8_t *r, uint64_t at, bool queue_dir,
                      struct iso_dirq *q, p2v_err *err)
{
    uint64_t lba = le32_at(r + 2), len = le32_at(r + 10);
    if (lba * ISO_SECTOR + len > bd_size(bd))
        return p2v_errf(err, -EINVAL, "%s: damaged ISO 9660 image: the directory record at "
                                      "byte %llu names %llu bytes at sector %llu, past the end "
                                      "of the image (%llu bytes)", bd_path(bd),
                        (unsigned long long)at, (unsigned long long)len,
                        (unsigned long long)lba, (unsigned long long)bd_size(bd));
    if (queue_dir && (r[25] & 2)) {
        if (q->n == ISO_MAX_DIRS)
            return p2v_errf(err, -EINVAL, "%s: more than %d directories: not a driver image",
                            bd_path(bd), ISO_MAX_DIRS);
        q->lba[q->n] = lba;
        q->len[q->n++] = len;
    }
    return 0;
}

static int iso_check_dir(blockdev *bd, uint64_t lba, uint64_t len, struct iso_dirq *q,
                         p2v_err *err)
{
    uint8_t sec[ISO_SECTOR];
    uint64_t sectors = len / ISO_SECTOR + (len % ISO_SECTOR != 0);
    if (sectors > ISO_MAX_DIR_SECTORS)
        return p2v_errf(err, -EINVAL, "%s: a directory of %llu bytes: not a driver image",
                        bd_path(bd), (unsigned long long)len);
    for (uint64_t k = 0; k < sectors; k++) {
        uint64_t at = (lba + k) * ISO_SECTOR;
        int rc = bd_pread(bd, sec, sizeof sec, at, err);
        if (rc < 0)
            return rc;
        for (size_t off = 0; off < ISO_SECTOR && sec[off];) {
            size_t rl = sec[off];
            if (rl < 34 || off + rl > ISO_SECTOR)
                return p2v_errf(err, -EINVAL, "%s: damaged ISO 9660 image: a directory "
                                              "record of %zu bytes at byte %llu", bd_path(bd),
                                rl, (unsigned long long)(at + off));
            /* "." and ".." (one-byte names 0 and 1) point back up: not queued */
            bool self = sec[off + 32] == 1 && sec[off + 33] <= 1;
            if ((rc = iso_record(bd, sec + off, at + off, !self, q, err)) < 0)
                return rc;
            off += rl;
        }
    }
    return 0;
}

static int iso_check_tree(blockdev *bd, p2v_err *err)
{
    struct iso_dirq *q = calloc(1, sizeof *q);
    uint8_t sec[ISO_SECTOR];
    int rc = q ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
    for (uint64_t s = 16; rc == 0 && s < 48 && (s + 1) * ISO_SECTOR <= bd_size(bd); s++) {
        if ((rc = bd_pread(bd, sec, sizeof sec, s * ISO_SECTOR, err)) < 0 ||
            memcmp(sec + 1, "CD001", 5) != 0 || sec[0] == 255)
            break;
        if (sec[0] == 1 || sec[0] == 2)
            rc = iso_record(bd, sec + 156, s * ISO_SECTOR + 156, true, q, err);
    }
    while (rc == 0 && q && q->next < q->n) {
        size_t i = q->next++;
        rc = iso_check_dir(bd, q->lba[i], q->len[i], q, err);
    }
    free(q);
    return rc;
}

static int iso_open(blockdev *bd, iso_src *s, struct archive **out, p2v_err *err)
{
    memset(s, 0, sizeof *s);
    int rc0 = iso_check_tree(bd, err);
    if (rc0 < 0)
        return rc0;
    if ((rc0 = optlib_load(&la_lib, err)) < 0)
        return p2v_err_prefix(err, rc0, "%s", bd_path(bd));
    s->bd = bd;
    struct archive *a = la.f.archive_read_new();
    if (!a)
        return p2v_errf(err, -ENOMEM, "%s: out of memory opening the ISO image", bd_path(bd));
    la.f.archive_read_support_format_iso9660(a);
    la.f.archive_read_set_read_callback(a, src_read);
    la.f.archive_read_set_seek_callback(a, src_seek);
    la.f.archive_read_set_skip_callback(a, src_skip);
    la.f.archive_read_set_callback_data(a, s);
    if (la.f.archive_read_open1(a) != ARCHIVE_OK) {
        int rc = s->failed ? s->failed : -EINVAL;
        p2v_errf(err, rc, "%s: not a readable ISO 9660 image (%s)", bd_path(bd),
                 la.f.archive_error_string(a) ? la.f.archive_error_string(a) : "unknown format");
        la.f.archive_read_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static const char *clean_path(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    while (*p == '/')
        p++;
    return p;
}

/* Next regular file of a, or 1 at the end; negative with err on a damaged image. */
static int next_file(struct archive *a, iso_src *s, struct archive_entry **e, p2v_err *err)
{
    for (;;) {
        int r = la.f.archive_read_next_header(a, e);
        if (r == ARCHIVE_EOF)
            return 1;
        if (r < ARCHIVE_WARN) {
            int rc = s->failed ? s->failed : -EINVAL;
            return p2v_errf(err, rc, "%s: damaged ISO 9660 image (%s)", bd_path(s->bd),
                            la.f.archive_error_string(a) ? la.f.archive_error_string(a) : "read error");
        }
        if (la.f.archive_entry_filetype(*e) == AE_IFREG && la.f.archive_entry_pathname(*e))
            return 0;
    }
}

/* What iso_each calls for each regular file e of a: 0 goes on, anything
 * else stops the walk and is returned. */
typedef int (*iso_visit_fn)(void *ctx, struct archive *a, iso_src *s, struct archive_entry *e,
                            p2v_err *err);

/* Open the image on bd and visit its regular files in order: what visit
 * stopped with, 1 at the end of the image, or a negative error. */
static int iso_each(blockdev *bd, iso_visit_fn visit, void *ctx, p2v_err *err)
{
    iso_src *s = malloc(sizeof *s);
    struct archive *a = NULL;
    if (!s)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(bd));
    int rc = iso_open(bd, s, &a, err);
    while (rc == 0) {
        struct archive_entry *e;
        rc = next_file(a, s, &e, err);
        if (rc == 0)
            rc = visit(ctx, a, s, e, err);
    }
    if (a)
        la.f.archive_read_free(a);
    free(s);
    return rc;
}

static uint64_t entry_size(struct archive_entry *e)
{
    int64_t size = la.f.archive_entry_size(e);
    return size < 0 ? 0 : (uint64_t)size;
}

struct walk_ctx {
    iso_file_fn fn;
    void *ctx;
};

static int walk_visit(void *ctx, struct archive *a, iso_src *s, struct archive_entry *e,
                      p2v_err *err)
{
    (void)a, (void)s, (void)err;
    struct walk_ctx *w = ctx;
    return w->fn(w->ctx, clean_path(la.f.archive_entry_pathname(e)), entry_size(e));
}

int iso_walk(blockdev *bd, iso_file_fn fn, void *ctx, p2v_err *err)
{
    struct walk_ctx w = { fn, ctx };
    int rc = iso_each(bd, walk_visit, &w, err);
    return rc < 0 ? rc : 0;
}

static int read_data(struct archive *a, iso_src *s, const char *path, uint64_t size, size_t max,
                     uint8_t **buf, size_t *len, p2v_err *err)
{
    if (size > max)
        return p2v_errf(err, -EFBIG, "%s: %s: %llu bytes, more than the %zu expected", bd_path(s->bd),
                        path, (unsigned long long)size, max);
    uint8_t *b = malloc(size ? (size_t)size : 1);
    if (!b)
        return p2v_errf(err, -ENOMEM, "%s: %s: out of memory", bd_path(s->bd), path);
    size_t got = 0;
    while (got < size) {
        la_ssize_t n = la.f.archive_read_data(a, b + got, (size_t)size - got);
        if (n <= 0) {
            free(b);
            return p2v_errf(err, s->failed ? s->failed : -EIO, "%s: %s: cannot read (%s)",
                            bd_path(s->bd), path,
                            n < 0 && la.f.archive_error_string(a) ? la.f.archive_error_string(a) : "short file");
        }
        got += (size_t)n;
    }
    *buf = b;
    *len = got;
    return 0;
}

struct read_ctx {
    const char *path;
    size_t max;
    uint8_t **buf;
    size_t *len;
};

enum { ISO_FOUND = 2 }; /* a visit's stop, apart from iso_each's 1 at the end */

static int read_visit(void *ctx, struct archive *a, iso_src *s, struct archive_entry *e,
                      p2v_err *err)
{
    struct read_ctx *rd = ctx;
    if (strcmp(clean_path(la.f.archive_entry_pathname(e)), rd->path) != 0)
        return 0;
    int rc = read_data(a, s, rd->path, entry_size(e), rd->max, rd->buf, rd->len, err);
    return rc < 0 ? rc : ISO_FOUND;
}

int iso_read_file(blockdev *bd, const char *path, size_t max, uint8_t **buf, size_t *len,
                  p2v_err *err)
{
    struct read_ctx rd = { path, max, buf, len };
    int rc = iso_each(bd, read_visit, &rd, err);
    if (rc == 1)
        return p2v_errf(err, -ENOENT, "%s: %s: no such file in the image", bd_path(bd), path);
    return rc < 0 ? rc : 0;
}
