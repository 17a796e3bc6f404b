/* The conversion library on in-memory disks: plan a request, run it with
 * progress events (monotonic, ending at the total), read the image back;
 * cancel midway leaves no file; usage-type errors are CONVERT_EUSAGE; a plan
 * file written from a job parses back to the same request. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert.h"
#include "convert/planfile.h"
#include "ptable_testlib.h"
#include "t.h"

#define MiB (1ULL << 20)

/* A 64 MiB MBR disk with two partitions of pseudo-random bytes (no
 * filesystem: copied whole) and a zero gap inside the second. */
static memdisk make_source(uint32_t sig)
{
    ptable t = { .type = PTABLE_MBR, .sector_size = 512, .disk_sectors = 64 * MiB / 512,
                 .mbr_signature = sig };
    ptable_part parts[2] = {
        { .number = 1, .start = 2048, .size = 8 * MiB / 512, .mbr_type = 0x83, .bootable = true },
        { .number = 2, .start = 20480, .size = 24 * MiB / 512, .mbr_type = 0x83 },
    };
    t.parts = parts;
    t.nparts = 2;
    memdisk d = memdisk_with_table(&t);
    uint32_t x = sig;
    for (size_t i = 2048 * 512; i < (20480 + 24 * 2048) * 512ULL; i++) {
        x = x * 1103515245u + 12345u;
        d.buf[i] = (uint8_t)(x >> 16);
    }
    memset(d.buf + 30 * MiB, 0, 4 * MiB);
    return d;
}

static convert_disk *open_mem(memdisk *d, const char *name)
{
    blockdev *bd;
    convert_disk *cd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(d->buf, d->len, 512, name, &bd, &err) == 0);
    CHECK(convert_disk_from_bd(bd, NULL, &cd, &err) == 0);
    return cd;
}

struct events {
    uint64_t last_done, last_total;
    unsigned calls, backwards, messages;
    volatile sig_atomic_t *cancel;
    uint64_t cancel_after;
};

static void on_progress(void *ctx, const convert_progress *p)
{
    struct events *e = ctx;
    if (p->phase != CONVERT_PHASE_COPY)
        return;
    e->calls++;
    if (p->done < e->last_done || p->done > p->total)
        e->backwards++;
    e->last_done = p->done;
    e->last_total = p->total;
    if (e->cancel && p->done >= e->cancel_after)
        *e->cancel = 1;
}

static void on_message(void *ctx, enum convert_level level, const char *msg)
{
    (void)level;
    (void)msg;
    ((struct events *)ctx)->messages++;
}

static char g_dir[] = "/tmp/p2v-test-convert.XXXXXX";

static void test_run_and_read_back(convert_disk *src, const memdisk *m)
{
    char out[256];
    snprintf(out, sizeof out, "%s/ok.img", g_dir);
    convert_sel sels[] = { { .disk = "mem1", .number = 2 }, { .disk = "mem1", .number = 1 } };
    convert_disk *pre[] = { src };
    convert_request rq = { .output = out, .sink = { .format = SINK_RAW }, .sels = sels,
                           .nsels = 2, .preopened = pre, .npreopened = 1 };
    struct events e = { 0 };
    convert_events ev = { .message = on_message, .progress = on_progress, .ctx = &e };
    convert_job *job;
    convert_result res;
    p2v_err err;
    CHECK(convert_plan_from_request(&rq, &ev, &job, &err) == 0);
    const plan *p = convert_job_plan(job);
    CHECK_EQ_U64(p->nparts, 2);
    CHECK_EQ_U64(p->parts[0].start, 2048);              /* partition 2 first, as asked */
    CHECK_EQ_U64(p->parts[0].src->number, 2);
    CHECK(p->mbr_signature != 0x11111111);
    char name[64];
    convert_part_source_name(job, &p->parts[0], name, sizeof name);
    CHECK_STR(name, "mem1:2");
    int r = convert_run(job, &ev, NULL, &res, &err);
    CHECK(r == 0);
    if (r)
        fprintf(stderr, "run: %s\n", err.msg);
    CHECK(res.done);
    CHECK(e.calls > 0);
    CHECK_EQ_U64(e.backwards, 0);
    CHECK_EQ_U64(e.last_done, e.last_total);
    CHECK_EQ_U64(res.read, 32 * MiB);                   /* no filesystem: every sector */
    CHECK(res.written <= 28 * MiB);                     /* the 4 MiB of zeros are not written */
    /* Read the image back: partition 2's bytes land at sector 2048. */
    FILE *f = fopen(out, "rb");
    CHECK(f != NULL);
    if (f) {
        uint8_t *img = malloc(24 * MiB);
        CHECK(fseek(f, 2048 * 512, SEEK_SET) == 0);
        CHECK(fread(img, 1, 24 * MiB, f) == 24 * MiB);
        CHECK(memcmp(img, m->buf + 20480 * 512ULL, 24 * MiB) == 0);
        free(img);
        fclose(f);
    }
    convert_job_free(job);
}

static void test_cancel_leaves_nothing(convert_disk *src)
{
    char out[256];
    snprintf(out, sizeof out, "%s/cancel.qcow2", g_dir);
    convert_sel sels[] = { { .disk = "mem1", .number = 1 }, { .disk = "mem1", .number = 2 } };
    convert_disk *pre[] = { src };
    convert_request rq = { .output = out, .sels = sels, .nsels = 2, .preopened = pre,
                           .npreopened = 1 };
    volatile sig_atomic_t cancel = 0;
    struct events e = { .cancel = &cancel, .cancel_after = 1 };
    convert_events ev = { .progress = on_progress, .ctx = &e };
    convert_job *job;
    convert_result res;
    p2v_err err;
    CHECK(convert_plan_from_request(&rq, &ev, &job, &err) == 0);
    CHECK(convert_run(job, &ev, &cancel, &res, &err) == -EINTR);
    CHECK(strstr(err.msg, "interrupted") != NULL);
    CHECK(!res.done);
    struct stat st;
    CHECK(stat(out, &st) < 0 && errno == ENOENT);
    convert_job_free(job);
    /* nothing else left in the directory either (no temporary file) */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s | grep -v '^ok.img$')\"", g_dir);
    CHECK(system(cmd) == 0);
}

static void test_usage_errors(convert_disk *src)
{
    convert_disk *pre[] = { src };
    convert_sel sels[] = { { .disk = "mem1", .number = 1 } }, active = { .disk = "mem1", .number = 2 };
    convert_request rq = { .sels = sels, .nsels = 1, .active = &active, .preopened = pre,
                           .npreopened = 1 };
    convert_job *job = NULL;
    p2v_err err;
    CHECK(convert_plan_from_request(&rq, NULL, &job, &err) == CONVERT_EUSAGE);
    CHECK(strstr(err.msg, "not one of the selected partitions") != NULL);
    CHECK(job == NULL);
    convert_sel missing[] = { { .disk = "mem1", .number = 7 } };
    rq = (convert_request){ .sels = missing, .nsels = 1, .preopened = pre, .npreopened = 1 };
    int r = convert_plan_from_request(&rq, NULL, &job, &err);
    CHECK(r < 0 && r != CONVERT_EUSAGE);
    CHECK(strstr(err.msg, "7") != NULL);
}

static void test_planfile_round_trip(convert_disk *src)
{
    convert_disk *pre[] = { src };
    convert_sel sels[] = { { .disk = "mem1", .number = 2 }, { .disk = "mem1", .number = 1 } }, active = { .disk = "mem1", .number = 1 };
    convert_request rq = { .sels = sels, .nsels = 2, .active = &active, .preopened = pre,
                           .npreopened = 1, .copy_all = true, .verify = true,
                           .bad_sectors = SALVAGE_ZERO, .keep_services = true,
                           .sink = { .format = SINK_QCOW2, .compression = SINK_COMPRESS_ZSTD,
                                     .level = 7, .cluster_size = 65536 },
                           .plan = { .table = PTABLE_MBR, .boot = PLAN_FW_BIOS,
                                     .size = 256 * MiB, .align = 2 * MiB } };
    convert_job *job;
    p2v_err err;
    int r = convert_plan_from_request(&rq, NULL, &job, &err);
    CHECK(r == 0);
    if (r) {
        fprintf(stderr, "plan: %s\n", err.msg);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(convert_planfile_write(job, f, &err) == 0);
    fclose(f);
    convert_planfile *pf;
    CHECK(convert_planfile_parse(text, len, &pf, &err) == 0);
    CHECK_EQ_U64(pf->ndisks, 1);
    CHECK_STR(pf->disks[0].path, "mem1");
    CHECK_EQ_U64(pf->disks[0].size, 64 * MiB);
    CHECK_STR(pf->disks[0].id, "0x11111111");
    CHECK_EQ_U64(pf->nsels, 2);
    CHECK_EQ_U64(pf->sels[0].number, 2);
    CHECK_EQ_U64(pf->sels[0].start, 20480);
    CHECK_STR(pf->sels[0].type, "0x83");
    const convert_request *back = convert_planfile_request(pf);
    CHECK(back->copy_all && back->verify);
    CHECK_EQ_U64(back->bad_sectors, SALVAGE_ZERO);
    CHECK(back->keep_services);
    CHECK(back->drivers == NULL && back->target_bus == 0);
    CHECK_EQ_U64(back->sink.compression, SINK_COMPRESS_ZSTD);
    CHECK_EQ_U64(back->sink.level, 7);
    CHECK_EQ_U64(back->plan.table, PTABLE_MBR);
    CHECK_EQ_U64(back->plan.boot, PLAN_FW_BIOS);
    CHECK_EQ_U64(back->plan.size, 256 * MiB);
    CHECK_EQ_U64(back->plan.align, 2 * MiB);
    CHECK(back->active && back->active->number == 1);
    CHECK(back->nsels == 2 && back->sels[1].number == 1);
    convert_planfile_free(pf);
    /* damaged: every prefix of the file is refused with a message, none crashes */
    for (size_t cut = 0; cut < len - 1; cut += 7) { /* text[len - 1] is the newline */
        err.msg[0] = '\0';
        CHECK(convert_planfile_parse(text, cut, &pf, &err) < 0);
        CHECK(err.msg[0] != '\0');
    }
    free(text);
    convert_job_free(job);
    /* a level needs a codec, and zlib's stop at 9 */
    static const char *const bad[] = {
        "{\"p2v_plan\":1,\"options\":{\"compress_level\":3},\"disks\":[],\"selections\":[]}",
        "{\"p2v_plan\":1,\"options\":{\"compress\":\"zlib\",\"compress_level\":12},"
        "\"disks\":[],\"selections\":[]}",
        "{\"p2v_plan\":1,\"options\":{\"compress\":\"zstd\",\"compress_level\":20},"
        "\"disks\":[],\"selections\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        CHECK(convert_planfile_parse(bad[i], strlen(bad[i]), &pf, &err) < 0);
        CHECK(strstr(err.msg, "compress_level") != NULL);
    }
}

int main(void)
{
    CHECK(mkdtemp(g_dir) != NULL);
    memdisk m = make_source(0x11111111);
    convert_disk *src = open_mem(&m, "mem1");
    if (src) {
        CHECK_EQ_U64(src->pt->nparts, 2);
        test_run_and_read_back(src, &m);
        test_cancel_leaves_nothing(src);
        test_usage_errors(src);
        test_planfile_round_trip(src);
    }
    convert_disk_free(src);
    free(m.buf);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    CHECK(system(cmd) == 0);
    return t_done("test_convert");
}
