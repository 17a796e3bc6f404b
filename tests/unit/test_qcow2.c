/* Unit tests for src/qcow2: the writer round-trips through p2v's reader and
 * qemu-img (when installed), survives scattered and repeated writes with and
 * without compression, refuses bad parameters, and the parser refuses
 * hostile headers with a clear message. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2/qcow2.h"
#include "sh_testlib.h"
#include "util/endian.h"

static int have_qemu_img;

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* xorshift: reproducible pseudo-random data */
static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++)
        p[i] = kind == 0 ? (uint8_t)rnd() : (uint8_t)("p2v qcow2 "[i % 10]);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Compare the whole guest content of an image with ref, via p2v's reader. */
static int reader_matches(const char *path, const uint8_t *ref, uint64_t size)
{
    blockdev *bd;
    p2v_err err;
    if (qcow2_bd_open(path, &bd, &err) < 0) {
        fprintf(stderr, "open %s: %s\n", path, err.msg);
        return 0;
    }
    int ok = bd_size(bd) == size;
    uint8_t *buf = malloc(size ? size : 1);
    if (ok && size && bd_pread(bd, buf, size, 0, &err) < 0) {
        fprintf(stderr, "read %s: %s\n", path, err.msg);
        ok = 0;
    }
    if (ok && size && memcmp(buf, ref, size) != 0) {
        for (uint64_t i = 0; i < size; i++)
            if (buf[i] != ref[i]) {
                fprintf(stderr, "%s: first difference at %llu\n", path, (unsigned long long)i);
                break;
            }
        ok = 0;
    }
    free(buf);
    bd_close(bd);
    return ok;
}

static int p2v_check_clean(const char *path)
{
    qcow2_image *img;
    qcow2_check_result res;
    p2v_err err;
    if (qcow2_image_open(path, QCOW2_OPEN_CHECK, &img, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 0;
    }
    int r = qcow2_check(img, &res, &err);
    int ok = r == 0 && res.corruptions == 0 && res.leaks == 0 && res.check_errors == 0;
    for (size_t i = 0; i < res.messages.count; i++)
        fprintf(stderr, "%s: %s\n", path, res.messages.msgs[i]);
    qcow2_check_result_free(&res);
    qcow2_image_close(img);
    return ok;
}

/* qemu-img check clean and qemu-img compare equal to the raw reference. */
static int qemu_agrees(const char *path, const uint8_t *ref, uint64_t size)
{
    if (!have_qemu_img)
        return 1;
    char raw[512], cmd[1536];
    tmp_path(raw, sizeof raw, "ref.raw");
    int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size && write(fd, ref, size) != (ssize_t)size)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    snprintf(cmd, sizeof cmd, "qemu-img check -q '%s'", path);
    if (run(cmd) != 0) {
        fprintf(stderr, "qemu-img check failed on %s\n", path);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "qemu-img compare -q -f raw -F qcow2 '%s' '%s'", raw, path);
    if (run(cmd) != 0) {
        fprintf(stderr, "qemu-img compare differs on %s\n", path);
        return 0;
    }
    return 1;
}

static int create(const char *path, uint64_t size, const qcow2_write_opts *o, qcow2_writer **w,
                  int *fd)
{
    p2v_err err;
    *fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (*fd < 0)
        return -errno;
    int r = qcow2_writer_create(*fd, path, size, o, w, &err);
    if (r < 0) {
        fprintf(stderr, "create: %s\n", err.msg);
        close(*fd);
    }
    return r;
}

static int finish(qcow2_writer *w, int fd)
{
    p2v_err err;
    int r = qcow2_writer_finish(w, &err);
    if (r < 0)
        fprintf(stderr, "finish: %s\n", err.msg);
    qcow2_writer_free(w);
    close(fd);
    return r;
}

/* Finish the image and judge it three ways: p2v's reader sees ref, p2v's
 * check finds it clean, and qemu-img agrees (when installed). */
static void check_finished(qcow2_writer *w, int fd, const char *path, const uint8_t *ref,
                           uint64_t size)
{
    CHECK(finish(w, fd) == 0);
    CHECK(reader_matches(path, ref, size));
    CHECK(p2v_check_clean(path));
    CHECK(qemu_agrees(path, ref, size));
}

/* Scattered, unaligned, overlapping writes of mixed data, zeros included. */
static void test_scattered(uint32_t cs, enum qcow2_compression comp, int version)
{
    char path[512];
    tmp_path(path, sizeof path, "scatter.qcow2");
    uint64_t size = 37 * (uint64_t)cs + 3 * 512; /* not a multiple of the cluster size */
    if (size < (3u << 20))
        size = (3u << 20) + 1536;
    uint8_t *ref = calloc(1, size), *chunk = malloc(3 * cs + 4096);
    qcow2_write_opts o = { .cluster_size = cs, .version = version, .compression = comp };
    qcow2_writer *w;
    int fd;
    p2v_err err;
    CHECK(ref && chunk);
    if (!ref || !chunk || create(path, size, &o, &w, &fd) < 0) {
        CHECK(0);
        goto out;
    }
    int ok = 1;
    for (int i = 0; i < 60 && ok; i++) {
        uint64_t len = 1 + rnd() % (3 * cs + 4000);
        uint64_t off = rnd() % size;
        if (i % 7 == 0)
            off &= ~(uint64_t)(cs - 1); /* some aligned */
        if (off + len > size)
            len = size - off;
        int kind = (int)(rnd() % 3);
        if (kind == 2)
            memset(chunk, 0, len);
        else
            fill(chunk, len, kind);
        memcpy(ref + off, chunk, len);
        ok = qcow2_writer_pwrite(w, chunk, len, off, &err) == 0;
        if (!ok)
            fprintf(stderr, "pwrite: %s\n", err.msg);
    }
    /* The very last byte, and a rewrite of the first cluster. */
    uint8_t last = 0x5a;
    ref[size - 1] = last;
    ok = ok && qcow2_writer_pwrite(w, &last, 1, size - 1, &err) == 0;
    fill(ref, cs, 1);
    ok = ok && qcow2_writer_pwrite(w, ref, cs, 0, &err) == 0;
    CHECK(ok);
    check_finished(w, fd, path, ref, size);
out:
    free(ref);
    free(chunk);
}

/* Gathering: runs written from the caller's buffers in vectored writes;
 * a later write into a gathered cluster (before the gather is written)
 * must win, and zeros between runs must stay unallocated. */
static void test_gather(uint32_t cs)
{
    char path[512];
    tmp_path(path, sizeof path, "gather.qcow2");
    uint64_t size = 96 * (uint64_t)cs;
    uint8_t *ref = calloc(1, size), *src = malloc(size), *alt = malloc(cs);
    qcow2_write_opts o = { .cluster_size = cs };
    qcow2_writer *w;
    int fd, ok = 1;
    p2v_err err;
    if (!ref || !src || !alt || create(path, size, &o, &w, &fd) < 0) {
        CHECK(0);
        goto out;
    }
    fill(src, size, 1);
    fill(alt, cs, 1);
    for (uint64_t c = 0; c < 96; c++)
        if (c % 5 == 3)
            memset(src + c * cs, 0, cs); /* zero clusters split the runs */
    for (uint64_t blk = 0; blk < 96 && ok; blk += 16) {
        ok = qcow2_writer_gather(w, true, &err) == 0;
        /* the block as runs of non-zero clusters, like the copy engine writes it */
        for (uint64_t c = blk; c < blk + 16 && ok; c++)
            if (c % 5 != 3)
                ok = qcow2_writer_pwrite(w, src + c * cs, cs, c * cs, &err) == 0;
        /* a rewrite of part of a gathered cluster, from another buffer */
        uint64_t at = (blk + 1) * cs + cs / 4;
        ok = ok && qcow2_writer_pwrite(w, alt, cs / 2, at, &err) == 0;
        ok = ok && qcow2_writer_gather(w, false, &err) == 0;
        memcpy(ref + blk * cs, src + blk * cs, 16 * (size_t)cs);
        memcpy(ref + at, alt, cs / 2);
    }
    if (!ok)
        fprintf(stderr, "gather: %s\n", err.msg);
    CHECK(ok);
    CHECK_EQ_U64(qcow2_writer_allocated_bytes(w), (96 - 19) * (uint64_t)cs);
    check_finished(w, fd, path, ref, size);
out:
    free(ref);
    free(src);
    free(alt);
}

/* Compressed clusters rewritten partly, wholly, and with zeros: exact refcounts. */
static void test_rewrite_compressed(enum qcow2_compression comp)
{
    char path[512];
    tmp_path(path, sizeof path, "rewrite.qcow2");
    const uint32_t cs = 4096;
    const uint64_t size = 64 * cs;
    uint8_t *ref = calloc(1, size);
    qcow2_write_opts o = { .cluster_size = cs, .compression = comp };
    qcow2_writer *w;
    int fd;
    p2v_err err;
    if (!ref || create(path, size, &o, &w, &fd) < 0) {
        CHECK(0);
        free(ref);
        return;
    }
    int ok = 1;
    fill(ref, size, 1); /* compressible everywhere */
    ok = ok && qcow2_writer_pwrite(w, ref, size, 0, &err) == 0;
    for (int round = 0; round < 3 && ok; round++) {
        for (uint64_t c = round; c < 64; c += 3) {
            uint64_t off = c * cs + (round == 1 ? 100 : 0);
            uint64_t len = round == 1 ? 700 : cs;
            if (round == 2)
                memset(ref + off, 0, len);
            else
                fill(ref + off, len, (int)(c % 2));
            ok = ok && qcow2_writer_pwrite(w, ref + off, len, off, &err) == 0;
        }
    }
    CHECK(ok);
    CHECK(qcow2_writer_allocated_bytes(w) > 0);
    check_finished(w, fd, path, ref, size);
    free(ref);
}

/* A writer that never finishes leaves a file every reader refuses. */
static void test_interrupted(void)
{
    char path[512], cmd[1024];
    tmp_path(path, sizeof path, "interrupted.qcow2");
    qcow2_writer *w;
    int fd;
    p2v_err err;
    uint8_t data[4096];
    fill(data, sizeof data, 0);
    if (create(path, 1 << 20, NULL, &w, &fd) < 0) {
        CHECK(0);
        return;
    }
    CHECK(qcow2_writer_pwrite(w, data, sizeof data, 8192, &err) == 0);
    qcow2_writer_free(w);
    close(fd);
    blockdev *bd;
    CHECK(qcow2_bd_open(path, &bd, &err) < 0);
    CHECK(strstr(err.msg, "never completed") != NULL);
    if (have_qemu_img) {
        snprintf(cmd, sizeof cmd, "qemu-img check -q -f qcow2 '%s' 2>/dev/null", path);
        CHECK(run(cmd) != 0);
    }
}

static void test_bad_options(void)
{
    char path[512];
    tmp_path(path, sizeof path, "bad.qcow2");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    qcow2_writer *w = NULL;
    p2v_err err;
    qcow2_write_opts o = { .cluster_size = 1000 };
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == -EINVAL);
    CHECK(strstr(err.msg, "cluster size 1000") != NULL);
    o.cluster_size = 256;
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == -EINVAL);
    o.cluster_size = 4u << 20;
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == -EINVAL);
    o = (qcow2_write_opts){ .version = 2, .compression = QCOW2_COMPRESS_ZSTD };
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == -EINVAL);
    CHECK(strstr(err.msg, "zstd") != NULL);
    o = (qcow2_write_opts){ .version = 4 };
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == -EINVAL);
    o = (qcow2_write_opts){ .cluster_size = 512 };
    CHECK(qcow2_writer_create(fd, path, 16ULL << 40, &o, &w, &err) == -EFBIG);
    o = (qcow2_write_opts){ 0 };
    CHECK(qcow2_writer_create(fd, path, 1 << 20, &o, &w, &err) == 0);
    uint8_t b[16] = { 1 };
    CHECK(qcow2_writer_pwrite(w, b, sizeof b, (1 << 20) - 8, &err) == -EINVAL);
    CHECK(strstr(err.msg, "past the virtual size") != NULL);
    qcow2_writer_free(w);
    close(fd);
}

/* A size that is not a whole number of sectors is rounded up, so that QEMU
 * (which ignores a partial last sector) still sees every byte written. */
static void test_odd_size(void)
{
    char path[512];
    tmp_path(path, sizeof path, "odd.qcow2");
    qcow2_writer *w;
    int fd;
    p2v_err err;
    uint8_t ref[1024] = { 0 };
    fill(ref, 1000, 1);
    if (create(path, 1000, NULL, &w, &fd) < 0) {
        CHECK(0);
        return;
    }
    CHECK(qcow2_writer_pwrite(w, ref, 1000, 0, &err) == 0);
    CHECK(qcow2_writer_pwrite(w, ref, 1, 1024, &err) < 0); /* past the rounded size */
    CHECK(finish(w, fd) == 0);
    CHECK(reader_matches(path, ref, 1024));
    CHECK(qemu_agrees(path, ref, 1024));
}

/* A full disk is an error naming the file and the cause. */
static void test_enospc(void)
{
    int fd = open("/dev/full", O_RDWR);
    if (fd < 0)
        return; /* no /dev/full here */
    qcow2_writer *w = NULL;
    p2v_err err;
    int r = qcow2_writer_create(fd, "full.qcow2", 1 << 20, NULL, &w, &err);
    CHECK(r == -ENOSPC);
    CHECK(strstr(err.msg, "full.qcow2") && strstr(err.msg, "No space left"));
    qcow2_writer_free(w);
    close(fd);
}

/* A 16 TiB virtual disk with data at the start, the middle and the end. */
static void test_16tib(void)
{
    char path[512], cmd[1024];
    tmp_path(path, sizeof path, "big.qcow2");
    const uint64_t size = 16ULL << 40;
    qcow2_writer *w;
    int fd;
    p2v_err err;
    uint8_t a[65536], b[65536];
    fill(a, sizeof a, 0);
    if (create(path, size, NULL, &w, &fd) < 0) {
        CHECK(0);
        return;
    }
    uint64_t offs[3] = { 0, size / 2 + 512, size - sizeof a };
    for (int i = 0; i < 3; i++)
        CHECK(qcow2_writer_pwrite(w, a, sizeof a, offs[i], &err) == 0);
    CHECK(finish(w, fd) == 0);
    blockdev *bd;
    CHECK(qcow2_bd_open(path, &bd, &err) == 0);
    if (bd) {
        CHECK_EQ_U64(bd_size(bd), size);
        for (int i = 0; i < 3; i++) {
            CHECK(bd_pread(bd, b, sizeof b, offs[i], &err) == 0);
            CHECK(memcmp(a, b, sizeof a) == 0);
        }
        CHECK(bd_pread(bd, b, 512, size / 4, &err) == 0);
        CHECK(b[0] == 0 && b[511] == 0);
        bd_close(bd);
    }
    CHECK(p2v_check_clean(path));
    if (have_qemu_img) {
        snprintf(cmd, sizeof cmd, "qemu-img check -q '%s'", path);
        CHECK(run(cmd) == 0);
        snprintf(cmd, sizeof cmd,
                 "test \"$(qemu-img info --output=json '%s' | grep -c '\"virtual-size\": "
                 "17592186044416')\" = 1",
                 path);
        CHECK(run(cmd) == 0);
    }
}

/* The header fields land at the offsets of the specification. */
static void test_header_layout(void)
{
    char path[512];
    tmp_path(path, sizeof path, "layout.qcow2");
    qcow2_writer *w;
    int fd;
    qcow2_write_opts o = { .cluster_size = 4096, .compression = QCOW2_COMPRESS_ZSTD };
    if (create(path, 10 << 20, &o, &w, &fd) < 0) {
        CHECK(0);
        return;
    }
    CHECK(finish(w, fd) == 0);
    uint8_t h[120];
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, h, sizeof h) == (ssize_t)sizeof h);
    if (fd >= 0)
        close(fd);
    CHECK(memcmp(h, "QFI\xfb", 4) == 0);
    CHECK_EQ_U64(get_be32(h + 4), 3);
    CHECK_EQ_U64(get_be32(h + 20), 12);
    CHECK_EQ_U64(get_be64(h + 24), 10 << 20);
    CHECK_EQ_U64(get_be32(h + 36), 5); /* 2560 clusters / 512 entries per L2 */
    CHECK_EQ_U64(get_be64(h + 72), 1ULL << 3); /* compression type bit */
    CHECK_EQ_U64(get_be32(h + 96), 4);
    CHECK_EQ_U64(get_be32(h + 100), 112);
    CHECK_EQ_U64(h[104], 1);
    CHECK_EQ_U64(get_be32(h + 112), 0); /* end of header extensions */
    qcow2_image *img;
    p2v_err err;
    CHECK(qcow2_image_open(path, 0, &img, &err) == 0);
    if (img) {
        const qcow2_info *qi = qcow2_image_info(img);
        CHECK_EQ_U64(qi->compression_type, 1);
        CHECK_EQ_U64(qi->cluster_size, 4096);
        CHECK_EQ_U64(qi->refcount_bits, 16);
        qcow2_image_close(img);
    }
}

/* Hand-made hostile headers: each refused with a message naming the problem. */
static void expect_refused(uint8_t *file, size_t len, const char *needle)
{
    blockdev *bd;
    qcow2_image *img = NULL;
    p2v_err err = { { 0 } };
    CHECK(bd_open_mem(file, len, 512, "hostile", &bd, &err) == 0);
    int r = qcow2_image_open_bd(bd, 0, &img, &err);
    CHECK(r < 0);
    if (r == 0)
        qcow2_image_close(img);
    else if (!strstr(err.msg, needle))
        fprintf(stderr, "expected '%s' in: %s\n", needle, err.msg);
    CHECK(r < 0 && strstr(err.msg, needle) != NULL);
}

static void base_header(uint8_t *f, size_t len)
{
    memset(f, 0, len);
    memcpy(f, "QFI\xfb", 4);
    put_be32(f + 4, 3);
    put_be32(f + 20, 9);              /* 512-byte clusters */
    put_be64(f + 24, 1 << 20);        /* 1 MiB: 2048 clusters, 64 per L2 -> 32 L1 entries */
    put_be32(f + 36, 32);
    put_be64(f + 40, 1024);           /* L1 at cluster 2 */
    put_be64(f + 48, 512);            /* refcount table at cluster 1 */
    put_be32(f + 56, 1);
    put_be32(f + 96, 4);
    put_be32(f + 100, 112);
}

/* One damaged header: a field (or two) set to a bad value, 8, 32 or 64
 * bits wide (big-endian), and the words the refusal must contain. The
 * rows go in the order of the header's fields. */
struct hostile_header {
    unsigned off, bits;
    uint64_t val;
    const char *needle;
    unsigned off2, bits2; /* a second field, where bits2 is not 0 */
    uint64_t val2;
};

static const struct hostile_header hostile[] = {
    { 4, 32, 0, "never completed" },
    { 4, 32, 4, "version 4" },
    { 8, 64, 200, "backing file name", 16, 32, 2000 },
    { 20, 32, 22, "cluster_bits 22" },
    { 20, 32, 8, "cluster_bits 8" },
    { 36, 32, 0x10000000, "32 MiB" },
    { 36, 32, 31, "too small" },
    { 40, 64, 1ULL << 40, "outside the file" },
    { 40, 64, 1000, "not aligned" },
    { 40, 64, 0, "overlaps the header" },
    { 48, 64, 0, "overlaps the header" },
    { 48, 64, 1024, "overlap" },
    { 56, 32, 0x100000, "8 MiB" },
    { 60, 32, 70000, "snapshots" },
    { 72, 64, 1ULL << 40, "unknown incompatible" },
    { 72, 64, 1ULL << 2, "external data file" },
    { 96, 32, 7, "refcount_order" },
    { 100, 32, 4096, "header_length" },
    { 104, 8, 1, "compression type" },
    { 112, 32, 0xe2792aca, "header extension", 116, 32, 100000 },
};

static void poke_field(uint8_t *at, unsigned bits, uint64_t val)
{
    if (bits == 64)
        put_be64(at, val);
    else if (bits == 32)
        put_be32(at, (uint32_t)val);
    else
        *at = (uint8_t)val;
}

static void poke_header(uint8_t *f, const struct hostile_header *h)
{
    poke_field(f + h->off, h->bits, h->val);
    if (h->bits2)
        poke_field(f + h->off2, h->bits2, h->val2);
}

static void test_hostile_headers(void)
{
    enum { LEN = 4096 };
    uint8_t *f = malloc(LEN);
    if (!f) {
        CHECK(0);
        return;
    }
    blockdev *bd;
    qcow2_image *img = NULL;
    p2v_err err;
    base_header(f, LEN);
    CHECK(bd_open_mem(f, LEN, 512, "sane", &bd, &err) == 0);
    CHECK(qcow2_image_open_bd(bd, 0, &img, &err) == 0);
    qcow2_image_close(img);

    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        base_header(f, LEN);
        poke_header(f, &hostile[i]);
        expect_refused(f, LEN, hostile[i].needle);
    }
    expect_refused(f, 50, "not a qcow2");

    /* Extended L2: opens for info, refused for reading. */
    base_header(f, LEN); put_be64(f + 72, 1ULL << 4);
    CHECK(bd_open_mem(f, LEN, 512, "extl2", &bd, &err) == 0);
    CHECK(qcow2_image_open_bd(bd, 0, &img, &err) == 0);
    if (img) {
        CHECK(qcow2_image_info(img)->extended_l2);
        uint8_t b[16];
        CHECK(qcow2_image_pread(img, NULL, b, sizeof b, 0, &err) == -ENOTSUP);
        CHECK(strstr(err.msg, "not supported") != NULL);
        qcow2_image_close(img);
    }
    /* An L2 entry pointing past the end of the file: a read error, not garbage. */
    base_header(f, LEN);
    put_be64(f + 1024, 1536 | (1ULL << 63)); /* L1[0] -> L2 at cluster 3 */
    put_be64(f + 1536, (1ULL << 40) | (1ULL << 63));
    CHECK(bd_open_mem(f, LEN, 512, "l2past", &bd, &err) == 0);
    CHECK(qcow2_image_open_bd(bd, 0, &img, &err) == 0);
    if (img) {
        uint8_t b[16];
        CHECK(qcow2_image_pread(img, NULL, b, sizeof b, 0, &err) < 0);
        CHECK(strstr(err.msg, "outside the file") != NULL);
        qcow2_image_close(img);
    }
    free(f);
}

int main(void)
{
    if (t_scratch("qcow2") < 0) {
        perror("mkdtemp");
        return 1;
    }
    have_qemu_img = run("qemu-img --version >/dev/null 2>&1") == 0;
    if (!have_qemu_img)
        fprintf(stderr, "note: qemu-img not found, oracle checks skipped\n");

    test_header_layout();
    test_hostile_headers();
    test_bad_options();
    test_interrupted();
    static const uint32_t sizes[] = { 512, 4096, 65536, 2u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        test_scattered(sizes[i], QCOW2_COMPRESS_NONE, 3);
        test_scattered(sizes[i], QCOW2_COMPRESS_ZLIB, 2);
        test_scattered(sizes[i], QCOW2_COMPRESS_ZSTD, 3);
    }
    test_rewrite_compressed(QCOW2_COMPRESS_ZLIB);
    test_rewrite_compressed(QCOW2_COMPRESS_ZSTD);
    test_rewrite_compressed(QCOW2_COMPRESS_NONE);
    test_gather(4096);
    test_gather(65536);
    test_16tib();
    test_odd_size();
    test_enospc();
    return t_scratch_done("test_qcow2");
}
