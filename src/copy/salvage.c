#include "copy/salvage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"

/* After a failed block, reads of this size find the bad region before the
 * sector-by-sector pass; each read that fails is tried this many times. */
#define SALVAGE_CHUNK (64u * 1024u)
#define SALVAGE_TRIES 2

struct salvage {
    enum salvage_policy policy;
    pthread_mutex_t lock;
    salvage_bad *v;
    size_t count, cap;
    uint64_t bytes;
};

int salvage_new(enum salvage_policy policy, salvage **out, p2v_err *err)
{
    salvage *s = calloc(1, sizeof *s);
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s->policy = policy;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

void salvage_free(salvage *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->v);
    free(s);
}

enum salvage_policy salvage_get_policy(const salvage *s) { return s->policy; }
size_t salvage_count(const salvage *s) { return s->count; }
const salvage_bad *salvage_get(const salvage *s, size_t i) { return &s->v[i]; }
uint64_t salvage_bad_bytes(const salvage *s) { return s->bytes; }

static int read_tries(blockdev *bd, uint8_t *buf, size_t len, uint64_t off)
{
    p2v_err ignored;
    int rc = -EIO;
    for (int t = 0; t < SALVAGE_TRIES && rc < 0; t++)
        rc = bd_pread(bd, buf, len, off, &ignored);
    return rc;
}

/* Does [rel, rel + len) touch the range's used map (or is there none)? */
static bool used_touches(const copy_range *r, uint64_t rel, uint64_t len)
{
    const extent_list *u = r->used;
    if (!u)
        return true;
    return extent_list_touches(u, rel, len);
}

/* Sector by sector over [off, off + len) (absolute source offsets): zero
 * what cannot be read and add the used ones to bad (range-relative). */
static int scrape(const copy_range *r, uint8_t *buf, size_t len, uint64_t off, extent_list *bad)
{
    uint64_t ss = bd_sector_size(r->src), end = off + len;
    for (uint64_t p = off; p < end;) {
        uint64_t next = (p / ss + 1) * ss;
        size_t n = (size_t)((next < end ? next : end) - p);
        uint8_t *at = buf + (p - off);
        if (read_tries(r->src, at, n, p) < 0) {
            memset(at, 0, n);
            uint64_t rel = p - r->src_offset;
            if (used_touches(r, rel, n) && extent_list_add(bad, rel, n) < 0)
                return -ENOMEM;
        }
        p += n;
    }
    return 0;
}

/* The bad extents (range-relative) as runs named on the source disk: a
 * resized partition is read through views (window, overlay, remap), so its
 * bytes are translated back (bd_origin) sector by sector, and a run is cut
 * where the disk's sectors stop being consecutive. *out: malloc'd. */
static int disk_runs(const copy_range *r, const extent_list *bad, salvage_bad **out, size_t *n)
{
    uint64_t ss = bd_sector_size(r->src);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < bad->count; i++) {
        uint64_t end = bad->v[i].start + bad->v[i].len;
        for (uint64_t p = bad->v[i].start; p < end;) {
            uint64_t next = ((r->src_offset + p) / ss + 1) * ss - r->src_offset;
            uint64_t len = (next < end ? next : end) - p, doff;
            const blockdev *disk;
            bd_origin(r->src, r->src_offset + p, &disk, &doff);
            salvage_bad *last = *n ? &(*out)[*n - 1] : NULL;
            if (last && last->rel + last->len == p && last->disk_offset + last->len == doff &&
                !strcmp(last->disk, bd_path(disk))) {
                last->len += len;
            } else {
                salvage_bad *v = array_room(*out, &cap, *n, sizeof *v, 8);
                if (!v)
                    return -ENOMEM;
                *out = v;
                salvage_bad nb = { .sector_size = (uint32_t)ss, .rel = p, .len = len,
                                   .src_offset = r->src_offset + p,
                                   .dst_offset = r->dst_offset + p, .disk_offset = doff };
                snprintf(nb.what, sizeof nb.what, "%s", r->what ? r->what : "");
                snprintf(nb.disk, sizeof nb.disk, "%s", bd_path(disk));
                (*out)[(*n)++] = nb;
            }
            p += len;
        }
    }
    return 0;
}

/* "2048, 2050-2053" (the disk's sectors) into msg, as many as fit, then
 * "and N more". */
static void list_sectors(const salvage_bad *v, size_t count, char *msg, size_t cap)
{
    size_t used = 0, shown = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        uint64_t ss = v[i].sector_size, a = v[i].disk_offset / ss;
        uint64_t b = (v[i].disk_offset + v[i].len - 1) / ss;
        char one[64];
        int n = a == b ? snprintf(one, sizeof one, "%s%llu", i ? ", " : "", (unsigned long long)a)
                       : snprintf(one, sizeof one, "%s%llu-%llu", i ? ", " : "",
                                  (unsigned long long)a, (unsigned long long)b);
        if (used + (size_t)n + 24 >= cap)
            break;
        memcpy(msg + used, one, (size_t)n + 1);
        used += (size_t)n;
        shown++;
    }
    if (shown < count)
        snprintf(msg + used, cap - used, " and %zu more runs", count - shown);
}

/* Do run a end where run b (of the same range) begins, on the disk too? */
static bool joins(const salvage_bad *a, const salvage_bad *b)
{
    return !strcmp(a->what, b->what) && a->rel + a->len == b->rel && !strcmp(a->disk, b->disk) &&
           a->disk_offset + a->len == b->disk_offset;
}

/* Add the runs in image order (readers find them in any order), joined
 * with a run of the same range that ends where one begins or begins where
 * one ends. */
static int record(salvage *s, const salvage_bad *runs, size_t count)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < count && rc == 0; i++) {
        salvage_bad nb = runs[i];
        size_t at = s->count; /* first run after nb */
        while (at > 0 && s->v[at - 1].dst_offset > nb.dst_offset)
            at--;
        s->bytes += nb.len;
        if (at > 0 && joins(&s->v[at - 1], &nb)) {
            s->v[at - 1].len += nb.len;
            if (at < s->count && joins(&s->v[at - 1], &s->v[at])) {
                s->v[at - 1].len += s->v[at].len;
                memmove(&s->v[at], &s->v[at + 1], (s->count - at - 1) * sizeof *s->v);
                s->count--;
            }
            continue;
        }
        if (at < s->count && joins(&nb, &s->v[at])) {
            s->v[at].rel = nb.rel;
            s->v[at].src_offset = nb.src_offset;
            s->v[at].dst_offset = nb.dst_offset;
            s->v[at].disk_offset = nb.disk_offset;
            s->v[at].len += nb.len;
            continue;
        }
        salvage_bad *v = array_room(s->v, &s->cap, s->count, sizeof *v, 16);
        if (!v) {
            rc = -ENOMEM;
            break;
        }
        s->v = v;
        memmove(&s->v[at + 1], &s->v[at], (s->count - at) * sizeof *s->v);
        s->v[at] = nb;
        s->count++;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int salvage_read(salvage *s, const copy_range *r, uint8_t *buf, size_t len, uint64_t rel,
                 p2v_err *err)
{
    uint64_t off = r->src_offset + rel, end = off + len;
    extent_list bad = { 0 };
    int rc = 0;

    if (read_tries(r->src, buf, len, off) == 0)
        return 0;
    for (uint64_t p = off; p < end && rc == 0;) {
        uint64_t next = (p / SALVAGE_CHUNK + 1) * SALVAGE_CHUNK;
        size_t n = (size_t)((next < end ? next : end) - p);
        if (read_tries(r->src, buf + (p - off), n, p) < 0)
            rc = scrape(r, buf + (p - off), n, p, &bad);
        p += n;
    }
    if (rc < 0) {
        rc = p2v_errf(err, rc, "out of memory");
        goto out;
    }
    if (bad.count == 0)
        goto out;
    salvage_bad *runs = NULL;
    size_t nruns = 0;
    if (disk_runs(r, &bad, &runs, &nruns) < 0) {
        rc = p2v_errf(err, -ENOMEM, "out of memory");
    } else if (s->policy == SALVAGE_FAIL) {
        char list[700];
        list_sectors(runs, nruns, list, sizeof list);
        rc = p2v_errf(err, -EIO,
                      "%s: unreadable sectors (%u bytes each): %s; --bad-sectors zero copies "
                      "around them",
                      nruns ? runs[0].disk : bd_path(r->src), bd_sector_size(r->src), list);
    } else if (record(s, runs, nruns) < 0) {
        rc = p2v_errf(err, -ENOMEM, "out of memory");
    }
    free(runs);
out:
    extent_list_free(&bad);
    return rc;
}

int salvage_extents_of(const salvage *s, const char *what, extent_list *out, p2v_err *err)
{
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->v[i].what, what) && extent_list_add(out, s->v[i].rel, s->v[i].len) < 0)
            return p2v_errf(err, -ENOMEM, "out of memory");
    extent_list_normalize(out);
    return 0;
}

static void map_line(FILE *f, uint64_t pos, uint64_t len, char status)
{
    fprintf(f, "0x%08llX  0x%08llX  %c\n", (unsigned long long)pos, (unsigned long long)len,
            status);
}

int salvage_write_map(const salvage *s, uint64_t image_size, FILE *f, p2v_err *err)
{
    const salvage_bad *v = s->v; /* in image order (record) */
    fprintf(f, "# Mapfile. Created by p2v %s\n"
               "# Positions and sizes are bytes of the image; '-' marks sectors that could\n"
               "# not be read from the source and were written as zeros.\n",
            P2V_VERSION);
    for (size_t i = 0; i < s->count; i++) {
        uint64_t ss = v[i].sector_size, a = v[i].disk_offset / ss;
        uint64_t z = (v[i].disk_offset + v[i].len - 1) / ss;
        char sec[64];
        if (a == z)
            snprintf(sec, sizeof sec, "sector %llu", (unsigned long long)a);
        else
            snprintf(sec, sizeof sec, "sectors %llu-%llu", (unsigned long long)a,
                     (unsigned long long)z);
        fprintf(f, "# %s: %s %s (%u bytes each) at image byte %llu\n", v[i].what, v[i].disk,
                sec, v[i].sector_size, (unsigned long long)v[i].dst_offset);
    }
    fprintf(f, "# current_pos  current_status  current_pass\n0x%08llX     +               1\n"
               "#      pos        size  status\n",
            (unsigned long long)(s->count ? v[s->count - 1].dst_offset : 0));
    uint64_t pos = 0;
    for (size_t i = 0; i < s->count; i++) {
        uint64_t a = v[i].dst_offset, e = a + v[i].len;
        if (a < pos || e > image_size)
            return p2v_errf(err, -EINVAL, "bad sector run at image byte %llu lies outside the "
                            "image or overlaps another", (unsigned long long)a);
        if (a > pos)
            map_line(f, pos, a - pos, '+');
        map_line(f, a, e - a, '-');
        pos = e;
    }
    if (pos < image_size)
        map_line(f, pos, image_size - pos, '+');
    if (fflush(f) != 0 || ferror(f))
        return p2v_errf(err, -EIO, "cannot write the bad-sector map: %s", strerror(errno));
    return 0;
}
