/* The FAT32 ESP formatter: its output, written into a file through the write
 * callback, must pass fsck.fat -n, be FAT32 with label EFI for blkid, take
 * files written with mtools and give them back intact. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "t.h"
#include "util/endian.h"

typedef struct file_sink {
    int fd;
    uint64_t base;     /* byte offset of the ESP on the "disk" */
    uint64_t last_end; /* writes must come in increasing order */
    int writes;
    int fail_at;       /* make write number fail_at fail (0: never) */
} file_sink;

static int sink_write(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    file_sink *s = ctx;
    s->writes++;
    if (s->fail_at && s->writes == s->fail_at)
        return p2v_errf(err, -EIO, "injected write error at offset %llu", (unsigned long long)offset);
    CHECK(offset >= s->last_end);
    CHECK(offset >= s->base);
    s->last_end = offset + len;
    if (pwrite(s->fd, buf, len, (off_t)(offset - s->base)) != (ssize_t)len)
        return p2v_errf(err, -EIO, "pwrite failed");
    return 0;
}

static char tmpdir[] = "/tmp/p2v-test-esp.XXXXXX";

static int run(const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof full, "PATH=$PATH:/usr/sbin:/sbin MTOOLS_SKIP_CHECK=1 %s", cmd);
    int rc = system(full);
    if (rc == -1 || !WIFEXITED(rc)) {
        fprintf(stderr, "could not run: %s\n", cmd);
        return -1;
    }
    if (WEXITSTATUS(rc))
        fprintf(stderr, "exit %d: %s\n", WEXITSTATUS(rc), cmd);
    return WEXITSTATUS(rc);
}

/* Format an ESP of `sectors` sectors at start_lba into FILE (the ESP alone). */
static int format_into(const char *path, uint64_t start_lba, uint64_t sectors, uint32_t ss,
                       p2v_err *err, int *writes)
{
    file_sink s = {.base = start_lba * ss, .last_end = 0};
    s.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (s.fd < 0)
        return -errno;
    if (ftruncate(s.fd, (off_t)(sectors * ss)) < 0) {
        close(s.fd);
        return -errno;
    }
    int rc = boot_format_esp(start_lba, sectors, ss, sink_write, &s, err);
    if (writes)
        *writes = s.writes;
    close(s.fd);
    return rc;
}

static void read_sector(const char *path, uint64_t sector, uint32_t ss, uint8_t *buf)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(pread(fd, buf, ss, (off_t)(sector * ss)) == (ssize_t)ss);
    close(fd);
}

/* A formatted ESP that checks clean, reports FAT32 and has the expected BPB. */
static void check_esp(const char *name, uint64_t start_lba, uint64_t sectors, uint32_t ss,
                      uint32_t want_spc)
{
    char path[512], cmd[2048];
    uint8_t bs[4096], backup[4096], fsinfo[4096];
    p2v_err err = {{0}};
    int writes = 0;
    snprintf(path, sizeof path, "%s/%s.img", tmpdir, name);
    int rc = format_into(path, start_lba, sectors, ss, &err, &writes);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CHECK_EQ_U64(rc, 0);
    CHECK_EQ_U64(writes, 7);

    read_sector(path, 0, ss, bs);
    read_sector(path, 6, ss, backup);
    read_sector(path, 1, ss, fsinfo);
    CHECK(!memcmp(bs, backup, ss));
    CHECK_EQ_U64(get_le16(bs + 11), ss);
    CHECK_EQ_U64(bs[13], want_spc);
    CHECK_EQ_U64(get_le32(bs + 28), start_lba);
    CHECK_EQ_U64(get_le32(bs + 32), sectors);
    CHECK_EQ_U64(get_le16(bs + 22), 0); /* FAT32: 16-bit FAT size is zero */
    CHECK(!memcmp(bs + 71, "EFI        ", 11));
    CHECK(!memcmp(bs + 82, "FAT32   ", 8));
    CHECK_EQ_U64(bs[510], 0x55);
    CHECK_EQ_U64(bs[511], 0xAA);
    CHECK_EQ_U64(get_le32(fsinfo), 0x41615252);
    /* UEFI takes FAT32 only with at least 65525 clusters. */
    uint64_t rsv = get_le16(bs + 14), fat = get_le32(bs + 36);
    uint64_t clusters = (sectors - rsv - 2 * fat) / bs[13];
    CHECK(clusters >= 65525);
    CHECK(rsv >= 32 && rsv < 32u + bs[13]);
    CHECK_EQ_U64((rsv + 2 * fat) % bs[13], 0); /* data area on a cluster boundary */
    CHECK((clusters + 2) * 4 <= fat * ss); /* the FAT covers every cluster */
    CHECK_EQ_U64(get_le32(fsinfo + 488), clusters - 1);

    snprintf(cmd, sizeof cmd, "fsck.fat -n %s >%s/fsck.out 2>&1 || { cat %s/fsck.out >&2; exit 1; }",
             path, tmpdir, tmpdir);
    CHECK_EQ_U64(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "blkid -p -o export %s | grep -qx VERSION=FAT32 && blkid -p -o export %s | grep -qx LABEL=EFI",
             path, path);
    CHECK_EQ_U64(run(cmd), 0);
}

/* mtools writes a boot loader into the ESP; it reads back identical and the
 * filesystem still checks clean. */
static void check_mtools(void)
{
    char path[512], cmd[4096];
    p2v_err err = {{0}};
    snprintf(path, sizeof path, "%s/mtools.img", tmpdir);
    CHECK_EQ_U64(format_into(path, 2048, 100 * 2048, 512, &err, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s; head -c 3000000 /dev/urandom > loader.efi; "
             "mmd -i %s ::/EFI ::/EFI/BOOT; mcopy -i %s loader.efi ::/EFI/BOOT/BOOTX64.EFI; "
             "mdir -i %s ::/EFI/BOOT | grep -q BOOTX64; mcopy -i %s ::/EFI/BOOT/BOOTX64.EFI back.efi; "
             "cmp loader.efi back.efi; mlabel -i %s -s :: | grep -q EFI; "
             "fsck.fat -n %s >fsck2.out 2>&1 || { cat fsck2.out >&2; exit 1; }",
             tmpdir, path, path, path, path, path, path);
    CHECK_EQ_U64(run(cmd), 0);
}

static void check_limits(void)
{
    char path[512];
    p2v_err err = {{0}};
    int writes = -1;
    uint64_t min = boot_esp_min_sectors(512);
    CHECK(min > 65525 && min < 70000);
    CHECK_EQ_U64(boot_esp_min_sectors(4096) * 4096 > 65525ull * 4096, 1);
    CHECK_EQ_U64(boot_esp_min_sectors(520), 0);
    snprintf(path, sizeof path, "%s/small.img", tmpdir);
    CHECK_EQ_U64(format_into(path, 2048, min - 1, 512, &err, &writes), (uint64_t)(int64_t)-ERANGE);
    CHECK_EQ_U64(writes, 0);
    CHECK(strstr(err.msg, "too small for FAT32") != NULL);
    CHECK(strstr(err.msg, "LBA 2048") != NULL);
    CHECK_EQ_U64(format_into(path, 0, 1ull << 33, 512, &err, &writes), (uint64_t)(int64_t)-ERANGE);
    CHECK_EQ_U64(format_into(path, 0, min, 520, &err, &writes), (uint64_t)(int64_t)-EINVAL);

    /* A failing write is reported with where it happened, and stops. */
    file_sink s = {.fd = -1, .fail_at = 3};
    s.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(s.fd >= 0);
    CHECK_EQ_U64(boot_format_esp(0, min, 512, sink_write, &s, &err), (uint64_t)(int64_t)-EIO);
    CHECK_EQ_U64(s.writes, 3);
    CHECK(strstr(err.msg, "formatting the ESP at LBA 0") != NULL);
    CHECK(strstr(err.msg, "injected write error") != NULL);
    close(s.fd);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    uint64_t min = boot_esp_min_sectors(512);
    check_esp("min512", 2048, min, 512, 1);              /* the smallest FAT32 ESP */
    check_esp("esp100", 2048, 100 * 2048, 512, 1);       /* 100 MiB, as Windows makes it */
    check_esp("esp600", 4096, 600 * 2048, 512, 8);       /* > 260 MiB: 4 KiB clusters */
    check_esp("esp301", 2048, 301 * 2048, 512, 8);      /* reserved area padded by 4 */
    check_esp("esp4k", 256, boot_esp_min_sectors(4096), 4096, 1); /* 4Kn disk */
    check_mtools();
    check_limits();

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    run(cmd);
    return t_done("test_boot_esp");
}
