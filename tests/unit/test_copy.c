/* The copy engine: every queue depth and block size gives the same image,
 * writes arrive in target order, only used bytes are read (each once), and
 * errors and cancellation end the pipeline without hanging. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "copy/copy.h"
#include "t.h"

#define SRC_BYTES (6u << 20)
#define TGT_BYTES (16u << 20)

struct target {
    uint8_t *buf;
    uint64_t last_end; /* writes must come in increasing order */
    bool out_of_order;
    size_t writes;
    size_t fail_at; /* fail this write (1-based); 0: never */
};

static int target_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    struct target *t = ctx;
    if (off < t->last_end)
        t->out_of_order = true;
    t->last_end = off + len;
    if (++t->writes == t->fail_at)
        return p2v_errf(err, -ENOSPC, "target full");
    if (off + len > TGT_BYTES)
        return p2v_errf(err, -EINVAL, "past the end");
    memcpy(t->buf + off, buf, len);
    return 0;
}

/* A target for several writers: no byte written twice, before_range of a
 * range seen before any write into it, and how many writes overlapped. */
struct mtarget {
    pthread_mutex_t mu;
    uint8_t *buf, *seen;
    const copy_range *r;
    size_t n, begun; /* ranges whose before_range ran, in order */
    bool overlap, early, out_of_range_order;
    unsigned in_flight, most;
    size_t writes, fail_at;
};

static int mtarget_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    struct mtarget *t = ctx;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (++t->writes == t->fail_at)
        rc = p2v_errf(err, -ENOSPC, "target full");
    for (size_t k = 0; k < t->n; k++)
        if (off < t->r[k].dst_offset + t->r[k].dst_len && off + len > t->r[k].dst_offset &&
            k >= t->begun)
            t->early = true;
    for (size_t i = 0; i < len && rc == 0; i++)
        t->overlap |= t->seen[off + i]++ != 0;
    if (++t->in_flight > t->most)
        t->most = t->in_flight;
    pthread_mutex_unlock(&t->mu);
    if (rc == 0) {
        memcpy(t->buf + off, buf, len);
        usleep(300); /* long enough for the other writers to come in */
    }
    pthread_mutex_lock(&t->mu);
    t->in_flight--;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static int mtarget_begin(void *ctx, const copy_range *r, p2v_err *err)
{
    struct mtarget *t = ctx;
    (void)err;
    pthread_mutex_lock(&t->mu);
    if (r != &t->r[t->begun])
        t->out_of_range_order = true;
    t->begun++;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

/* copy_run of r's two ranges with o: a run meant to fail must end with
 * want_rc and msg; a good one must put want's bytes in buf. Whether it
 * copied (the caller checks the rest then); the stats in st. */
static bool run_copy(const copy_range *r, const copy_opts *o, int want_rc, const char *msg,
                     const uint8_t *buf, const uint8_t *want, copy_stats *st)
{
    p2v_err err;
    int rc = copy_run(r, 2, o, st, &err);
    if (want_rc) {
        CHECK(rc == want_rc);
        CHECK_STR(err.msg, msg);
        return false;
    }
    CHECK(rc == 0);
    CHECK(memcmp(buf, want, TGT_BYTES) == 0);
    return true;
}

/* Several writers at once: the same image, each byte once, before_range in
 * order and first, writes really in flight together; a failing write stops
 * everything and its error comes back. */
static void test_writers(const copy_range *r, const uint8_t *want)
{
    static const unsigned writers[] = { 2, 3, 8 };
    for (size_t w = 0; w < sizeof writers / sizeof *writers; w++)
        for (size_t fail = 0; fail < 2; fail++) {
            struct mtarget t = { .buf = calloc(1, TGT_BYTES), .seen = calloc(1, TGT_BYTES),
                                 .r = r, .n = 2, .fail_at = fail ? 7 : 0 };
            pthread_mutex_init(&t.mu, NULL);
            copy_opts o = { .write = mtarget_write, .write_ctx = &t, .granularity = 4096,
                            .block_size = 65536, .queue_depth = 4, .writers = writers[w],
                            .before_range = mtarget_begin, .before_ctx = &t };
            copy_stats st;
            if (run_copy(r, &o, fail ? -ENOSPC : 0, "target full", t.buf, want, &st)) {
                CHECK_EQ_U64(t.begun, 2);
                CHECK_EQ_U64(st.writers, writers[w]);
                CHECK(t.most > 1);
            }
            CHECK(!t.overlap && !t.early && !t.out_of_range_order);
            pthread_mutex_destroy(&t.mu);
            free(t.buf);
            free(t.seen);
        }
}

/* Two failures at once: the write of the first block is held until a later
 * block's write has failed, then fails too. The error reported is the first
 * block's (the one a one-writer copy would have met), whichever writer
 * reached the pipeline's failure first. */
struct esink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t first_end; /* writes below this are the first block's */
    bool late_failed;
    size_t early;
};

static int esink_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    struct esink *t = ctx;
    (void)buf;
    (void)len;
    pthread_mutex_lock(&t->mu);
    if (off < t->first_end) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        while (!t->late_failed && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0)
            ;
        t->early++;
        pthread_mutex_unlock(&t->mu);
        return p2v_errf(err, -EIO, "first block: write error");
    }
    t->late_failed = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return p2v_errf(err, -ENOSPC, "later block: target full");
}

static void test_error_order(const copy_range *whole)
{
    static const unsigned writers[] = { 2, 4 };
    for (size_t w = 0; w < sizeof writers / sizeof *writers; w++) {
        struct esink t = { .first_end = whole->dst_offset + 65536 };
        pthread_mutex_init(&t.mu, NULL);
        pthread_cond_init(&t.cv, NULL);
        copy_opts o = { .write = esink_write, .write_ctx = &t, .granularity = 4096,
                        .block_size = 65536, .queue_depth = 4, .writers = writers[w] };
        copy_stats st;
        p2v_err err;
        CHECK(copy_run(whole, 1, &o, &st, &err) == -EIO);
        CHECK_STR(err.msg, "first block: write error");
        CHECK(t.late_failed);   /* the race really happened: a later block failed first */
        CHECK_EQ_U64(t.early, 1);
        pthread_cond_destroy(&t.cv);
        pthread_mutex_destroy(&t.mu);
    }
}

/* An ordered sink (like qcow2): stores come in target order, one at a
 * time; their data is held while gathering and written by gather_write in
 * several threads at once. */
struct piece {
    uint64_t off;
    const uint8_t *buf;
    size_t len;
};
struct token {
    struct piece v[256];
    size_t n;
};
struct osink {
    pthread_mutex_t mu;
    uint8_t *buf;
    uint64_t last_end;
    bool out_of_order, storing, overlap_store, gathering, ungathered;
    struct token *cur;
    unsigned in_flight, most;
    size_t tokens, fail_at;
};

static int osink_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    struct osink *t = ctx;
    (void)err;
    pthread_mutex_lock(&t->mu);
    t->overlap_store |= t->storing;
    t->storing = true;
    pthread_mutex_unlock(&t->mu);
    if (off < t->last_end)
        t->out_of_order = true;
    t->last_end = off + len;
    if (!t->gathering || !t->cur || t->cur->n == 256)
        t->ungathered = true;
    else
        t->cur->v[t->cur->n++] = (struct piece){ off, buf, len };
    pthread_mutex_lock(&t->mu);
    t->storing = false;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

static int osink_gather(void *ctx, bool on, p2v_err *err)
{
    struct osink *t = ctx;
    (void)err;
    t->gathering = on;
    if (on && !t->cur)
        t->cur = calloc(1, sizeof *t->cur);
    return 0;
}

static int osink_take(void *ctx, void **token, p2v_err *err)
{
    struct osink *t = ctx;
    (void)err;
    t->gathering = false;
    *token = t->cur;
    t->cur = NULL;
    return 0;
}

static int osink_write_taken(void *ctx, void *token, p2v_err *err)
{
    struct osink *t = ctx;
    struct token *k = token;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (++t->tokens == t->fail_at)
        rc = p2v_errf(err, -EIO, "disk gone");
    if (++t->in_flight > t->most)
        t->most = t->in_flight;
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < k->n && rc == 0; i++)
        memcpy(t->buf + k->v[i].off, k->v[i].buf, k->v[i].len);
    usleep(300);
    pthread_mutex_lock(&t->mu);
    t->in_flight--;
    pthread_mutex_unlock(&t->mu);
    free(k);
    return rc;
}

static void test_ordered(const copy_range *r, const uint8_t *want)
{
    for (size_t fail = 0; fail < 2; fail++) {
        struct osink t = { .buf = calloc(1, TGT_BYTES), .fail_at = fail ? 5 : 0 };
        pthread_mutex_init(&t.mu, NULL);
        copy_opts o = { .write = osink_write, .write_ctx = &t, .granularity = 4096,
                        .block_size = 65536, .queue_depth = 4, .writers = 4,
                        .gather = osink_gather, .gather_take = osink_take,
                        .gather_write = osink_write_taken };
        copy_stats st;
        if (run_copy(r, &o, fail ? -EIO : 0, "disk gone", t.buf, want, &st))
            CHECK(t.most > 1);
        CHECK(!t.out_of_order && !t.overlap_store && !t.ungathered);
        free(t.cur);
        pthread_mutex_destroy(&t.mu);
        free(t.buf);
    }
}

static uint8_t *make_source(void)
{
    uint8_t *s = malloc(SRC_BYTES);
    uint32_t x = 12345;
    for (size_t i = 0; i < SRC_BYTES; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = (uint8_t)(x >> 16) | 1;
    }
    memset(s + (1u << 20), 0, 300000); /* a zero stretch: never written */
    return s;
}

/* A fragmented used map: extents of 512 B to 200 KiB with gaps between. */
static void make_used(extent_list *u)
{
    uint32_t x = 777;
    uint64_t pos = 4096;
    memset(u, 0, sizeof *u);
    while (pos < SRC_BYTES - 4096) {
        x = x * 1103515245u + 12345u;
        uint64_t len = 512 * (1 + (x >> 8) % 400);
        x = x * 1103515245u + 12345u;
        uint64_t gap = 512 * ((x >> 8) % 300);
        if (pos + len > SRC_BYTES)
            len = SRC_BYTES - pos;
        extent_list_add(u, pos, len);
        pos += len + gap;
    }
    extent_list_normalize(u);
}

/* The image the ranges must produce, built without the engine. */
static void expected(const copy_range *r, size_t n, const uint8_t *src, uint8_t *want)
{
    memset(want, 0, TGT_BYTES);
    for (size_t k = 0; k < n; k++) {
        if (!r[k].used)
            memcpy(want + r[k].dst_offset, src + r[k].src_offset, r[k].src_len);
        for (size_t i = 0; r[k].used && i < r[k].used->count; i++)
            memcpy(want + r[k].dst_offset + r[k].used->v[i].start,
                   src + r[k].src_offset + r[k].used->v[i].start, r[k].used->v[i].len);
        for (size_t i = 0; r[k].patches && i < r[k].patches->count; i++)
            memcpy(want + r[k].dst_offset + r[k].patches->v[i].offset, r[k].patches->v[i].data,
                   r[k].patches->v[i].len);
    }
}

int main(void)
{
    uint8_t *src = make_source(), *want = malloc(TGT_BYTES);
    struct target t = { .buf = malloc(TGT_BYTES) };
    blockdev *bd = NULL;
    p2v_err err;
    extent_list used;
    make_used(&used);
    CHECK(bd_open_mem(src, SRC_BYTES, 512, "mem", &bd, &err) == 0);

    uint8_t p1[512], p2[512];
    memset(p1, 0xA5, sizeof p1);
    memset(p2, 0x5A, sizeof p2);
    reloc_patch pv[2] = { { .offset = 0, .len = 512, .data = p1 },
                          { .offset = SRC_BYTES + 4096, .len = 512, .data = p2 } };
    reloc_patches patches = { .v = pv, .count = 2 };
    /* A partition with a used map and patches (one past its source), then a
     * whole one at an offset that is not a multiple of the block size. */
    copy_range r[2] = {
        { .src = bd, .src_offset = 0, .src_len = SRC_BYTES, .dst_offset = 1u << 20,
          .dst_len = SRC_BYTES + 65536, .used = &used, .patches = &patches, .what = "mem:1" },
        { .src = bd, .src_offset = 65536, .src_len = (3u << 20) + 4096,
          .dst_offset = (8u << 20) + 65536, .dst_len = (3u << 20) + 4096, .what = "mem:2" },
    };
    expected(r, 2, src, want);
    uint64_t used_bytes = extent_list_bytes(&used);

    static const unsigned depths[] = { 1, 2, 3, 8, 16 };
    static const size_t blocks[] = { 65536, 1u << 20, 0 };
    static const uint32_t grains[] = { 4096, 65536 };
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++)
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
                memset(t.buf, 0, TGT_BYTES);
                t.last_end = 0;
                t.out_of_order = false;
                copy_opts o = { .write = target_write, .write_ctx = &t,
                                .granularity = grains[g], .block_size = blocks[b],
                                .queue_depth = depths[d] };
                copy_stats st;
                int rc = copy_run(r, 2, &o, &st, &err);
                CHECK(rc == 0);
                if (rc < 0)
                    fprintf(stderr, "qd %u: %s\n", depths[d], err.msg);
                CHECK(memcmp(t.buf, want, TGT_BYTES) == 0);
                CHECK(!t.out_of_order);
                /* each used source byte read once, nothing else */
                CHECK_EQ_U64(st.read, used_bytes + r[1].src_len);
                CHECK_EQ_U64(st.queue_depth, depths[d]);
                CHECK(st.written < st.planned);
            }

    /* A failing sink stops every reader (no hang) and its error comes back. */
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        t = (struct target){ .buf = t.buf, .fail_at = 3 };
        copy_opts o = { .write = target_write, .write_ctx = &t, .granularity = 4096,
                        .block_size = 65536, .queue_depth = depths[d] };
        copy_stats st;
        CHECK(copy_run(r, 2, &o, &st, &err) == -ENOSPC);
        CHECK_STR(err.msg, "target full");
        CHECK_EQ_U64(t.writes, 3);
    }

    /* A read past the source's end fails in order, naming the range. */
    copy_range bad = r[1];
    bad.src_len = SRC_BYTES; /* from 64 KiB on: 64 KiB too long */
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        t = (struct target){ .buf = t.buf };
        memset(t.buf, 0, TGT_BYTES);
        copy_opts o = { .write = target_write, .write_ctx = &t, .granularity = 4096,
                        .block_size = 1u << 20, .queue_depth = depths[d] };
        copy_stats st;
        CHECK(copy_run(&bad, 1, &o, &st, &err) < 0);
        CHECK(strncmp(err.msg, "mem:2", 5) == 0);
        CHECK(!t.out_of_order);
        /* every whole block before the bad one was written */
        CHECK(memcmp(t.buf + bad.dst_offset, src + bad.src_offset, SRC_BYTES - (1u << 20)) == 0);
    }

    test_writers(r, want);
    test_ordered(r, want);
    test_error_order(&r[1]);

    /* Cancellation. */
    volatile sig_atomic_t cancel = 1;
    copy_opts oc = { .write = target_write, .write_ctx = &t, .granularity = 4096,
                     .queue_depth = 4, .cancel = &cancel };
    copy_stats st;
    CHECK(copy_run(r, 2, &oc, &st, &err) == -EINTR);

    extent_list_free(&used);
    bd_close(bd);
    free(src);
    free(want);
    free(t.buf);
    return t_done("test_copy");
}
