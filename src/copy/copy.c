#include "copy/copy_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The copy is a pipeline: queue_depth reader threads take the next block in
 * target order, each into its own buffer of a ring, and read it (source
 * data, masked by the used map, patches laid over); `writers` writer threads
 * (the caller among them) take the read blocks in order, skip zero granules
 * and hand the rest to the sink, several writes in flight where the sink
 * allows it. A reader waits only when every buffer is full, being read or
 * being written; a writer waits only for the next block in order. Only
 * readers touch the sources (one at a time for a source that is not a plain
 * file or device), only writers touch the sink. */
enum slot_state { SLOT_FREE = 0, SLOT_READING, SLOT_FILLED, SLOT_WRITING };

struct copy_slot {
    uint8_t *buf;
    enum slot_state state;
    uint64_t seq; /* its place in the copy (set when a writer takes it) */
    size_t range;
    uint64_t rel;
    size_t len;
    int rc;
    p2v_err err;
};

/* Where the readers are: the next block to hand out. */
struct copy_cursor {
    size_t range;        /* current range; == n when every block is handed out */
    extent_list ext;     /* its target-relative extents */
    bool have_ext;
    size_t e;            /* current extent */
    uint64_t pos;        /* next byte of it */
};

struct copy_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t src_mu;   /* serializes reads of sources that need it */
    pthread_mutex_t order_mu; /* before_range and progress, one at a time */
    struct copy_slot *slot;
    size_t nslots;
    uint64_t handed, claimed;     /* blocks handed to readers; blocks taken by writers */
    bool stop;                    /* the writers gave up: readers must end */
    bool exhausted;               /* every block handed out (or the cursor failed) */
    bool failed;                  /* a writer failed: the others must end */
    unsigned running;             /* readers still running */
    struct copy_cursor cur;
    const copy_range *r;
    size_t n;
    const copy_opts *o;
    size_t bs;
    uint64_t read, reads, read_ns, read_wait_ns;
    size_t next_range;            /* ranges before this one have had before_range */
    uint64_t planned, done, written, write_ns, write_wait_ns;
    unsigned nwriters;            /* writer threads asked for */
    bool ordered;                 /* blocks stored in order, their data written after */
    uint64_t turn;                /* ordered: the block whose turn it is */
    int rc;                       /* the failure of the earliest block in copy order */
    uint64_t fail_seq;            /* that block's place */
    p2v_err err;
};

/* Advance the cursor to the next block; false when none is left. A failure
 * to build extents is reported through the slot. Called with mu held. */
static bool cursor_next(struct copy_pipe *p, struct copy_slot *s)
{
    struct copy_cursor *c = &p->cur;
    while (c->range < p->n) {
        if (!c->have_ext) {
            if (copy_range_extents(&p->r[c->range], p->o->granularity, &c->ext) < 0) {
                s->range = c->range;
                s->len = 0;
                s->rc = p2v_errf(&s->err, -ENOMEM, "out of memory");
                c->range = p->n;
                return true;
            }
            c->have_ext = true;
            c->e = 0;
            c->pos = c->ext.count ? c->ext.v[0].start : 0;
        }
        if (c->e < c->ext.count) {
            uint64_t end = c->ext.v[c->e].start + c->ext.v[c->e].len;
            s->range = c->range;
            s->rel = c->pos;
            s->len = end - c->pos < p->bs ? (size_t)(end - c->pos) : p->bs;
            s->rc = 0;
            c->pos += s->len;
            if (c->pos >= end && ++c->e < c->ext.count)
                c->pos = c->ext.v[c->e].start;
            return true;
        }
        extent_list_free(&c->ext);
        c->have_ext = false;
        c->range++;
    }
    return false;
}

/* Claim the next block and its buffer; NULL when there is none or on stop. */
static struct copy_slot *pipe_claim(struct copy_pipe *p)
{
    struct copy_slot *s = NULL;
    uint64_t t0 = cp_now_ns();
    pthread_mutex_lock(&p->mu);
    while (!p->stop && !p->exhausted && p->slot[p->handed % p->nslots].state != SLOT_FREE)
        pthread_cond_wait(&p->cv, &p->mu);
    if (!p->stop && !p->exhausted) {
        s = &p->slot[p->handed % p->nslots];
        if (cursor_next(p, s)) {
            s->state = SLOT_READING;
            p->handed++;
        } else {
            p->exhausted = true;
            pthread_cond_broadcast(&p->cv);
            s = NULL;
        }
    }
    p->read_wait_ns += cp_now_ns() - t0;
    pthread_mutex_unlock(&p->mu);
    return s;
}

static void *copy_reader(void *arg)
{
    struct copy_pipe *p = arg;
    struct copy_slot *s;
    while ((s = pipe_claim(p))) {
        uint64_t read = 0, t0 = cp_now_ns();
        if (s->len) {
            const copy_range *r = &p->r[s->range];
            bool lock = bd_raw_fd(r->src) < 0;
            if (lock)
                pthread_mutex_lock(&p->src_mu);
            s->rc = cp_fill_block(r, s->buf, s->rel, s->len, &read, &s->err);
            if (lock)
                pthread_mutex_unlock(&p->src_mu);
        }
        pthread_mutex_lock(&p->mu);
        p->read_ns += cp_now_ns() - t0;
        p->read += read;
        p->reads++;
        s->state = SLOT_FILLED;
        if (s->rc < 0)
            p->exhausted = true; /* hand out nothing after an error */
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    p->running--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Take the next block in order once it is read; NULL when none is left or
 * another writer failed. */
static struct copy_slot *pipe_take(struct copy_pipe *p)
{
    struct copy_slot *s = NULL;
    uint64_t t0 = cp_now_ns();
    pthread_mutex_lock(&p->mu);
    while (!p->failed) {
        if (p->claimed < p->handed) {
            struct copy_slot *c = &p->slot[p->claimed % p->nslots];
            if (c->state == SLOT_FILLED) {
                c->state = SLOT_WRITING;
                c->seq = p->claimed++;
                s = c;
                break;
            }
        } else if (p->exhausted || p->running == 0) {
            break;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->write_wait_ns += cp_now_ns() - t0;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* A writer's failure with block seq; everyone stops. With several writers
 * a later block may fail first: the earliest block's failure is the one
 * reported, as with one writer. -ECANCELED only follows another failure
 * (a block told to stop) and never replaces it. */
static void pipe_fail(struct copy_pipe *p, uint64_t seq, int rc, const p2v_err *err)
{
    pthread_mutex_lock(&p->mu);
    if (!p->failed || (rc != -ECANCELED && (p->rc == -ECANCELED || seq < p->fail_seq))) {
        p->failed = true;
        p->rc = rc;
        p->fail_seq = seq;
        memcpy(&p->err, err, sizeof *err);
    }
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* before_range for every range up to and including `upto`, in order, once. */
static int ranges_begin(struct copy_pipe *p, size_t upto, p2v_err *err)
{
    int rc = 0;
    if (!p->o->before_range)
        return 0;
    pthread_mutex_lock(&p->order_mu);
    while (rc == 0 && p->next_range <= upto && p->next_range < p->n) {
        rc = p->o->before_range(p->o->before_ctx, &p->r[p->next_range], err);
        p->next_range++;
    }
    pthread_mutex_unlock(&p->order_mu);
    return rc;
}

/* Ordered: wait until every earlier block is stored. false on failure. */
static bool wait_turn(struct copy_pipe *p, uint64_t seq)
{
    pthread_mutex_lock(&p->mu);
    while (p->turn != seq && !p->failed)
        pthread_cond_wait(&p->cv, &p->mu);
    bool ok = !p->failed;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static void next_turn(struct copy_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->turn++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Hand the block to the sink: in ordered mode stored in its turn (gathered,
 * before_range first) and its data written after the turn has passed on. */
static int store_block(struct copy_pipe *p, struct copy_slot *s, uint64_t *written, p2v_err *err)
{
    const copy_opts *o = p->o;
    bool gather = o->gather && (p->nwriters == 1 || p->ordered);
    void *token = NULL;
    p2v_err ignored;
    int rc;
    if (p->ordered && !wait_turn(p, s->seq))
        return p2v_errf(err, -ECANCELED, "stopped"); /* the first failure is reported */
    if ((rc = ranges_begin(p, s->range, err)) < 0 || (rc = cp_cancelled(o, err)) < 0 ||
        (gather && (rc = o->gather(o->write_ctx, true, err)) < 0))
        return rc;
    rc = cp_write_nonzero(o, s->buf, s->len, p->r[s->range].dst_offset + s->rel, written, err);
    if (p->ordered) {
        int rt = o->gather_take(o->write_ctx, &token, rc < 0 ? &ignored : err);
        if (rc == 0)
            rc = rt;
        if (rc == 0)
            next_turn(p);
        if (token) {
            int rw = o->gather_write(o->write_ctx, token, rc < 0 ? &ignored : err);
            if (rc == 0)
                rc = rw;
        }
    } else if (gather) {
        int rg = o->gather(o->write_ctx, false, rc < 0 ? &ignored : err);
        if (rc == 0)
            rc = rg;
    }
    return rc;
}

static int write_one(struct copy_pipe *p, struct copy_slot *s, p2v_err *err)
{
    const copy_opts *o = p->o;
    uint64_t written = 0, t0;
    int rc;
    if (s->rc < 0) {
        memcpy(err, &s->err, sizeof *err);
        return s->rc;
    }
    t0 = cp_now_ns();
    rc = store_block(p, s, &written, err);
    uint64_t took = cp_now_ns() - t0;
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->order_mu);
    p->written += written;
    p->write_ns += took;
    p->done += s->len;
    if (o->progress)
        o->progress(o->progress_ctx, p->done, p->planned);
    pthread_mutex_unlock(&p->order_mu);
    pthread_mutex_lock(&p->mu);
    s->state = SLOT_FREE;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void *copy_writer(void *arg)
{
    struct copy_pipe *p = arg;
    struct copy_slot *s;
    p2v_err err;
    while ((s = pipe_take(p))) {
        int rc = write_one(p, s, &err);
        if (rc < 0) {
            pipe_fail(p, s->seq, rc, &err);
            break;
        }
    }
    return NULL;
}

/* Start n threads running fn; returns how many started (at least one, or an error). */
static int start_threads(struct copy_pipe *p, pthread_t *th, unsigned n, void *(*fn)(void *),
                         const char *what, p2v_err *err)
{
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&th[i], NULL, fn, p);
        if (rc != 0) {
            if (i > 0)
                return (int)i; /* fewer threads is still correct */
            return p2v_errf(err, -rc, "cannot start the %s thread: %s", what, strerror(rc));
        }
    }
    return (int)n;
}

/* The readers, counted as running before any of them can finish. */
static int start_readers(struct copy_pipe *p, pthread_t *th, unsigned n, p2v_err *err)
{
    pthread_mutex_lock(&p->mu);
    p->running = n;
    pthread_mutex_unlock(&p->mu);
    int started = start_threads(p, th, n, copy_reader, "reader", err);
    pthread_mutex_lock(&p->mu);
    p->running -= n - (started > 0 ? (unsigned)started : 0);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return started;
}

static void stop_readers(struct copy_pipe *p, pthread_t *th, unsigned n)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

/* The writers, the caller among them; then what follows the last block. */
static int run_writers(struct copy_pipe *p, unsigned nw, unsigned *ran, p2v_err *err)
{
    pthread_t th[COPY_MAX_WRITERS];
    p2v_err terr;
    int extra = nw > 1 ? start_threads(p, th, nw - 1, copy_writer, "writer", &terr) : 0;
    if (extra < 0)
        extra = 0; /* the caller alone is still correct */
    *ran = (unsigned)extra + 1;
    copy_writer(p);
    for (int i = 0; i < extra; i++)
        pthread_join(th[i], NULL);
    if (p->failed) {
        memcpy(err, &p->err, sizeof *err);
        return p->rc;
    }
    int rc = ranges_begin(p, p->n, err);
    return rc < 0 ? rc : cp_cancelled(p->o, err);
}

int copy_run(const copy_range *r, size_t n, const copy_opts *o, copy_stats *st, p2v_err *err)
{
    int rc;
    unsigned qd = o->queue_depth ? o->queue_depth : COPY_DEFAULT_QUEUE_DEPTH;
    unsigned nw = o->writers ? o->writers : 1;
    if (qd > COPY_MAX_QUEUE_DEPTH)
        qd = COPY_MAX_QUEUE_DEPTH;
    if (nw > COPY_MAX_WRITERS)
        nw = COPY_MAX_WRITERS;
    struct copy_pipe p = { .r = r, .n = n, .o = o, .nslots = qd + nw + 1, .nwriters = nw,
                           .ordered = nw > 1 && o->gather && o->gather_take && o->gather_write,
                           .bs = o->block_size ? o->block_size : COPY_DEFAULT_BLOCK };
    pthread_t th[COPY_MAX_QUEUE_DEPTH];
    memset(st, 0, sizeof *st);
    if ((rc = copy_planned_bytes(r, n, o->granularity, &st->planned)) < 0)
        return p2v_errf(err, rc, "out of memory");
    p.planned = st->planned;
    if (!(p.slot = calloc(p.nslots, sizeof *p.slot)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    /* Page-aligned buffers: sinks may write them with O_DIRECT. */
    for (size_t i = 0; i < p.nslots; i++)
        if (posix_memalign((void **)&p.slot[i].buf, 4096, p.bs) != 0) {
            p.slot[i].buf = NULL;
            rc = p2v_errf(err, -ENOMEM, "out of memory");
            goto out;
        }
    pthread_mutex_init(&p.mu, NULL);
    pthread_mutex_init(&p.src_mu, NULL);
    pthread_mutex_init(&p.order_mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    uint64_t t0 = cp_now_ns();
    if ((rc = start_readers(&p, th, qd, err)) > 0) {
        unsigned started = (unsigned)rc;
        rc = run_writers(&p, nw, &st->writers, err);
        stop_readers(&p, th, started);
        st->read = p.read;
        st->reads = p.reads;
        st->read_ns = p.read_ns;
        st->read_wait_ns = p.read_wait_ns;
        st->written = p.written;
        st->write_ns = p.write_ns;
        st->write_wait_ns = p.write_wait_ns;
        st->queue_depth = started;
    }
    st->total_ns = cp_now_ns() - t0;
    if (p.cur.have_ext)
        extent_list_free(&p.cur.ext);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.order_mu);
    pthread_mutex_destroy(&p.src_mu);
    pthread_mutex_destroy(&p.mu);
out:
    for (size_t i = 0; i < p.nslots; i++)
        free(p.slot[i].buf);
    free(p.slot);
    return rc;
}

