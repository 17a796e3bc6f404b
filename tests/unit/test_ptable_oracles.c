/* ptable_serialize checked by the reference tools: write tables into sparse
 * files, then `sgdisk -v` must find no problem, `sfdisk --json` must list
 * the same partitions, and ptable_read must read them back. With 4096-byte
 * sectors sgdisk runs on a loop device made with `losetup --sector-size`. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptable_testlib.h"
#include "source/source.h"
#include "t.h"

static char workdir[64];

static int file_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *err)
{
    int fd = *(int *)ctx;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n <= 0)
            return p2v_errf(err, -EIO, "pwrite at %llu failed", (unsigned long long)off);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Run cmd, return its stdout (malloc'd, NUL-terminated) and exit status. */
static char *run(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (!f || !out) {
        free(out);
        *status = -1;
        return NULL;
    }
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
    }
    out[len] = '\0';
    *status = pclose(f);
    return out;
}

static bool have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static int write_image(const char *path, const ptable *t)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    p2v_err err;
    if (fd < 0 || ftruncate(fd, (off_t)(t->disk_sectors * t->sector_size)) < 0)
        return -1;
    int r = ptable_serialize(t, file_write, &fd, &err);
    if (r < 0)
        fprintf(stderr, "serialize %s: %s\n", path, err.msg);
    close(fd);
    return r;
}

/* The "number start size type" lines sfdisk --json gives, types normalised
 * to lower case without leading zeros (sfdisk writes MBR "7", GPT upper case). */
static char *sfdisk_lines(const char *path)
{
    char cmd[512];
    int st;
    snprintf(cmd, sizeof cmd,
             "sfdisk --json '%s' | jq -r '.partitiontable.partitions[] | "
             "\"\\(.node | capture(\"(?<n>[0-9]+)$\").n) \\(.start) \\(.size) "
             "\\(.type | ascii_downcase) \\(.name // \"\")\"'",
             path);
    char *out = run(cmd, &st);
    CHECK(st == 0);
    return out;
}

static void expected_lines(const ptable *t, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = &t->parts[i];
        char type[P2V_GUID_STRLEN];
        if (t->type == PTABLE_GPT)
            guid_format(&p->type_guid, type);
        else
            snprintf(type, sizeof type, "%x", p->mbr_type);
        int n = snprintf(out + o, outlen - o, "%u %llu %llu %s %s\n", p->number,
                         (unsigned long long)p->start, (unsigned long long)p->size, type,
                         t->type == PTABLE_GPT ? p->name : "");
        if (n > 0 && (size_t)n < outlen - o)
            o += (size_t)n;
    }
}

static void check_readback(const char *path, const ptable *want, uint32_t ss)
{
    blockdev *bd;
    ptable *t = NULL;
    p2v_err err;
    CHECK(source_open(path, NULL, &bd, &err) == 0);
    if (ss != 512)
        bd_set_sector_size(bd, ss);
    CHECK(ptable_read(bd, &t, &err) == 0);
    bd_close(bd);
    if (!t)
        return;
    CHECK(t->type == want->type);
    CHECK_EQ_U64(t->nparts, want->nparts);
    CHECK_EQ_U64(t->warnings.count, 0);
    for (size_t i = 0; i < t->nparts && i < want->nparts; i++) {
        CHECK_EQ_U64(t->parts[i].number, want->parts[i].number);
        CHECK_EQ_U64(t->parts[i].start, want->parts[i].start);
        CHECK_EQ_U64(t->parts[i].size, want->parts[i].size);
    }
    ptable_free(t);
}

static void check_gpt(uint32_t ss)
{
    char path[128], cmd[512], want[4096];
    int st;
    snprintf(path, sizeof path, "%s/gpt%u.img", workdir, ss);
    ptable_part parts[10];
    ptable t = { .type = PTABLE_GPT, .sector_size = ss, .disk_sectors = (64u << 20) / ss };
    uint64_t mib = (1u << 20) / ss;
    static const char *const types[] = { GPT_TYPE_ESP, GPT_TYPE_MSR, GPT_TYPE_BASIC_DATA,
                                         GPT_TYPE_WINRE, GPT_TYPE_LINUX_FS };
    for (unsigned i = 0; i < 10; i++) {
        parts[i] = (ptable_part){ .number = i + 1, .start = mib * (1 + 3 * i), .size = mib * 2 + i };
        guid_parse(types[i % 5], &parts[i].type_guid);
        guid_generate(&parts[i].uuid);
        snprintf(parts[i].name, sizeof parts[i].name, "part-%u", i + 1);
    }
    parts[3].attrs = GPT_ATTR_REQUIRED | GPT_ATTR_MS_NO_LETTER;
    guid_generate(&t.disk_guid);
    t.parts = parts;
    t.nparts = 10;
    CHECK(write_image(path, &t) == 0);

    char *sgdisk = NULL, loopdev[64] = "";
    if (ss == 512) {
        snprintf(cmd, sizeof cmd, "sgdisk -v '%s' 2>&1", path);
        sgdisk = run(cmd, &st);
    } else {
        snprintf(cmd, sizeof cmd, "losetup --find --show --read-only --sector-size %u '%s' 2>/dev/null", ss, path);
        char *dev = run(cmd, &st);
        if (st == 0 && dev && dev[0] == '/') {
            dev[strcspn(dev, "\n")] = '\0';
            snprintf(loopdev, sizeof loopdev, "%s", dev);
            snprintf(cmd, sizeof cmd, "sgdisk -v %s 2>&1", loopdev);
            sgdisk = run(cmd, &st);
        } else {
            printf("note: no loop device; sgdisk -v skipped for %u-byte sectors\n", ss);
        }
        free(dev);
    }
    if (sgdisk) {
        CHECK(st == 0);
        CHECK(strstr(sgdisk, "No problems found.") != NULL);
        if (!strstr(sgdisk, "No problems found."))
            fprintf(stderr, "sgdisk -v said:\n%s\n", sgdisk);
        free(sgdisk);
    }
    /* sfdisk reads image files with 512-byte sectors: others go through the loop device. */
    if (ss == 512 || loopdev[0]) {
        char *got = sfdisk_lines(ss == 512 ? path : loopdev);
        expected_lines(&t, want, sizeof want);
        CHECK_STR(got, want);
        free(got);
    }
    if (loopdev[0]) {
        snprintf(cmd, sizeof cmd, "losetup -d %s", loopdev);
        CHECK(system(cmd) == 0);
    }
    check_readback(path, &t, ss);
}

static void check_mbr(void)
{
    char path[128], cmd[512], want[4096];
    int st;
    snprintf(path, sizeof path, "%s/mbr.img", workdir);
    ptable_part parts[] = {
        { .number = 1, .start = 2048, .size = 20480, .mbr_type = 0x07, .bootable = true },
        { .number = 2, .start = 22528, .size = 10240, .mbr_type = 0x0c },
        { .number = 3, .start = 32768, .size = 98304, .mbr_type = 0x05, .container = true },
        { .number = 5, .start = 34816, .size = 8192, .mbr_type = 0x83, .logical = true, .ebr_lba = 32768 },
        { .number = 6, .start = 45056, .size = 8192, .mbr_type = 0x82, .logical = true, .ebr_lba = 43008 },
        { .number = 7, .start = 55296, .size = 8192, .mbr_type = 0x8e, .logical = true, .ebr_lba = 53248 },
    };
    ptable t = { .type = PTABLE_MBR, .sector_size = 512, .disk_sectors = 131072,
                 .mbr_signature = 0x1234abcd, .parts = parts, .nparts = 6 };
    CHECK(write_image(path, &t) == 0);
    snprintf(cmd, sizeof cmd, "sfdisk --verify '%s' 2>&1", path);
    char *v = run(cmd, &st);
    CHECK(st == 0 && v && strstr(v, "No errors detected."));
    free(v);
    snprintf(cmd, sizeof cmd, "sfdisk --json '%s' | jq -r '.partitiontable.id'", path);
    v = run(cmd, &st);
    CHECK_STR(v, "0x1234abcd\n");
    free(v);
    char *got = sfdisk_lines(path);
    expected_lines(&t, want, sizeof want);
    CHECK_STR(got, want);
    free(got);
    check_readback(path, &t, 512);
}

int main(void)
{
    if (!have("sgdisk") || !have("sfdisk") || !have("jq")) {
        fprintf(stderr, "test_ptable_oracles: sgdisk, sfdisk and jq are required (scripts/deps)\n");
        return 1;
    }
    snprintf(workdir, sizeof workdir, "/tmp/p2v-ptable.XXXXXX");
    if (!mkdtemp(workdir))
        return 1;
    check_mbr();
    check_gpt(512);
    check_gpt(4096);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", workdir);
    return t_done("test_ptable_oracles");
}
