/* The streamed qcow2 writer: emitted front to back into memory, then opened
 * with p2v's reader and rebuilt by its checker (clean: no leak, no
 * corruption), every written byte read back, everything else zero; for
 * several cluster sizes and extent shapes; writes out of order or outside
 * the plan refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "qcow2/qcow2.h"
#include "t.h"

struct membuf {
    uint8_t *p;
    size_t len, cap;
};

static int emit_mem(void *ctx, const void *buf, size_t len, p2v_err *err)
{
    struct membuf *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        uint8_t *n = realloc(m->p, cap);
        if (!n)
            return p2v_errf(err, -ENOMEM, "out of memory");
        m->p = n;
        m->cap = cap;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

static void run_case(uint32_t cs, uint64_t vsize, const extent *ext, size_t n)
{
    extent_list alloc = { 0 };
    for (size_t i = 0; i < n; i++)
        extent_list_add(&alloc, ext[i].start, ext[i].len);
    struct membuf m = { 0 };
    qcow2_stream *s;
    p2v_err err;
    uint8_t *want = calloc(1, vsize);
    int r = qcow2_stream_create(vsize, cs, &alloc, emit_mem, &m, &s, &err);
    CHECK(r == 0);
    if (r) {
        fprintf(stderr, "create: %s\n", err.msg);
        goto out;
    }
    /* write every other 4 KiB piece of each extent with a pattern */
    for (size_t i = 0; i < n; i++)
        for (uint64_t off = ext[i].start; off < ext[i].start + ext[i].len; off += 8192) {
            size_t len = ext[i].start + ext[i].len - off < 4096 ? ext[i].start + ext[i].len - off
                                                                : 4096;
            for (size_t k = 0; k < len; k++)
                want[off + k] = (uint8_t)(off / 4096 + k * 7 + 1);
            CHECK(qcow2_stream_write(s, want + off, len, off, &err) == 0);
        }
    CHECK(qcow2_stream_finish(s, &err) == 0);
    CHECK_EQ_U64(qcow2_stream_bytes(s), qcow2_stream_total_bytes(s));
    CHECK_EQ_U64(m.len, qcow2_stream_total_bytes(s));
    qcow2_stream_free(s);

    blockdev *file;
    qcow2_image *img;
    CHECK(bd_open_mem(m.p, m.len, 512, "stream.qcow2", &file, &err) == 0);
    r = qcow2_image_open_bd(file, QCOW2_OPEN_CHECK, &img, &err);
    CHECK(r == 0);
    if (r) {
        fprintf(stderr, "open: %s\n", err.msg);
        goto out;
    }
    qcow2_check_result res = { 0 };
    CHECK(qcow2_check(img, &res, &err) == 0);
    CHECK_EQ_U64(res.corruptions, 0);
    CHECK_EQ_U64(res.leaks, 0);
    CHECK_EQ_U64(res.check_errors, 0);
    qcow2_check_result_free(&res);
    uint8_t *got = malloc(vsize);
    CHECK(qcow2_image_pread(img, NULL, got, vsize, 0, &err) == 0);
    CHECK(memcmp(got, want, vsize) == 0);
    free(got);
    qcow2_image_close(img);
out:
    extent_list_free(&alloc);
    free(m.p);
    free(want);
}

static void test_refusals(void)
{
    extent ext = { 1 << 20, 1 << 20 };
    extent_list alloc = { 0 };
    extent_list_add(&alloc, ext.start, ext.len);
    struct membuf m = { 0 };
    qcow2_stream *s;
    p2v_err err;
    uint8_t b[512] = { 1 };
    CHECK(qcow2_stream_create(8 << 20, 65536, &alloc, emit_mem, &m, &s, &err) == 0);
    CHECK(qcow2_stream_write(s, b, sizeof b, 0, &err) == -EINVAL);
    CHECK(strstr(err.msg, "outside the planned extents") != NULL);
    CHECK(qcow2_stream_write(s, b, sizeof b, (1 << 20) + 200000, &err) == 0);
    CHECK(qcow2_stream_write(s, b, sizeof b, 1 << 20, &err) == -EINVAL);
    CHECK(strstr(err.msg, "behind data already sent") != NULL);
    qcow2_stream_free(s);
    CHECK(qcow2_stream_create(8 << 20, 3000, &alloc, emit_mem, &m, &s, &err) == -EINVAL);
    extent_list_free(&alloc);
    free(m.p);
}

int main(void)
{
    const extent shapes[] = { { 0, 4096 },       { 65536 * 3 + 100, 70000 },
                              { 5 << 20, 3 << 20 }, { (40 << 20) - 512, 512 } };
    const uint32_t sizes[] = { 512, 4096, 65536, 2u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        run_case(sizes[i], 40 << 20, shapes, 4);
        run_case(sizes[i], 40 << 20, shapes + 2, 1);
        run_case(sizes[i], 1 << 20, NULL, 0); /* nothing written: metadata only */
    }
    test_refusals();
    return t_done("test_qcow2_stream");
}
