/* src/vdisk: the shared helpers (CRC-32C, UTF-16, Windows paths) and the VHD
 * layout — footer and dynamic header fields at the specification's offsets,
 * big-endian, checksums — read through in-memory images, a differencing
 * child over its parent included. */
#include <errno.h>
#include <stdlib.h>

#include "util/endian.h"
#include "vdisk/vdisk.h"
#include "t.h"

#define BLK 4096u
#define NBLK 4u

static void test_helpers(void)
{
    /* CRC-32C check value (RFC 3720 / iSCSI): "123456789" */
    CHECK_EQ_U64(vdisk_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = { 0 };
    CHECK_EQ_U64(vdisk_crc32c(0, zeros, 32), 0x8A9136AAu);
    /* incremental = whole */
    CHECK_EQ_U64(vdisk_crc32c(vdisk_crc32c(0, (const uint8_t *)"1234", 4),
                              (const uint8_t *)"56789", 5), 0xE3069283u);

    char out[64];
    const uint8_t le[] = { '.', 0, '\\', 0, 0xe9, 0, 'x', 0, 0x3d, 0xd8, 0x00, 0xde, 0, 0, 'z', 0 };
    CHECK(vdisk_utf16_to_utf8(le, sizeof le, false, out, sizeof out) == 0);
    CHECK_STR(out, ".\\\xc3\xa9x\xf0\x9f\x98\x80"); /* é, U+1F600, stops at NUL */
    const uint8_t be[] = { 0, 'a', 0, 'b' };
    CHECK(vdisk_utf16_to_utf8(be, sizeof be, true, out, sizeof out) == 0);
    CHECK_STR(out, "ab");
    const uint8_t lone[] = { 0x00, 0xdc, 'a', 0 };
    CHECK(vdisk_utf16_to_utf8(lone, sizeof lone, false, out, sizeof out) == -EILSEQ);
    CHECK(vdisk_utf16_to_utf8(le, sizeof le, false, out, 4) == -ENAMETOOLONG);

    CHECK(vdisk_resolve("/vms/child.vhd", ".\\parent.vhd", out, sizeof out) == 0);
    CHECK_STR(out, "/vms/parent.vhd");
    CHECK(vdisk_resolve("/vms/child.vhd", "..\\base\\p.vhd", out, sizeof out) == 0);
    CHECK_STR(out, "/vms/../base/p.vhd");
    CHECK(vdisk_resolve("child.vhd", "p.vhd", out, sizeof out) == 0);
    CHECK_STR(out, "p.vhd");
    CHECK(vdisk_resolve("/a/c.vhd", "/abs/p.vhd", out, sizeof out) == 0);
    CHECK_STR(out, "/abs/p.vhd");
    CHECK(vdisk_resolve("/a/c.vhd", "", out, sizeof out) == -ENAMETOOLONG);
}

static uint32_t sum_except(const uint8_t *p, size_t n, size_t at)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++)
        if (i < at || i >= at + 4)
            s += p[i];
    return ~s;
}

/* A VHD with 4 KiB blocks: footer copy, header at 512, BAT at 1536 (one
 * sector), locator at 2048, blocks from 3072: block 1 holds byte `fill`,
 * its bitmap `bm` (0xFF: all sectors here). Footer fields at the spec's
 * offsets: data offset 16, current size 48, type 60, checksum 64, id 68. */
static uint8_t *make_vhd(uint32_t type, uint8_t id, uint8_t parent_id, uint8_t fill, uint8_t bm,
                         size_t *len)
{
    size_t n = 3072 + 512 + BLK + 512;
    uint8_t *f = calloc(1, n), ft[512] = { 0 };
    memcpy(ft, "conectix", 8);
    put_be64(ft + 16, 512);
    put_be64(ft + 48, NBLK * BLK);
    put_be32(ft + 60, type);
    memset(ft + 68, id, 16);
    put_be32(ft + 64, sum_except(ft, 512, 64));
    memcpy(f, ft, 512);
    memcpy(f + n - 512, ft, 512);
    uint8_t *h = f + 512;
    memcpy(h, "cxsparse", 8);
    put_be64(h + 16, 1536);   /* table offset */
    put_be32(h + 28, NBLK);   /* max table entries */
    put_be32(h + 32, BLK);    /* block size */
    memset(h + 40, parent_id, 16);
    put_be32(h + 576, 0x57327275); /* W2ru */
    put_be32(h + 576 + 8, 10);     /* "p.vhd" in UTF-16LE */
    put_be64(h + 576 + 16, 2048);
    const char *name = "p.vhd";
    for (int i = 0; i < 5; i++)
        f[2048 + 2 * i] = (uint8_t)name[i];
    put_be32(h + 36, sum_except(h, 1024, 36));
    for (unsigned i = 0; i < NBLK; i++)
        put_be32(f + 1536 + 4 * i, i == 1 ? 3072 / 512 : 0xFFFFFFFFu);
    f[3072] = bm;
    memset(f + 3072 + 512, fill, BLK);
    *len = n;
    return f;
}

static uint8_t *parent_buf;
static size_t parent_len;

static int open_parent(void *opaque, const char *path, blockdev **out, p2v_err *err)
{
    CHECK_STR(path, "dir/p.vhd"); /* beside the child */
    (void)opaque;
    return bd_open_mem(parent_buf, parent_len, 512, path, out, err);
}

static void test_vhd(void)
{
    size_t n;
    uint8_t *img = make_vhd(3, 0x11, 0, 0xAB, 0xFF, &n);
    blockdev *file, *bd;
    p2v_err err;
    uint8_t buf[BLK];
    CHECK(vhd_probe(img, n) && !vhd_probe(img, 7));
    CHECK(bd_open_mem(img, n, 512, "dir/p.vhd", &file, &err) == 0);
    CHECK(vhd_open(file, &bd, &err) == 0);
    CHECK_STR(bd_format(bd), "vpc");
    CHECK_EQ_U64(bd_size(bd), NBLK * BLK);
    CHECK_EQ_U64(vdisk_cluster_size(bd), BLK);
    CHECK(bd_pread(bd, buf, 2, BLK - 1, &err) == 0 && buf[0] == 0 && buf[1] == 0xAB);
    vdisk_extent e;
    CHECK(vdisk_status(bd, 100, NBLK * BLK, &e, &err) == 0 && e.kind == VDISK_ZERO &&
          e.len == BLK - 100);
    CHECK(vdisk_status(bd, BLK + 8, NBLK * BLK, &e, &err) == 0 && e.kind == VDISK_DATA &&
          e.len == BLK - 8 && e.has_off && e.host_off == 3072 + 512 + 8);
    bd_close(bd);

    /* Differencing child: block 1's bitmap 0x0F: sectors 0-3 from the
     * parent, 4-7 here. */
    parent_buf = img;
    parent_len = n;
    size_t cn;
    uint8_t *child = make_vhd(4, 0x22, 0x11, 0xCD, 0x0F, &cn);
    struct vdisk_opts o = { open_parent, NULL };
    CHECK(bd_open_mem(child, cn, 512, "dir/c.vhd", &file, &err) == 0);
    CHECK(vhd_open_opts(file, &o, &bd, &err) == 0);
    CHECK(bd_backing(bd) != NULL);
    CHECK(bd_pread(bd, buf, BLK, BLK, &err) == 0);
    CHECK(buf[0] == 0xAB && buf[2047] == 0xAB && buf[2048] == 0xCD && buf[BLK - 1] == 0xCD);
    CHECK(vdisk_status(bd, BLK + 512, BLK, &e, &err) == 0 && e.kind == VDISK_UNALLOCATED &&
          e.len == 1536);
    CHECK(vdisk_status(bd, BLK + 2048, BLK, &e, &err) == 0 && e.kind == VDISK_DATA &&
          e.len == 2048);
    bd_close(bd);

    /* The parent's identifier differs from the one the child names: refused. */
    memset(child + 512 + 40, 0x33, 16);
    put_be32(child + 512 + 36, 0);
    put_be32(child + 512 + 36, sum_except(child + 512, 1024, 36));
    CHECK(bd_open_mem(child, cn, 512, "dir/c.vhd", &file, &err) == 0);
    CHECK(vhd_open_opts(file, &o, &bd, &err) == -EINVAL);
    CHECK(strstr(err.msg, "has identifier 11111111-1111-1111-1111-111111111111, the differencing "
                          "disk expects 33333333-3333-3333-3333-333333333333") != NULL);

    /* Checksums: a footer byte changed in both copies; a header byte. */
    img[20] ^= 1;
    img[n - 512 + 20] ^= 1;
    CHECK(bd_open_mem(img, n, 512, "x.vhd", &file, &err) == 0);
    CHECK(vhd_open(file, &bd, &err) == -EINVAL);
    CHECK_STR(err.msg, "x.vhd: VHD: footer checksum is wrong (in both copies)");
    img[n - 512 + 20] ^= 1; /* the copy at the end is good again: used */
    CHECK(bd_open_mem(img, n, 512, "x.vhd", &file, &err) == 0);
    CHECK(vhd_open(file, &bd, &err) == 0);
    bd_close(bd);
    img[512 + 600] ^= 1;
    CHECK(bd_open_mem(img, n, 512, "x.vhd", &file, &err) == 0);
    CHECK(vhd_open(file, &bd, &err) == -EINVAL);
    CHECK_STR(err.msg, "x.vhd: VHD: dynamic header checksum is wrong");
    free(child);
    free(img);
}

int main(void)
{
    test_helpers();
    test_vhd();
    return t_done("test_vdisk");
}
