/* p2v img compare: do two images (raw or qcow2, any sizes) hold the same
 * bytes? The shorter one reads as zeros past its end, as in qemu-img compare. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/img_ops.h"
#include "qcow2/qcow2.h"

static const char compare_usage[] =
    "Usage: p2v img compare [--io-timeout SECONDS] FILE1 FILE2\n"
    "\n"
    "Compare the guest-visible content of two images (raw, qcow2 or fixed VHD,\n"
    "backing "
    "chains followed). An image shorter than the other reads as zeros past its\n"
    "end. Prints 'Images are identical.' or the first differing offset.\n"
    "Exit status: 0 equal, 1 different, 2 error opening an image, 3 error checking\n"
    "what is allocated, 4 error reading (as qemu-img).\n"
    "FILE may be an NBD URI (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=\n"
    "PATH); --io-timeout SECONDS (default 60) fails the command when the server\n"
    "stays silent that long.\n";

#define CHUNK (1u << 20)

struct side {
    blockdev *bd;
    img_status_ctx *st;
};

/* Bytes from off that are known zero (0 = must read), at most len. */
static int known_zero(struct side *s, uint64_t off, uint64_t len, uint64_t *zlen, p2v_err *err)
{
    uint64_t size = bd_size(s->bd);
    if (off >= size) {
        *zlen = len;
        return 0;
    }
    img_extent e;
    int r = img_status_get(s->st, off, len < size - off ? len : size - off, &e, err);
    if (r < 0)
        return r;
    *zlen = e.zero ? e.length : 0; /* reads as zeros (data or not) */
    return 0;
}

static int read_side(struct side *s, uint8_t *buf, size_t len, uint64_t off, p2v_err *err)
{
    uint64_t size = bd_size(s->bd);
    size_t n = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len;
    memset(buf + n, 0, len - n);
    return n ? bd_pread(s->bd, buf, n, off, err) : 0;
}

static uint64_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i + 4096 <= n && !memcmp(a + i, b + i, 4096))
        i += 4096;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

int img_compare_main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(compare_usage, stdout);
        return P2V_EXIT_OK;
    }
    source_opts so = { 0 };
    if (argc == 5 && !strcmp(argv[1], "--io-timeout")) {
        if (img_parse_io_timeout("compare", argv[2], &so.io_timeout) < 0)
            return 2;
        argv += 2;
        argc -= 2;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fputs(compare_usage, stderr);
        return 2;
    }
    struct side s[2] = { { 0 } };
    uint8_t *buf[2] = { NULL, NULL };
    p2v_err err = { { 0 } };
    int ret = 2;
    for (int i = 0; i < 2; i++)
        if (img_refuse_unsupported(argv[1 + i]))
            return 2;
    for (int i = 0; i < 2; i++)
        if (source_open(argv[1 + i], &so, &s[i].bd, &err) < 0 || img_status_open(s[i].bd, &s[i].st, &err) < 0)
            goto fail;
    buf[0] = malloc(CHUNK);
    buf[1] = malloc(CHUNK);
    if (!buf[0] || !buf[1]) {
        p2v_errf(&err, -1, "out of memory");
        goto fail;
    }
    uint64_t a = bd_size(s[0].bd), b = bd_size(s[1].bd);
    uint64_t total = a > b ? a : b, common = a < b ? a : b;
    /* As qemu-img: the common part first; only when it is equal, the size
     * warning, then the rest of the longer image against zeros. */
    for (uint64_t off = 0; off < total;) {
        if (off == common && a != b)
            printf("Warning: Image size mismatch!\n");
        uint64_t end = off < common ? common : total;
        uint64_t len = end - off < CHUNK ? end - off : CHUNK, z0, z1;
        if (known_zero(&s[0], off, len, &z0, &err) < 0 || known_zero(&s[1], off, len, &z1, &err) < 0) {
            ret = 3; /* qemu-img: error checking the allocation */
            goto fail;
        }
        uint64_t skip = z0 < z1 ? z0 : z1;
        if (skip) {
            off += skip;
            continue;
        }
        if (read_side(&s[0], buf[0], (size_t)len, off, &err) < 0 ||
            read_side(&s[1], buf[1], (size_t)len, off, &err) < 0) {
            ret = 4; /* qemu-img: error reading */
            goto fail;
        }
        uint64_t d = first_diff(buf[0], buf[1], (size_t)len);
        if (d < len) {
            /* qemu-img names the 512-byte sector holding the first difference. */
            printf("Content mismatch at offset %" PRIu64 "!\n", (off + d) & ~(uint64_t)511);
            ret = 1;
            goto out;
        }
        off += len;
    }
    printf("Images are identical.\n");
    ret = 0;
    goto out;
fail:
    cli_error("%s", err.msg);
out:
    for (int i = 0; i < 2; i++) {
        img_status_close(s[i].st);
        bd_close(s[i].bd);
        free(buf[i]);
    }
    return ret;
}
