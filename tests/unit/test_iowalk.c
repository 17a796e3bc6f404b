/* io_walk: pieces in order and back to back, errors passed through, and a
 * piece that does nothing or too much caught instead of looping. */
#include <errno.h>

#include "t.h"
#include "util/iowalk.h"

/* Pieces end at multiples of step (or the end of the request); each one is
 * recorded, and the piece starting at fail_at fails. */
struct rec {
    uint64_t step;
    uint64_t fail_at;
    int64_t force; /* > -1000: what every piece returns instead */
    uint64_t off[16], at[16], len[16];
    size_t count;
};

static int64_t piece(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err)
{
    struct rec *r = ctx;
    if (off == r->fail_at)
        return p2v_errf(err, -ENOSPC, "piece at %llu fails", (unsigned long long)off);
    if (r->force > -1000)
        return r->force;
    uint64_t n = r->step - off % r->step;
    n = n < len ? n : len;
    if (r->count < 16) {
        r->off[r->count] = off;
        r->at[r->count] = at;
        r->len[r->count] = n;
    }
    r->count++;
    return (int64_t)n;
}

static void test_pieces(void)
{
    struct rec r = { .step = 10, .fail_at = UINT64_MAX, .force = -1000 };
    p2v_err err = { 0 };
    CHECK(io_walk(25, 30, piece, &r, &err) == 0);
    CHECK_EQ_U64(r.count, 4); /* 25-30, 30-40, 40-50, 50-55 */
    CHECK_EQ_U64(r.off[0], 25);
    CHECK_EQ_U64(r.len[0], 5);
    CHECK_EQ_U64(r.at[1], 5);
    CHECK_EQ_U64(r.off[1], 30);
    CHECK_EQ_U64(r.at[3], 25);
    CHECK_EQ_U64(r.len[3], 5);
    r.count = 0;
    CHECK(io_walk(7, 0, piece, &r, &err) == 0); /* nothing to do: no call */
    CHECK_EQ_U64(r.count, 0);
}

static void test_errors(void)
{
    struct rec r = { .step = 10, .fail_at = 40, .force = -1000 };
    p2v_err err = { 0 };
    CHECK(io_walk(25, 30, piece, &r, &err) == -ENOSPC);
    CHECK_STR(err.msg, "piece at 40 fails");
    CHECK_EQ_U64(r.count, 2); /* stopped at the failing piece */
    struct rec none = { .step = 10, .fail_at = UINT64_MAX, .force = 0 };
    CHECK(io_walk(25, 30, piece, &none, &err) == -EIO);
    CHECK_STR(err.msg, "internal error: 0 bytes done of a piece of 30 at offset 25");
    struct rec much = { .step = 10, .fail_at = UINT64_MAX, .force = 31 };
    CHECK(io_walk(25, 30, piece, &much, &err) == -EIO);
    CHECK_STR(err.msg, "internal error: 31 bytes done of a piece of 30 at offset 25");
}

int main(void)
{
    test_pieces();
    test_errors();
    return t_done("test_iowalk");
}
