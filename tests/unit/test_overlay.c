/* The copy-on-write overlay: edits are seen through it, never in the source,
 * in memory or spilled to a temporary file, and it lists what it changed. */
#include <errno.h>
#include <stdlib.h>

#include "blockdev/overlay.h"
#include "blockdev/remap.h"
#include "blockdev/window.h"
#include "t.h"

#define DISK (1u << 20)

static uint8_t *make_disk(void)
{
    uint8_t *d = malloc(DISK);
    for (size_t i = 0; i < DISK; i++)
        d[i] = (uint8_t)(i * 13 + (i >> 9));
    return d;
}

/* What the overlay must read as: the source window with edits applied. */
static void check_view(blockdev *ov, const uint8_t *expect, size_t len)
{
    uint8_t *got = malloc(len);
    p2v_err err;
    CHECK(bd_pread(ov, got, len, 0, &err) == 0);
    CHECK(memcmp(got, expect, len) == 0);
    /* Odd-sized reads at odd offsets, across written and unwritten blocks. */
    for (uint64_t off = 1; off + 9999 < len; off += 7919) {
        CHECK(bd_pread(ov, got, 9999, off, &err) == 0);
        if (memcmp(got, expect + off, 9999)) {
            CHECK(!"odd read differs");
            break;
        }
    }
    free(got);
}

static void edit_and_check(const bd_overlay_opts *opts, bool expect_spill)
{
    uint8_t *disk = make_disk(), *orig = malloc(DISK), *expect = malloc(DISK);
    memcpy(orig, disk, DISK);
    const uint64_t win = 65536 + 512, wlen = 600 * 1024 + 1000;
    blockdev *src = NULL, *ov = NULL;
    p2v_err err;
    CHECK(bd_open_mem(disk, DISK, 512, "src.img", &src, &err) == 0);
    CHECK(bd_overlay_open(src, win, wlen, opts, &ov, &err) == 0);
    if (!ov)
        return;
    CHECK(bd_is_overlay(ov) && !bd_is_overlay(src));
    CHECK_EQ_U64(bd_size(ov), wlen);
    CHECK_EQ_U64(bd_sector_size(ov), 512);
    CHECK_STR(bd_path(ov), "src.img@66048");
    CHECK(bd_backing(ov) == src);
    memcpy(expect, disk + win, wlen);

    uint8_t buf[20000];
    memset(buf, 0xA5, sizeof buf);
    /* A partial block, a write spanning blocks, a rewrite of a written block,
     * the last (partial) bytes of the window. */
    CHECK(bd_overlay_pwrite(ov, buf, 10, 5, &err) == 0);
    memcpy(expect + 5, buf, 10);
    CHECK(bd_overlay_pwrite(ov, buf, 20000, 100000, &err) == 0);
    memcpy(expect + 100000, buf, 20000);
    memset(buf, 0x3C, 100);
    CHECK(bd_overlay_pwrite(ov, buf, 100, 110000, &err) == 0);
    memcpy(expect + 110000, buf, 100);
    CHECK(bd_overlay_pwrite(ov, buf, 7, wlen - 7, &err) == 0);
    memcpy(expect + wlen - 7, buf, 7);
    for (uint64_t b = 100; b < 120; b += 2) { /* many blocks: the table grows */
        memset(buf, (int)b, 4096);
        CHECK(bd_overlay_pwrite(ov, buf, 4096, b * 4096, &err) == 0);
        memcpy(expect + b * 4096, buf, 4096);
    }
    check_view(ov, expect, wlen);
    CHECK(memcmp(disk, orig, DISK) == 0); /* the source is untouched */

    extent_list w;
    CHECK(bd_overlay_written(ov, &w, &err) == 0);
    /* Blocks 0, 24..29, 100, 102, ... 118, and the last, partial block 150
     * (clipped to the window's end). */
    CHECK_EQ_U64(w.count, 3 + 10);
    if (w.count == 13) {
        CHECK_EQ_U64(w.v[0].start, 0);
        CHECK_EQ_U64(w.v[0].len, 4096);
        CHECK_EQ_U64(w.v[1].start, 24 * 4096);
        CHECK_EQ_U64(w.v[1].len, 6 * 4096);
        CHECK_EQ_U64(w.v[2].start, 100 * 4096);
        CHECK_EQ_U64(w.v[2].len, 4096);
        CHECK_EQ_U64(w.v[11].start, 118 * 4096);
        CHECK_EQ_U64(w.v[12].start, 150 * 4096);
        CHECK_EQ_U64(w.v[12].start + w.v[12].len, wlen);
    }
    extent_list_free(&w);
    CHECK_EQ_U64(bd_overlay_bytes(ov), (1 + 6 + 1 + 10) * 4096);
    CHECK(expect_spill ? bd_overlay_spilled(ov) > 0 : bd_overlay_spilled(ov) == 0);

    /* Out of range and non-overlay writes are refused. */
    CHECK(bd_overlay_pwrite(ov, buf, 8, wlen - 7, &err) == -EINVAL);
    CHECK(strstr(err.msg, "goes past the end") != NULL);
    CHECK(bd_overlay_pwrite(src, buf, 1, 0, &err) == -EINVAL);
    CHECK(strstr(err.msg, "not an overlay") != NULL);
    CHECK(bd_overlay_written(src, &w, &err) == -EINVAL);
    bd_close(ov);
    CHECK(memcmp(disk, orig, DISK) == 0);
    bd_close(src);
    free(disk);
    free(orig);
    free(expect);
}

static void test_bounds(void)
{
    uint8_t *disk = make_disk();
    blockdev *src = NULL, *ov = NULL;
    p2v_err err;
    CHECK(bd_open_mem(disk, DISK, 4096, "d", &src, &err) == 0);
    CHECK(bd_overlay_open(src, DISK - 10, 11, NULL, &ov, &err) == -EINVAL);
    CHECK(strstr(err.msg, "does not fit the disk") != NULL);
    CHECK(bd_overlay_open(src, UINT64_MAX, 2, NULL, &ov, &err) == -EINVAL);
    CHECK(bd_overlay_open(src, DISK, 0, NULL, &ov, &err) == -EINVAL);
    /* len 0: to the end of the disk */
    CHECK(bd_overlay_open(src, 4096, 0, NULL, &ov, &err) == 0);
    if (ov) {
        CHECK_EQ_U64(bd_size(ov), DISK - 4096);
        CHECK_EQ_U64(bd_sector_size(ov), 4096);
        extent_list w;
        CHECK(bd_overlay_written(ov, &w, &err) == 0 && w.count == 0);
        uint8_t b[4] = { 1, 2, 3, 4 };
        CHECK(bd_overlay_pwrite(ov, b, 4, DISK - 4096 - 4, &err) == 0);
        uint8_t got[8];
        CHECK(bd_pread(ov, got, 8, DISK - 4096 - 8, &err) == 0);
        CHECK(memcmp(got, disk + DISK - 8, 4) == 0 && memcmp(got + 4, b, 4) == 0);
        bd_close(ov);
    }
    bd_close(src);
    free(disk);
}

/* bd_origin through the stack a resized partition is read through: a
 * window (zero-extended) of the disk, an overlay with a written block, a
 * remap with a move: each byte named on the disk, or at the view that
 * makes it. */
static void test_origin(void)
{
    uint8_t *disk = make_disk();
    blockdev *src = NULL, *win = NULL, *ov = NULL, *rm = NULL;
    const blockdev *at;
    uint64_t off;
    p2v_err err;
    CHECK(bd_open_mem(disk, DISK, 512, "d", &src, &err) == 0);
    CHECK(bd_window_open(src, 65536, 262144, 524288, &win, &err) == 0);
    CHECK(win && bd_overlay_open(win, 0, 0, NULL, &ov, &err) == 0);
    uint8_t b[4] = { 9, 9, 9, 9 };
    CHECK(ov && bd_overlay_pwrite(ov, b, 4, 8192, &err) == 0);
    bd_move mv = { .dst = 4096, .src = 200704, .len = 4096 };
    CHECK(ov && bd_remap_open(ov, 524288, &mv, 1, &rm, &err) == 0);
    if (!rm)
        goto out;
    bd_origin(rm, 100, &at, &off);           /* unmoved, unwritten */
    CHECK(at == src && off == 65536 + 100);
    bd_origin(rm, 4096 + 513, &at, &off);    /* moved */
    CHECK(at == src && off == 65536 + 200704 + 513);
    bd_origin(rm, 8192 + 1, &at, &off);      /* written in the overlay */
    CHECK(at == ov && off == 8193);
    bd_origin(rm, 300000, &at, &off);        /* past the window's data: zeros */
    CHECK(at == win && off == 300000);
    bd_origin(src, 7, &at, &off);            /* a disk is its own origin */
    CHECK(at == src && off == 7);
out:
    bd_close(rm);
    bd_close(ov);
    bd_close(win);
    bd_close(src);
    free(disk);
}

int main(void)
{
    test_origin();
    edit_and_check(NULL, false);
    /* Two blocks in memory, the rest in the temporary file. */
    bd_overlay_opts spill = { .mem_limit = 2 * 4096 };
    edit_and_check(&spill, true);
    /* Nothing in memory. */
    bd_overlay_opts all = { .mem_limit = 1 };
    edit_and_check(&all, true);
    test_bounds();
    return t_done("test_overlay");
}
