#include "copy/copy.h"
#include "copy/salvage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/size.h"
#include "util/zero.h"

#define COPY_DEFAULT_BLOCK (4u << 20)

/* Round [start, start + len) of the range outward to granularity boundaries
 * of the target disk, clipped to [0, limit). */
static int add_rounded(extent_list *l, const copy_range *r, uint64_t start, uint64_t len,
                       uint32_t g, uint64_t limit)
{
    if (start >= limit || len == 0)
        return 0;
    if (len > limit - start)
        len = limit - start;
    uint64_t abs_start = r->dst_offset + start, abs_end = abs_start + len;
    uint64_t a = align_down_u64(abs_start, g), b = align_up_u64(abs_end, g);
    uint64_t s = a < r->dst_offset ? 0 : a - r->dst_offset;
    uint64_t e = b - r->dst_offset;
    if (e > limit)
        e = limit;
    return extent_list_add(l, s, e - s);
}

int copy_range_extents(const copy_range *r, uint32_t g, extent_list *out)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (r->used) {
        for (size_t i = 0; i < r->used->count && rc == 0; i++)
            rc = add_rounded(out, r, r->used->v[i].start, r->used->v[i].len, g, r->src_len);
    } else {
        rc = add_rounded(out, r, 0, r->src_len, g, r->src_len);
    }
    for (size_t i = 0; r->patches && i < r->patches->count && rc == 0; i++)
        rc = add_rounded(out, r, r->patches->v[i].offset, r->patches->v[i].len, g, r->dst_len);
    if (rc < 0) {
        extent_list_free(out);
        return rc;
    }
    extent_list_normalize(out);
    return 0;
}

int copy_planned_bytes(const copy_range *r, size_t n, uint32_t g, uint64_t *out)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        extent_list l;
        int rc = copy_range_extents(&r[i], g, &l);
        if (rc < 0)
            return rc;
        *out += extent_list_bytes(&l);
        extent_list_free(&l);
    }
    return 0;
}

/* Zero the bytes of buf (source offsets [rel, rel + n)) that the used map
 * does not name: rounding extents out to the granularity must not carry free
 * space (deleted files' leftovers) into the image. */
static void mask_unused(const extent_list *u, uint8_t *buf, uint64_t rel, size_t n)
{
    uint64_t pos = rel, end = rel + n;
    size_t lo = 0, hi = u->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->v[mid].start + u->v[mid].len <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < u->count && pos < end; i++) {
        uint64_t s = u->v[i].start, e = s + u->v[i].len;
        if (s >= end)
            break;
        if (s > pos)
            memset(buf + (pos - rel), 0, (size_t)(s - pos));
        if (e > pos)
            pos = e;
    }
    if (pos < end)
        memset(buf + (pos - rel), 0, (size_t)(end - pos));
}

/* The target's bytes [rel, rel + len) of the range: source data (zeros past
 * src_len, and where a used map does not name it) with the patches laid over it. */
static int fill_block(const copy_range *r, uint8_t *buf, uint64_t rel, size_t len, uint64_t *read,
                      p2v_err *err)
{
    size_t from_src = 0;
    if (rel < r->src_len)
        from_src = r->src_len - rel < len ? (size_t)(r->src_len - rel) : len;
    if (from_src) {
        int rc = bd_pread(r->src, buf, from_src, r->src_offset + rel, err);
        if (rc == -EIO && r->salvage)
            rc = salvage_read(r->salvage, r, buf, from_src, rel, err);
        if (rc < 0)
            return p2v_err_prefix(err, rc, "%s", r->what);
        *read += from_src;
        if (r->used)
            mask_unused(r->used, buf, rel, from_src);
    }
    memset(buf + from_src, 0, len - from_src);
    for (size_t i = 0; r->patches && i < r->patches->count; i++) {
        const reloc_patch *p = &r->patches->v[i];
        uint64_t ps = p->offset, pe = p->offset + p->len;
        uint64_t s = ps > rel ? ps : rel, e = pe < rel + len ? pe : rel + len;
        if (s < e)
            memcpy(buf + (s - rel), p->data + (s - ps), (size_t)(e - s));
    }
    return 0;
}

/* Write the non-zero granules of buf (target offset abs) as runs. */
static int write_nonzero(const copy_opts *o, const uint8_t *buf, size_t len, uint64_t abs,
                         uint64_t *written, p2v_err *err)
{
    size_t pos = 0, run = 0;
    bool in_run = false;
    while (pos < len) {
        /* Granule boundaries are on the target disk, not on the buffer. */
        size_t glen = (size_t)(align_down_u64(abs + pos, o->granularity) + o->granularity -
                               (abs + pos));
        if (glen > len - pos)
            glen = len - pos;
        bool zero = buf_is_zero(buf + pos, glen);
        if (!zero && !in_run) {
            run = pos;
            in_run = true;
        } else if (zero && in_run) {
            int rc = o->write(o->write_ctx, abs + run, buf + run, pos - run, err);
            if (rc < 0)
                return rc;
            *written += pos - run;
            in_run = false;
        }
        pos += glen;
    }
    if (in_run) {
        int rc = o->write(o->write_ctx, abs + run, buf + run, len - run, err);
        if (rc < 0)
            return rc;
        *written += len - run;
    }
    return 0;
}

static int cancelled(const copy_opts *o, p2v_err *err)
{
    if (o->cancel && *o->cancel)
        return p2v_errf(err, -EINTR, "interrupted by a signal");
    return 0;
}

/* The copy is a pipeline: a reader thread fills blocks (source data, masked
 * by the used map, patches laid over) into a small ring while the calling
 * thread skips zero granules and writes, so reading the source and writing
 * the image overlap. Only the reader touches the sources, only the caller
 * touches the sink. */
#define COPY_SLOTS 4

struct copy_slot {
    uint8_t *buf;
    size_t range;
    uint64_t rel;
    size_t len;
    int rc;
    p2v_err err;
};

struct copy_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct copy_slot slot[COPY_SLOTS];
    size_t head, count;   /* next slot to write; slots filled and not yet written */
    bool stop;            /* the writer gave up: the reader must end */
    bool done;            /* the reader has queued everything (or an error) */
    const copy_range *r;
    size_t n;
    const copy_opts *o;
    size_t bs;
    uint64_t read;
};

/* Wait for a free slot; NULL when told to stop. */
static struct copy_slot *pipe_free_slot(struct copy_pipe *p)
{
    struct copy_slot *s = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->count == COPY_SLOTS && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    if (!p->stop)
        s = &p->slot[(p->head + p->count) % COPY_SLOTS];
    pthread_mutex_unlock(&p->mu);
    return s;
}

static void pipe_push(struct copy_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->count++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *copy_reader(void *arg)
{
    struct copy_pipe *p = arg;
    bool failed = false;
    for (size_t i = 0; i < p->n && !failed; i++) {
        extent_list l;
        struct copy_slot *s;
        if (copy_range_extents(&p->r[i], p->o->granularity, &l) < 0) {
            if ((s = pipe_free_slot(p))) {
                s->range = i;
                s->len = 0;
                s->rc = p2v_errf(&s->err, -ENOMEM, "out of memory");
                pipe_push(p);
            }
            break;
        }
        for (size_t e = 0; e < l.count && !failed; e++) {
            uint64_t pos = l.v[e].start, end = l.v[e].start + l.v[e].len;
            while (pos < end && !failed) {
                if (!(s = pipe_free_slot(p))) {
                    failed = true;
                    break;
                }
                s->range = i;
                s->rel = pos;
                s->len = end - pos < p->bs ? (size_t)(end - pos) : p->bs;
                s->rc = fill_block(&p->r[i], s->buf, pos, s->len, &p->read, &s->err);
                failed = s->rc < 0;
                pos += s->len;
                pipe_push(p);
            }
        }
        extent_list_free(&l);
    }
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The next filled slot, or NULL when the reader has finished. */
static struct copy_slot *pipe_next(struct copy_pipe *p)
{
    struct copy_slot *s = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->count > 0)
        s = &p->slot[p->head];
    pthread_mutex_unlock(&p->mu);
    return s;
}

static void pipe_pop(struct copy_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->head = (p->head + 1) % COPY_SLOTS;
    p->count--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int write_slots(struct copy_pipe *p, copy_stats *st, p2v_err *err)
{
    const copy_opts *o = p->o;
    size_t next_range = 0; /* ranges before this one have had before_range */
    uint64_t done = 0;
    struct copy_slot *s;
    int rc;
    while ((s = pipe_next(p))) {
        if (s->rc < 0) {
            memcpy(err, &s->err, sizeof *err);
            return s->rc;
        }
        for (; next_range <= s->range; next_range++)
            if (o->before_range && (rc = o->before_range(o->before_ctx, &p->r[next_range], err)) < 0)
                return rc;
        if ((rc = cancelled(o, err)) < 0 ||
            (rc = write_nonzero(o, s->buf, s->len, p->r[s->range].dst_offset + s->rel,
                                &st->written, err)) < 0)
            return rc;
        done += s->len;
        pipe_pop(p);
        if (o->progress)
            o->progress(o->progress_ctx, done, st->planned);
    }
    for (; next_range < p->n; next_range++)
        if (o->before_range && (rc = o->before_range(o->before_ctx, &p->r[next_range], err)) < 0)
            return rc;
    return cancelled(o, err);
}

int copy_run(const copy_range *r, size_t n, const copy_opts *o, copy_stats *st, p2v_err *err)
{
    int rc;
    struct copy_pipe p = { .r = r, .n = n, .o = o,
                           .bs = o->block_size ? o->block_size : COPY_DEFAULT_BLOCK };
    pthread_t reader;
    memset(st, 0, sizeof *st);
    if ((rc = copy_planned_bytes(r, n, o->granularity, &st->planned)) < 0)
        return p2v_errf(err, rc, "out of memory");
    for (size_t i = 0; i < COPY_SLOTS; i++)
        if (!(p.slot[i].buf = malloc(p.bs))) {
            rc = p2v_errf(err, -ENOMEM, "out of memory");
            goto out;
        }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if ((rc = pthread_create(&reader, NULL, copy_reader, &p)) != 0) {
        rc = p2v_errf(err, -rc, "cannot start the reader thread: %s", strerror(rc));
    } else {
        rc = write_slots(&p, st, err);
        pthread_mutex_lock(&p.mu);
        p.stop = true;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
        pthread_join(reader, NULL);
        st->read = p.read;
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
out:
    for (size_t i = 0; i < COPY_SLOTS; i++)
        free(p.slot[i].buf);
    return rc;
}

int copy_verify(const copy_range *r, size_t n, blockdev *target, const copy_opts *o,
                uint64_t *checked, p2v_err *err)
{
    int rc = 0;
    size_t bs = o->block_size ? o->block_size : COPY_DEFAULT_BLOCK;
    uint8_t *want = malloc(bs), *got = malloc(bs);
    uint64_t done = 0, total = 0, ignored = 0;
    *checked = 0;
    if (!want || !got) {
        rc = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = copy_planned_bytes(r, n, o->granularity, &total)) < 0) {
        rc = p2v_errf(err, rc, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        extent_list l;
        if ((rc = copy_range_extents(&r[i], o->granularity, &l)) < 0) {
            rc = p2v_errf(err, rc, "out of memory");
            break;
        }
        for (size_t e = 0; e < l.count && rc == 0; e++) {
            uint64_t pos = l.v[e].start, end = l.v[e].start + l.v[e].len;
            while (pos < end && rc == 0) {
                size_t len = end - pos < bs ? (size_t)(end - pos) : bs;
                uint64_t abs = r[i].dst_offset + pos;
                if ((rc = cancelled(o, err)) < 0 ||
                    (rc = fill_block(&r[i], want, pos, len, &ignored, err)) < 0)
                    break;
                if ((rc = bd_pread(target, got, len, abs, err)) < 0) {
                    rc = p2v_err_prefix(err, rc, "verify");
                    break;
                }
                if (memcmp(want, got, len) != 0) {
                    size_t k = 0;
                    while (want[k] == got[k])
                        k++;
                    rc = p2v_errf(err, -EIO,
                                  "verify: %s differs from the source at target offset %llu "
                                  "(source offset %llu)",
                                  r[i].what, (unsigned long long)(abs + k),
                                  (unsigned long long)(r[i].src_offset + pos + k));
                    break;
                }
                pos += len;
                done += len;
                *checked += len;
                if (o->progress)
                    o->progress(o->progress_ctx, done, total);
            }
        }
        extent_list_free(&l);
    }
out:
    free(want);
    free(got);
    return rc;
}
