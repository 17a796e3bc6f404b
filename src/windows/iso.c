/* ISO 9660 through libarchive's reader, fed from a blockdev by callbacks. */
#include "windows/iso.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"

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
        archive_set_error(a, -rc, "%s", s->err.msg);
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

static int iso_open(blockdev *bd, iso_src *s, struct archive **out, p2v_err *err)
{
    memset(s, 0, sizeof *s);
    s->bd = bd;
    struct archive *a = archive_read_new();
    if (!a)
        return p2v_errf(err, -ENOMEM, "%s: out of memory opening the ISO image", bd_path(bd));
    archive_read_support_format_iso9660(a);
    archive_read_set_read_callback(a, src_read);
    archive_read_set_seek_callback(a, src_seek);
    archive_read_set_skip_callback(a, src_skip);
    archive_read_set_callback_data(a, s);
    if (archive_read_open1(a) != ARCHIVE_OK) {
        int rc = s->failed ? s->failed : -EINVAL;
        p2v_errf(err, rc, "%s: not a readable ISO 9660 image (%s)", bd_path(bd),
                 archive_error_string(a) ? archive_error_string(a) : "unknown format");
        archive_read_free(a);
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
        int r = archive_read_next_header(a, e);
        if (r == ARCHIVE_EOF)
            return 1;
        if (r < ARCHIVE_WARN) {
            int rc = s->failed ? s->failed : -EINVAL;
            return p2v_errf(err, rc, "%s: damaged ISO 9660 image (%s)", bd_path(s->bd),
                            archive_error_string(a) ? archive_error_string(a) : "read error");
        }
        if (archive_entry_filetype(*e) == AE_IFREG && archive_entry_pathname(*e))
            return 0;
    }
}

int iso_walk(blockdev *bd, iso_file_fn fn, void *ctx, p2v_err *err)
{
    iso_src *s = malloc(sizeof *s);
    struct archive *a = NULL;
    if (!s)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(bd));
    int rc = iso_open(bd, s, &a, err);
    while (rc == 0) {
        struct archive_entry *e;
        rc = next_file(a, s, &e, err);
        if (rc != 0)
            break;
        int64_t size = archive_entry_size(e);
        rc = fn(ctx, clean_path(archive_entry_pathname(e)), size < 0 ? 0 : (uint64_t)size);
    }
    if (a)
        archive_read_free(a);
    free(s);
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
        la_ssize_t n = archive_read_data(a, b + got, (size_t)size - got);
        if (n <= 0) {
            free(b);
            return p2v_errf(err, s->failed ? s->failed : -EIO, "%s: %s: cannot read (%s)",
                            bd_path(s->bd), path,
                            n < 0 && archive_error_string(a) ? archive_error_string(a) : "short file");
        }
        got += (size_t)n;
    }
    *buf = b;
    *len = got;
    return 0;
}

int iso_read_file(blockdev *bd, const char *path, size_t max, uint8_t **buf, size_t *len,
                  p2v_err *err)
{
    iso_src *s = malloc(sizeof *s);
    struct archive *a = NULL;
    if (!s)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(bd));
    int rc = iso_open(bd, s, &a, err);
    while (rc == 0) {
        struct archive_entry *e;
        rc = next_file(a, s, &e, err);
        if (rc == 1) {
            rc = p2v_errf(err, -ENOENT, "%s: %s: no such file in the image", bd_path(bd), path);
            break;
        }
        if (rc == 0 && strcmp(clean_path(archive_entry_pathname(e)), path) == 0) {
            int64_t size = archive_entry_size(e);
            rc = read_data(a, s, path, size < 0 ? 0 : (uint64_t)size, max, buf, len, err);
            break;
        }
    }
    if (a)
        archive_read_free(a);
    free(s);
    return rc;
}
