/* Helpers shared by the partition-table unit tests: an in-memory disk that
 * ptable_serialize writes to and ptable_read reads from. */
#ifndef P2V_TEST_PTABLE_TESTLIB_H
#define P2V_TEST_PTABLE_TESTLIB_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "ptable/ptable.h"
#include "t.h"

typedef struct memdisk {
    uint8_t *buf;
    size_t len;
    uint32_t ss;
} memdisk;

static inline int memdisk_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    memdisk *d = ctx;
    if (off > d->len || len > d->len - off)
        return p2v_errf(err, -EIO, "memdisk: write of %zu at %llu past the end", len,
                        (unsigned long long)off);
    memcpy(d->buf + off, buf, len);
    return 0;
}

static inline memdisk memdisk_new(uint64_t sectors, uint32_t ss)
{
    memdisk d = { calloc(sectors, ss), (size_t)(sectors * ss), ss };
    return d;
}

/* A disk of t->disk_sectors holding t as ptable_serialize writes it; the
 * serialization must succeed (a failed CHECK otherwise). */
static inline memdisk memdisk_with_table(const ptable *t)
{
    memdisk d = memdisk_new(t->disk_sectors, t->sector_size);
    p2v_err err;
    int r = ptable_serialize(t, memdisk_write, &d, &err);
    CHECK(r == 0);
    if (r)
        fprintf(stderr, "serialize: %s\n", err.msg);
    return d;
}

/* Read the table of d; NULL on error (message in err). sector_size 0 leaves
 * the blockdev at its image-file default so that detection can run. */
static inline ptable *memdisk_read(const memdisk *d, size_t len, uint32_t sector_size, p2v_err *err)
{
    blockdev *bd;
    ptable *t = NULL;
    if (bd_open_mem(d->buf, len, sector_size, "mem.img", &bd, err) < 0)
        return NULL;
    if (ptable_read(bd, &t, err) < 0)
        t = NULL;
    bd_close(bd);
    return t;
}

static inline bool warnings_contain(const p2v_warnings *w, const char *needle)
{
    for (size_t i = 0; i < w->count; i++)
        if (strstr(w->msgs[i], needle))
            return true;
    return false;
}

static inline void dump_warnings(const ptable *t)
{
    for (size_t i = 0; t && i < t->warnings.count; i++)
        fprintf(stderr, "  warning: %s\n", t->warnings.msgs[i]);
}

#endif
