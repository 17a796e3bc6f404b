/* The read-only block source: what it refuses, how it reads, what it reports. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "sh_testlib.h"
#include "t.h"
#include "util/endian.h"


static void test_refusals(void)
{
    blockdev *bd = NULL;
    p2v_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/missing.img", dir);
    CHECK(source_open(path, NULL, &bd, &err) == -ENOENT);
    CHECK(strstr(err.msg, path) && strstr(err.msg, "No such file or directory"));
    CHECK(source_open(dir, NULL, &bd, &err) == -EISDIR);
    CHECK(strstr(err.msg, "is a directory, not a disk or image file") != NULL);
    CHECK(source_open("/dev/null", NULL, &bd, &err) == -ENODEV);
    CHECK_STR(err.msg, "/dev/null: is a character device, not a block device or image file");
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(source_open(path, NULL, &bd, &err) == -ENODEV);
    CHECK(strstr(err.msg, "not a regular file or block device") != NULL);
}

static void test_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/disk.img", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0444); /* a read-only file opens fine */
    uint8_t buf[10000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    CHECK(fd >= 0 && write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    close(fd);

    blockdev *bd = NULL;
    p2v_err err;
    CHECK(source_open(path, NULL, &bd, &err) == 0);
    if (!bd)
        return;
    CHECK_EQ_U64(bd_size(bd), 10000);
    CHECK_EQ_U64(bd_sector_size(bd), 512);
    CHECK(bd_sector_size_is_default(bd));
    CHECK(!bd_is_block_device(bd));
    CHECK_STR(bd_format(bd), "raw");
    int rfd = bd_raw_fd(bd);
    CHECK(rfd >= 0 && (fcntl(rfd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    uint8_t got[600];
    CHECK(bd_pread(bd, got, sizeof got, 9400, &err) == 0 && memcmp(got, buf + 9400, 600) == 0);
    CHECK(bd_pread(bd, got, sizeof got, 9401, &err) == -EIO);
    CHECK(strstr(err.msg, "read of 600 bytes at offset 9401 goes past the end (size 10000 bytes)") != NULL);
    CHECK(bd_pread(bd, got, 2, UINT64_MAX, &err) == -EIO);
    CHECK(bd_pread(bd, got, 0, 10000, &err) == 0);
    bd_set_sector_size(bd, 4096);
    CHECK(!bd_sector_size_is_default(bd) && bd_sector_size(bd) == 4096);
    bd_close(bd);
}

static void test_mem(void)
{
    static const uint8_t buf[4096] = { 1, 2, 3 };
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(buf, sizeof buf, 0, "m", &bd, &err) == 0);
    CHECK(bd && bd_sector_size_is_default(bd) && bd_raw_fd(bd) == -1);
    bd_close(bd);
    CHECK(bd_open_mem(buf, sizeof buf, 4096, "m", &bd, &err) == 0);
    CHECK(bd && !bd_sector_size_is_default(bd) && bd_sector_size(bd) == 4096);
    bd_close(bd);
    CHECK(bd_sector_size_valid(512) && bd_sector_size_valid(4096) && bd_sector_size_valid(65536));
    CHECK(!bd_sector_size_valid(0) && !bd_sector_size_valid(1000) && !bd_sector_size_valid(131072));
}

/* A 512-byte VHD footer: cookie, current size, disk type, checksum. */
static void vhd_footer(uint8_t f[512], uint64_t current_size, uint32_t disk_type)
{
    memset(f, 0, 512);
    memcpy(f, "conectix", 8);
    put_be64(f + 40, current_size);
    put_be64(f + 48, current_size);
    put_be32(f + 60, disk_type);
    uint32_t sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += f[i];
    put_be32(f + 64, ~sum);
}

/* The registry's answer for these bytes; *name its row's name. */
static const struct source_format *probe(const uint8_t *head, size_t n, const uint8_t *tail,
                                         uint64_t size, const char **name, uint64_t *sz)
{
    source_probe p = { .head = head, .n = n, .tail = tail, .size = size };
    const struct source_format *f = source_probe_bytes(&p, sz);
    *name = f->name;
    return f;
}

static void test_probe_format(void)
{
    uint8_t head[512] = { 0 }, tail[512];
    const char *name = NULL;
    uint64_t sz = 0;
    CHECK(probe(head, sizeof head, NULL, 1 << 20, &name, &sz) == &source_raw);
    CHECK_STR(name, "raw");
    CHECK(probe(head, 0, NULL, 0, &name, &sz) == &source_raw); /* empty file */
    static const struct { const char *magic; size_t off, len; const char *name; } m[] = {
        { "QFI\xfb", 0, 4, "qcow2" },
        { "QED\0", 0, 4, "QED" },
        { "vhdxfile", 0, 8, "vhdx" },
        { "KDMV", 0, 4, "vmdk" },
        { "# Disk DescriptorFile", 0, 21, "vmdk" },
        { "COWD", 0, 4, "VMDK" },
        { "\x7f\x10\xda\xbe", 0x40, 4, "VDI" },
        { "WithoutFreeSpace", 0, 16, "Parallels" },
        { "conectix", 0, 8, "vpc" },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        memset(head, 0, sizeof head);
        memcpy(head + m[i].off, m[i].magic, m[i].len);
        const struct source_format *f = probe(head, sizeof head, NULL, 1 << 20, &name, &sz);
        /* qcow2; VHD (footer copy at byte 0), VHDX and VMDK read by src/vdisk; the rest refused */
        CHECK(i == 0 ? f == &source_qcow2 : source_is_vdisk(f) ? f->open != NULL : f->open == NULL);
        CHECK((i == 2 || i == 3 || i == 4 || i == 8) == source_is_vdisk(f));
        CHECK_STR(name, m[i].name);
        /* A file too short to hold the whole signature is raw. */
        CHECK(probe(head, m[i].off + m[i].len - 1, NULL, m[i].off + m[i].len - 1,
                              &name, &sz) == &source_raw);
    }
    /* A differencing VHD: the footer copy at byte 0 says type 4; read by src/vdisk. */
    vhd_footer(head, 1 << 20, 4);
    CHECK(probe(head, sizeof head, NULL, 4096, &name, &sz) == &source_vdisk_vhd);
    CHECK_STR(name, "vpc");

    /* Fixed VHD: footer only at the end, checksum valid, current size fits. */
    memset(head, 0, sizeof head);
    uint32_t type = 0;
    uint64_t cur = 0;
    vhd_footer(tail, 1 << 20, 2);
    CHECK(source_vhd_footer_parse(tail, &type, &cur) && type == 2 && cur == 1 << 20);
    CHECK(probe(head, sizeof head, tail, (1 << 20) + 512, &name, &sz) == &source_vpc);
    CHECK_STR(name, "vpc");
    CHECK_EQ_U64(sz, 1 << 20);
    /* current size larger than the data before the footer: raw */
    CHECK(probe(head, sizeof head, tail, (1 << 20), &name, &sz) == &source_raw);
    /* a bad checksum: not a footer, raw */
    tail[100] ^= 1;
    CHECK(!source_vhd_footer_parse(tail, &type, &cur));
    CHECK(probe(head, sizeof head, tail, (1 << 20) + 512, &name, &sz) == &source_raw);
    /* a dynamic footer at the end without its copy at 0: refused (qemu does
     * not detect it either) */
    vhd_footer(tail, 1 << 20, 3);
    CHECK(probe(head, sizeof head, tail, 8192, &name, &sz)->open == NULL);
    CHECK_STR(name, "VHD (dynamic)");

    /* Through source_open: a fixed VHD file reads as its data, format "vpc". */
    char path[512];
    snprintf(path, sizeof path, "%s/fixed.vhd", dir);
    uint8_t data[4096];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    vhd_footer(tail, sizeof data, 2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data &&
          write(fd, tail, sizeof tail) == (ssize_t)sizeof tail);
    close(fd);
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(source_open(path, NULL, &bd, &err) == 0);
    if (bd) {
        CHECK_STR(bd_format(bd), "vpc");
        CHECK_EQ_U64(bd_size(bd), sizeof data);
        CHECK(bd_raw_fd(bd) >= 0);
        uint8_t b[16];
        CHECK(bd_pread(bd, b, sizeof b, sizeof data - 16, &err) == 0 &&
              memcmp(b, data + sizeof data - 16, 16) == 0);
        CHECK(bd_pread(bd, b, 1, sizeof data, &err) < 0); /* the footer is not disk data */
        bd_close(bd);
    }
    /* A VDI file is refused with one line naming the path and the format. */
    snprintf(path, sizeof path, "%s/disk.vdi", dir);
    memset(data, 0, sizeof data);
    memcpy(data + 0x40, "\x7f\x10\xda\xbe", 4);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data);
    close(fd);
    bd = NULL;
    CHECK(source_open(path, NULL, &bd, &err) == -ENOTSUP && bd == NULL);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: VDI image: not supported as a source; convert it to raw or qcow2 with "
             "qemu-img first", path);
    CHECK_STR(err.msg, want);
    /* source_probe_path says the same without opening it as a source. */
    const struct source_format *fmt = NULL;
    CHECK(source_probe_path(path, &fmt, NULL, &err) == 0 && fmt && fmt->open == NULL);
    CHECK_STR(fmt ? fmt->name : "", "VDI");
    /* A VHDX goes to its reader, which names what is wrong with this one. */
    snprintf(path, sizeof path, "%s/disk.vhdx", dir);
    memset(data, 0, sizeof data);
    memcpy(data, "vhdxfile", 8);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data);
    close(fd);
    CHECK(source_probe_path(path, &fmt, NULL, &err) == 0 && fmt == &source_vdisk_vhdx);
    CHECK(source_open(path, NULL, &bd, &err) == -EINVAL);
    snprintf(want, sizeof want, "%s: VHDX: file of 4096 bytes is too small for the headers",
             path);
    CHECK_STR(err.msg, want);
    snprintf(path, sizeof path, "%s/fixed.vhd", dir);
    sz = 0;
    CHECK(source_probe_path(path, &fmt, &sz, &err) == 0 && fmt == &source_vpc);
    CHECK_STR(fmt->name, "vpc");
    CHECK_EQ_U64(sz, 4096);
    snprintf(path, sizeof path, "%s/nonexistent", dir);
    CHECK(source_probe_path(path, &fmt, &sz, &err) == -ENOENT);
    snprintf(path, sizeof path, "%s/disk.vhdx", dir);
    /* bd_open_raw still opens it as bytes. */
    CHECK(bd_open_raw(path, &bd, &err) == 0);
    if (bd) {
        CHECK_STR(bd_format(bd), "raw");
        bd_close(bd);
    }
}

int main(void)
{
    static void (*const tests[])(void) = { test_refusals, test_file, test_mem, test_probe_format };
    return T_SCRATCH_RUN("bd", "test_blockdev", tests);
}
