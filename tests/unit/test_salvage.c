/* Copying a disk with bad sectors: the engine narrows a failed read to the
 * exact sectors, stops naming them (fail) or zero-fills and records them
 * (zero); the record is a ddrescue map that ddrescuelog reads back. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "copy/copy.h"
#include "copy/salvage.h"
#include "fault.h"
#include "t.h"

#define MiB (1024u * 1024u)
#define DISK (4 * MiB)
#define PART_OFF (1 * MiB) /* sector 2048 */
#define PART_LEN (3 * MiB)
#define DST_OFF (2 * MiB)
#define IMG (6 * MiB)

static uint8_t *disk_bytes(void)
{
    uint8_t *d = malloc(DISK);
    for (size_t i = 0; i < DISK; i++)
        d[i] = (uint8_t)(i * 7 + i / 512 + 1) | 1; /* never zero */
    return d;
}

/* The disk d behind a source whose reads of the bad bytes fail. */
static blockdev *faulty_over(const uint8_t *d, const extent_list *bad, blockdev **inner)
{
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(d, DISK, 512, "old.img", inner, &err) == 0);
    CHECK(bd_open_faulty(*inner, bad, &bd, &err) == 0);
    return bd;
}

/* Partition-relative sectors 100, 101 and 3000 (used) and 4500 (free). */
static blockdev *faulty_disk(const uint8_t *d, blockdev **inner)
{
    extent_list bad = { 0 };
    extent_list_add(&bad, PART_OFF + 100 * 512, 2 * 512);
    extent_list_add(&bad, PART_OFF + 3000 * 512, 512);
    extent_list_add(&bad, PART_OFF + 4500 * 512 + 17, 1); /* one byte: still the whole sector */
    blockdev *bd = faulty_over(d, &bad, inner);
    extent_list_free(&bad);
    return bd;
}

struct setup {
    uint8_t *d;
    blockdev *inner, *bd;
    extent_list used;
    copy_range r;
    struct fault_target t;
    copy_opts o;
    copy_stats st;
    p2v_err err; /* the copy's */
};

/* The copy of the faulty disk's partition; sv NULL: without salvage. */
static void setup(struct setup *s, salvage *sv)
{
    memset(s, 0, sizeof *s);
    s->d = disk_bytes();
    s->bd = faulty_disk(s->d, &s->inner);
    extent_list_add(&s->used, 0, 2 * MiB); /* [2 MiB, 2.5 MiB) free: sectors 4096-5119 */
    extent_list_add(&s->used, 2 * MiB + MiB / 2, MiB / 2);
    s->r = (copy_range){ .src = s->bd, .src_offset = PART_OFF, .src_len = PART_LEN,
                         .dst_offset = DST_OFF, .dst_len = PART_LEN, .used = &s->used,
                         .what = "disk1:2", .salvage = sv };
    s->t = (struct fault_target){ .b = calloc(1, IMG), .n = IMG, .fail_at = UINT64_MAX };
    s->o = (copy_opts){ .write = fault_write, .write_ctx = &s->t, .granularity = 4096 };
}

/* setup with a new salvage record of this policy (s->r.salvage). */
static void setup_salvage(struct setup *s, enum salvage_policy policy)
{
    salvage *sv = NULL;
    p2v_err err;
    CHECK(salvage_new(policy, &sv, &err) == 0);
    setup(s, sv);
}

static int run_copy(struct setup *s)
{
    return copy_run(&s->r, 1, &s->o, &s->st, &s->err);
}

static void teardown(struct setup *s)
{
    salvage_free(s->r.salvage);
    bd_close(s->bd);
    bd_close(s->inner);
    extent_list_free(&s->used);
    free(s->t.b);
    free(s->d);
}

/* The ddrescue map of sv for an image of size bytes, malloc'ed. */
static char *map_text(const salvage *sv, uint64_t size)
{
    char *text = NULL;
    size_t n = 0;
    p2v_err err;
    FILE *f = open_memstream(&text, &n);
    CHECK(salvage_write_map(sv, size, f, &err) == 0);
    fclose(f);
    return text;
}

static void test_without_salvage_stops(void)
{
    struct setup s;
    setup(&s, NULL);
    CHECK(run_copy(&s) == -EIO);
    CHECK_STR(s.err.msg, "disk1:2: old.img: read error at offset 1099776 (sector 2148): "
                         "Input/output error");
    teardown(&s);
}

static void test_fail_lists_exact_sectors(void)
{
    struct setup s;
    setup_salvage(&s, SALVAGE_FAIL);
    const salvage *sv = s.r.salvage;
    CHECK(run_copy(&s) == -EIO);
    /* 2048 + 100, 2048 + 3000; 2048 + 4500 is free space and not named */
    CHECK_STR(s.err.msg, "disk1:2: old.img: unreadable sectors (512 bytes each): 2148-2149, 5048; "
                         "--bad-sectors zero copies around them");
    CHECK(salvage_count(sv) == 0);
    /* narrowing costs little: two tries per failed piece, never the whole disk
     * sector by sector */
    CHECK(bd_faulty_reads(s.bd) < 600);
    teardown(&s);
}

static void test_zero_fills_and_records(void)
{
    struct setup s;
    setup_salvage(&s, SALVAGE_ZERO);
    const salvage *sv = s.r.salvage;
    CHECK(run_copy(&s) == 0);
    CHECK_EQ_U64(salvage_count(sv), 2);
    CHECK_EQ_U64(salvage_bad_bytes(sv), 3 * 512);
    const salvage_bad *b0 = salvage_get(sv, 0), *b1 = salvage_get(sv, 1);
    CHECK_STR(b0->what, "disk1:2");
    CHECK_STR(b0->disk, "old.img");
    CHECK_EQ_U64(b0->src_offset, PART_OFF + 100 * 512);
    CHECK_EQ_U64(b0->dst_offset, DST_OFF + 100 * 512);
    CHECK_EQ_U64(b0->len, 1024);
    CHECK_EQ_U64(b1->rel, 3000 * 512);
    /* every used byte but the bad sectors arrived; bad and free bytes are zeros */
    int same = 1, zeros = 1;
    for (uint64_t rel = 0; rel < PART_LEN; rel++) {
        uint8_t got = s.t.b[DST_OFF + rel], want = s.d[PART_OFF + rel];
        uint64_t sec = rel / 512;
        bool is_bad = sec == 100 || sec == 101 || sec == 3000;
        bool is_free = rel >= 2 * MiB && rel < 2 * MiB + MiB / 2;
        if (is_bad || is_free)
            zeros &= got == 0;
        else
            same &= got == want;
    }
    CHECK(same);
    CHECK(zeros);
    extent_list ex = { 0 };
    CHECK(salvage_extents_of(sv, "disk1:2", &ex, &s.err) == 0);
    CHECK(ex.count == 2 && ex.v[0].start == 51200 && ex.v[1].len == 512);
    extent_list_free(&ex);

    char *text = map_text(sv, IMG);
    CHECK(strstr(text, "# disk1:2: old.img sectors 2148-2149 (512 bytes each) at image byte "
                       "2148352\n") != NULL);
    CHECK(strstr(text, "#      pos        size  status\n"
                       "0x00000000  0x0020C800  +\n"
                       "0x0020C800  0x00000400  -\n"
                       "0x0020CC00  0x0016A400  +\n"
                       "0x00377000  0x00000200  -\n"
                       "0x00377200  0x00288E00  +\n") != NULL);

    /* ddrescuelog, the independent reader, sees the same bad sectors of the image */
    char path[] = "/tmp/p2v-salvage-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char cmd[256], out[256] = "";
    snprintf(cmd, sizeof cmd, "ddrescuelog -b512 -l- %s", path);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = '\0';
    CHECK(p && pclose(p) == 0);
    CHECK_STR(out, "4196\n4197\n7096\n"); /* 4096 + 100, 4096 + 101, 4096 + 3000 */
    unlink(path);
    free(text);
    teardown(&s);
}

/* Readers run in parallel, so runs are found in any order: the record keeps
 * image order and joins a run with the one before it, after it, or both. */
static void test_out_of_order(void)
{
    uint8_t *d = disk_bytes();
    blockdev *inner = NULL, *bd = NULL;
    extent_list bad = { 0 };
    p2v_err err;
    extent_list_add(&bad, PART_OFF + 10 * 512, 3 * 512); /* sectors 10-12 */
    extent_list_add(&bad, PART_OFF + 40 * 512, 2 * 512); /* sectors 40-41 */
    bd = faulty_over(d, &bad, &inner);
    copy_range r = { .src = bd, .src_offset = PART_OFF, .src_len = PART_LEN,
                     .dst_offset = DST_OFF, .dst_len = PART_LEN, .what = "disk1:2" };
    salvage *sv = NULL;
    CHECK(salvage_new(SALVAGE_ZERO, &sv, &err) == 0);
    uint8_t buf[512];
    static const unsigned order[] = { 41, 12, 10, 40, 11 }; /* 11 bridges 10 and 12 */
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        CHECK(salvage_read(sv, &r, buf, 512, order[i] * 512u, &err) == 0);
    CHECK_EQ_U64(salvage_count(sv), 2);
    CHECK_EQ_U64(salvage_bad_bytes(sv), 5 * 512);
    const salvage_bad *b0 = salvage_get(sv, 0), *b1 = salvage_get(sv, 1);
    CHECK_EQ_U64(b0->rel, 10 * 512);
    CHECK_EQ_U64(b0->len, 3 * 512);
    CHECK_EQ_U64(b0->src_offset, PART_OFF + 10 * 512);
    CHECK_EQ_U64(b0->dst_offset, DST_OFF + 10 * 512);
    CHECK_EQ_U64(b1->rel, 40 * 512);
    CHECK_EQ_U64(b1->len, 2 * 512);
    CHECK_EQ_U64(b1->dst_offset, DST_OFF + 40 * 512);
    salvage_free(sv);
    extent_list_free(&bad);
    bd_close(bd);
    bd_close(inner);
    free(d);
}

static void test_failing_target_stops(void)
{
    struct setup s;
    setup_salvage(&s, SALVAGE_ZERO);
    s.t.fail_at = DST_OFF + MiB;
    s.t.fail_code = -ENOSPC;
    CHECK(run_copy(&s) == -ENOSPC);
    CHECK(strstr(s.err.msg, "No space left on device") != NULL);
    teardown(&s);
}

static void test_empty_map(void)
{
    salvage *sv = NULL;
    p2v_err err;
    CHECK(salvage_new(SALVAGE_ZERO, &sv, &err) == 0);
    char *text = map_text(sv, 4096);
    CHECK(strstr(text, "size  status\n0x00000000  0x00001000  +\n") != NULL);
    free(text);
    salvage_free(sv);
}

int main(void)
{
    test_without_salvage_stops();
    test_fail_lists_exact_sectors();
    test_zero_fills_and_records();
    test_out_of_order();
    test_failing_target_stops();
    test_empty_map();
    return t_done("test_salvage");
}
