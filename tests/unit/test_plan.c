/* Unit tests for the planner: order, alignment, MBR primaries/logicals with
 * EBR room, the boot partition staying primary, limits, --size growth, GPT
 * usable range, type mapping, MSR, identities; and the planned table read
 * back through the ptable parser. */
#include <errno.h>
#include <stdlib.h>

#include "plan/plan.h"
#include "ptable_testlib.h"

#define MiB (1ULL << 20)

static ptable *mk_table(enum ptable_type type, uint32_t ss, uint64_t disk_sectors)
{
    ptable *t = calloc(1, sizeof *t);
    t->type = type;
    t->sector_size = ss;
    t->disk_sectors = disk_sectors;
    t->parts = calloc(16, sizeof *t->parts);
    t->mbr_signature = 0x12345678;
    guid_generate(&t->disk_guid);
    return t;
}

static ptable_part *add_part(ptable *t, unsigned number, uint64_t start, uint64_t size,
                             uint8_t mbr_type, const char *gpt_type)
{
    ptable_part *p = &t->parts[t->nparts++];
    p->number = number;
    p->start = start;
    p->size = size;
    p->mbr_type = mbr_type;
    if (gpt_type) {
        guid_parse(gpt_type, &p->type_guid);
        guid_generate(&p->uuid);
    }
    return p;
}

static void free_table(ptable *t)
{
    free(t->parts);
    free(t);
}

static bool guid_is_str(const p2v_guid *g, const char *s)
{
    p2v_guid x;
    return guid_parse(s, &x) == 0 && guid_equal(g, &x);
}

/* An MBR disk like the story's disk 1: boot (active), D:, C: (unaligned),
 * extended, recovery, E:. */
static ptable *story_disk1(void)
{
    ptable *t = mk_table(PTABLE_MBR, 512, 614400);
    add_part(t, 1, 2048, 49152, 0x07, NULL)->bootable = true;
    add_part(t, 2, 51200, 131072, 0x83, NULL);
    add_part(t, 3, 198657, 163840, 0x07, NULL);
    add_part(t, 4, 364544, 249856, 0x0f, NULL)->container = true;
    add_part(t, 5, 366592, 49152, 0x27, NULL)->logical = true;
    add_part(t, 6, 417792, 81920, 0x0c, NULL)->logical = true;
    t->has_boot_code = true;
    memset(t->boot_code, 0xAB, sizeof t->boot_code);
    return t;
}

static ptable *story_disk2(void)
{
    ptable *t = mk_table(PTABLE_GPT, 512, 262144);
    snprintf(add_part(t, 1, 2048, 98304, 0, GPT_TYPE_BASIC_DATA)->name, 16, "F data");
    add_part(t, 2, 100352, 65536, 0, GPT_TYPE_LINUX_FS);
    return t;
}

static void sel(plan_sel *s, size_t disk, unsigned number, const char *fstype)
{
    memset(s, 0, sizeof *s);
    s->disk = disk;
    s->number = number;
    snprintf(s->fstype, sizeof s->fstype, "%s", fstype);
}

/* Partitions 1..n of disk 0, in order, with these filesystems. */
static void sel_each(plan_sel *s, size_t n, const char *const fstype[])
{
    for (size_t i = 0; i < n; i++)
        sel(&s[i], 0, (unsigned)i + 1, fstype[i]);
}

/* The story's two disks and its five selections, in the order given:
 * boot, recovery, F:, the Linux partition, C:. */
struct story {
    ptable *d1, *d2;
    plan_source src[2];
    plan_sel s[5];
};

static void story_init(struct story *st)
{
    st->d1 = story_disk1();
    st->d2 = story_disk2();
    st->src[0] = (plan_source){ NULL, st->d1, "disk1" };
    st->src[1] = (plan_source){ NULL, st->d2, "disk2" };
    sel(&st->s[0], 0, 1, "ntfs");
    sel(&st->s[1], 0, 5, "ntfs");
    sel(&st->s[2], 1, 1, "vfat");
    sel(&st->s[3], 0, 2, "ext4");
    sel(&st->s[4], 0, 3, "ntfs");
}

static void story_free(struct story *st)
{
    free_table(st->d1);
    free_table(st->d2);
}

static void test_story_mbr(void)
{
    struct story st;
    story_init(&st);
    plan_opts o = { 0 };
    plan *p = NULL;
    p2v_err err;
    CHECK(plan_build(st.src, 2, st.s, 5, &o, &p, &err) == 0);
    if (!p)
        return;
    CHECK(p->table == PTABLE_MBR);
    CHECK(p->firmware == PLAN_FW_BIOS && p->firmware_from_source);
    CHECK_EQ_U64(p->nparts, 5);
    /* Order as given, 1 MiB aligned, sizes as the sources. */
    const unsigned want_src[5] = { 1, 5, 1, 2, 3 };
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ_U64(p->parts[i].src->number, want_src[i]);
        CHECK_EQ_U64(p->parts[i].start % 2048, 0);
        if (i > 0)
            CHECK(p->parts[i].start >= p->parts[i - 1].start + p->parts[i - 1].sectors);
    }
    CHECK_EQ_U64(p->parts[0].start, 2048);
    CHECK_EQ_U64(p->parts[1].start, 51200);
    /* First three primary, the rest logical with an EBR one unit before each. */
    CHECK(!p->parts[0].logical && !p->parts[1].logical && !p->parts[2].logical);
    CHECK(p->parts[3].logical && p->parts[4].logical);
    CHECK(p->has_extended);
    CHECK_EQ_U64(p->ext_number, 4);
    CHECK_EQ_U64(p->parts[3].number, 5);
    CHECK_EQ_U64(p->parts[4].number, 6);
    CHECK_EQ_U64(p->parts[3].ebr_lba, p->parts[3].start - 2048);
    CHECK_EQ_U64(p->ext_start, p->parts[3].ebr_lba);
    CHECK_EQ_U64(p->parts[4].ebr_lba % 2048, 0);
    CHECK(p->parts[4].ebr_lba >= p->parts[3].start + p->parts[3].sectors);
    CHECK_EQ_U64(p->ext_start + p->ext_sectors, p->parts[4].start + p->parts[4].sectors);
    /* The smallest disk: C: ends where the disk ends. */
    CHECK_EQ_U64(p->disk_sectors, p->parts[4].start + p->parts[4].sectors);
    CHECK_EQ_U64(p->parts[4].sectors, 163840);
    /* Types kept, GPT basic data with FAT32 maps to 0x0c, active flag kept. */
    CHECK_EQ_U64(p->parts[1].mbr_type, 0x27);
    CHECK_EQ_U64(p->parts[2].mbr_type, 0x0c);
    CHECK(p->parts[0].bootable && !p->parts[1].bootable);
    /* Fresh identity and the source's boot code. */
    CHECK(p->mbr_signature != 0 && p->mbr_signature != 0x12345678);
    CHECK(p->has_boot_code && p->boot_code[0] == 0xAB);

    /* The table serializes and reads back as planned. */
    ptable *t = NULL;
    CHECK(plan_to_ptable(p, &t, &err) == 0);
    CHECK_EQ_U64(t->nparts, 6);
    memdisk md = memdisk_new(p->disk_sectors, 512);
    CHECK(ptable_serialize(t, memdisk_write, &md, &err) == 0);
    blockdev *bd = NULL;
    ptable *back = NULL;
    CHECK(bd_open_mem(md.buf, md.len, 512, "planned", &bd, &err) == 0);
    CHECK(ptable_read(bd, &back, &err) == 0);
    if (back) {
        CHECK(back->type == PTABLE_MBR);
        CHECK_EQ_U64(back->mbr_signature, p->mbr_signature);
        for (size_t i = 0; i < 5; i++) {
            const ptable_part *b = ptable_find(back, p->parts[i].number);
            CHECK(b != NULL);
            if (b) {
                CHECK_EQ_U64(b->start, p->parts[i].start);
                CHECK_EQ_U64(b->size, p->parts[i].sectors);
                CHECK_EQ_U64(b->mbr_type, p->parts[i].mbr_type);
                CHECK(b->logical == p->parts[i].logical);
            }
        }
    }
    ptable_free(back);
    bd_close(bd);
    free(md.buf);
    plan_ptable_free(t);
    plan_free(p);
    story_free(&st);
}


static void test_story_gpt(void)
{
    struct story st;
    story_init(&st);
    plan_opts o = { .table = PTABLE_GPT, .size = 400 * MiB };
    plan *p = NULL;
    p2v_err err;
    CHECK(plan_build(st.src, 2, st.s, 5, &o, &p, &err) == 0);
    if (!p)
        return;
    CHECK_EQ_U64(p->nparts, 6); /* the MSR joins */
    CHECK(p->parts[0].kind == PLAN_PART_MSR);
    CHECK(guid_is_str(&p->parts[0].type_guid, GPT_TYPE_MSR));
    CHECK_EQ_U64(p->parts[0].sectors * 512, PLAN_MSR_BYTES);
    CHECK_EQ_U64(p->parts[0].start, 2048);
    CHECK_EQ_U64(p->first_usable, 34);
    /* MBR -> GPT types; WinRE attributes; the active flag as legacy BIOS bootable. */
    CHECK(guid_is_str(&p->parts[1].type_guid, GPT_TYPE_BASIC_DATA));
    CHECK(p->parts[1].attrs & 4);
    CHECK(guid_is_str(&p->parts[2].type_guid, GPT_TYPE_WINRE));
    CHECK_EQ_U64(p->parts[2].attrs, 0x8000000000000001ULL);
    CHECK(guid_is_str(&p->parts[4].type_guid, GPT_TYPE_LINUX_FS));
    /* GPT -> GPT keeps GUID and name. */
    CHECK(guid_equal(&p->parts[3].uuid, &st.d2->parts[0].uuid));
    CHECK_STR(p->parts[3].name, "F data");
    CHECK(!guid_equal(&p->disk_guid, &st.d2->disk_guid) && !guid_is_zero(&p->disk_guid));
    /* --size grows the last partition to the backup area. */
    CHECK_EQ_U64(p->disk_sectors, 400 * 2048);
    CHECK_EQ_U64(p->last_usable, 400 * 2048 - 34);
    CHECK_EQ_U64(p->parts[5].start + p->parts[5].sectors - 1, p->last_usable);
    CHECK(p->parts[5].sectors > 163840);
    plan_free(p);

    o.no_msr = true;
    o.size = 0;
    CHECK(plan_build(st.src, 2, st.s, 5, &o, &p, &err) == 0);
    if (p) {
        CHECK_EQ_U64(p->nparts, 5);
        /* Smallest disk: the last partition grows by less than one unit. */
        CHECK(p->parts[4].sectors >= 163840 && p->parts[4].sectors < 163840 + 2048);
        CHECK_EQ_U64(p->disk_sectors % 2048, 0);
        CHECK_EQ_U64(p->parts[4].start + p->parts[4].sectors + 33, p->disk_sectors);
    }
    plan_free(p);
    story_free(&st);
}

/* Partitions 1..n of d (its only source) planned as MBR, with partition
 * `active` the one flagged active on the source. */
static plan *plan_first_n(ptable *d, unsigned n, unsigned active)
{
    plan_source src[1] = { { NULL, d, "d" } };
    plan_sel s[8];
    plan_opts o = { .table = PTABLE_MBR };
    plan *p = NULL;
    p2v_err err;
    for (size_t i = 0; i < d->nparts; i++)
        d->parts[i].bootable = i + 1 == active;
    for (unsigned i = 0; i < n; i++)
        sel(&s[i], 0, i + 1, "");
    CHECK(plan_build(src, 1, s, n, &o, &p, &err) == 0);
    return p;
}

static void test_boot_stays_primary(void)
{
    ptable *d = mk_table(PTABLE_MBR, 512, 1 << 22);
    for (unsigned i = 0; i < 8; i++)
        add_part(d, i + 1, 2048 + i * 4096, 2048, 0x83, NULL);

    /* Five selected, the active one last: it stays primary, order kept. */
    plan *p = plan_first_n(d, 5, 5);
    if (p) {
        for (unsigned i = 0; i < 5; i++)
            CHECK_EQ_U64(p->parts[i].src->number, i + 1);
        CHECK(!p->parts[4].logical && p->parts[4].bootable);
        CHECK(p->parts[2].logical && p->parts[3].logical);
        CHECK(!p->parts[0].logical && !p->parts[1].logical);
        CHECK_EQ_U64(p->parts[4].number, 4);
        CHECK_EQ_U64(p->ext_number, 3);
        CHECK(p->notes.count >= 1);
    }
    plan_free(p);

    /* Eight selected, the active one sixth: the first five become logical. */
    p = plan_first_n(d, 8, 6);
    if (p) {
        for (unsigned i = 0; i < 8; i++)
            CHECK(p->parts[i].logical == (i < 5));
        CHECK(p->parts[5].bootable);
        CHECK_EQ_U64(p->ext_number, 1);
    }
    plan_free(p);

    /* Eight selected, the active one fourth: no run of five logicals leaves it
     * primary, so it moves to the front. */
    p = plan_first_n(d, 8, 4);
    if (p) {
        CHECK_EQ_U64(p->parts[0].src->number, 4);
        CHECK(p->parts[0].bootable && !p->parts[0].logical);
        CHECK_EQ_U64(p->parts[1].src->number, 1);
        CHECK(p->parts[3].logical && p->parts[7].logical);
        CHECK(p->notes.count >= 1);
        ptable *t = NULL;
        p2v_err err;
        CHECK(plan_to_ptable(p, &t, &err) == 0);
        CHECK_EQ_U64(t->nparts, 9);
        plan_ptable_free(t);
    }
    plan_free(p);

    /* Exactly four: all primary. */
    p = plan_first_n(d, 4, 4);
    if (p) {
        CHECK(!p->has_extended);
        for (unsigned i = 0; i < 4; i++)
            CHECK(!p->parts[i].logical);
    }
    plan_free(p);
    free_table(d);
}

static void test_refusals(void)
{
    ptable *d1 = story_disk1(), *d3 = mk_table(PTABLE_MBR, 4096, 1 << 20);
    add_part(d3, 1, 256, 256, 0x83, NULL);
    plan_source src[2] = { { NULL, d1, "disk1" }, { NULL, d3, "disk3" } };
    plan_sel s[3];
    plan_opts o = { 0 };
    plan *p = NULL;
    p2v_err err;

    /* disk1:1 and a second selection that is refused: the same partition
     * again, one that does not exist, the extended container, and one of a
     * disk with another sector size. */
    static const struct {
        size_t disk;
        unsigned number;
        size_t nsrc;
        int want;
        const char *needle;
    } second[] = {
        { 0, 1, 1, -EINVAL, "selected twice" },
        { 0, 9, 1, -ENOENT, "no partition 9" },
        { 0, 4, 1, -EINVAL, "extended partition" },
        { 1, 1, 2, -EINVAL, "sector" },
    };
    sel(&s[0], 0, 1, "");
    for (size_t i = 0; i < sizeof second / sizeof second[0]; i++) {
        sel(&s[1], second[i].disk, second[i].number, "");
        CHECK(plan_build(src, second[i].nsrc, s, 2, &o, &p, &err) == second[i].want);
        CHECK(strstr(err.msg, second[i].needle) != NULL);
    }
    o.size = 10 * MiB;
    CHECK(plan_build(src, 1, s, 1, &o, &p, &err) == -ERANGE);
    CHECK(strstr(err.msg, "too small") != NULL);
    o.size = 0;
    o.align = 1000;
    CHECK(plan_build(src, 1, s, 1, &o, &p, &err) == PLAN_EOPTION); /* an option value: a usage error */
    o.align = 0;
    CHECK(plan_build(src, 1, s, 0, &o, &p, &err) == -EINVAL);
    CHECK(p == NULL);
    free_table(d1);
    free_table(d3);
}

/* Partition `number` of d, its only source (called `name`), planned alone;
 * plan_build's result. */
static int plan_one(ptable *d, const char *name, unsigned number, const char *fstype,
                    const plan_opts *o, plan **p, p2v_err *err)
{
    plan_source src[1] = { { NULL, d, name } };
    plan_sel s[1];
    sel(&s[0], 0, number, fstype);
    *p = NULL;
    return plan_build(src, 1, s, 1, o, p, err);
}

static void test_mbr_limits(void)
{
    /* A 3 TiB GPT partition cannot go into an MBR. */
    ptable *d = mk_table(PTABLE_GPT, 512, 7ULL << 30);
    add_part(d, 1, 2048, 6ULL << 30, 0, GPT_TYPE_LINUX_FS);
    add_part(d, 2, (6ULL << 30) + 4096, 2048, 0, GPT_TYPE_LINUX_FS);
    plan_opts o = { .table = PTABLE_MBR };
    plan *p;
    p2v_err err;
    CHECK(plan_one(d, "big", 1, "ext4", &o, &p, &err) == -ERANGE);
    CHECK(strstr(err.msg, "2 TiB") != NULL);
    /* A small partition on a disk grown beyond 2 TiB: refused as well. */
    o.size = 3ULL << 40;
    CHECK(plan_one(d, "big", 2, "ext4", &o, &p, &err) == -ERANGE);
    /* The same as GPT is fine, and GPT -> MBR maps Linux to 0x83 otherwise. */
    o.table = PTABLE_GPT;
    CHECK(plan_one(d, "big", 2, "ext4", &o, &p, &err) == 0);
    plan_free(p);
    o.table = PTABLE_MBR;
    o.size = 0;
    CHECK(plan_one(d, "big", 2, "ext4", &o, &p, &err) == 0);
    if (p)
        CHECK_EQ_U64(p->parts[0].mbr_type, 0x83);
    plan_free(p);
    free_table(d);
}

static void test_4k_and_firmware(void)
{
    ptable *d = mk_table(PTABLE_GPT, 4096, 65536);
    add_part(d, 1, 256, 25600, 0, GPT_TYPE_ESP);
    add_part(d, 2, 25856, 25600, 0, GPT_TYPE_BASIC_DATA);
    plan_source src[1] = { { NULL, d, "4k" } };
    plan_sel s[2];
    sel_each(s, 2, (const char *const[]){ "vfat", "ntfs" });
    plan_opts o = { 0 };
    plan *p = NULL;
    p2v_err err;
    CHECK(plan_build(src, 1, s, 2, &o, &p, &err) == 0);
    if (p) {
        CHECK(p->table == PTABLE_GPT);
        CHECK(p->firmware == PLAN_FW_UEFI);
        CHECK_EQ_U64(p->sector_size, 4096);
        CHECK_EQ_U64(p->first_usable, 6);
        CHECK_EQ_U64(p->parts[0].start, 256);
        CHECK_EQ_U64(p->nparts, 2); /* GPT -> GPT: no MSR */
        CHECK_EQ_U64(p->disk_sectors - 6, p->last_usable);
    }
    plan_free(p);
    /* --boot bios: MBR; the ESP maps to 0xEF. */
    o.boot = PLAN_FW_BIOS;
    CHECK(plan_build(src, 1, s, 2, &o, &p, &err) == 0);
    if (p) {
        CHECK(p->table == PTABLE_MBR && !p->firmware_from_source);
        CHECK_EQ_U64(p->parts[0].mbr_type, 0xEF);
        CHECK_EQ_U64(p->parts[1].mbr_type, 0x07);
        /* No active partition on the source: the first becomes active. */
        CHECK(p->parts[0].bootable);
    }
    plan_free(p);
    free_table(d);
}

static void test_msr_to_mbr_refused(void)
{
    ptable *d = mk_table(PTABLE_GPT, 512, 1 << 20);
    add_part(d, 1, 2048, 32768, 0, GPT_TYPE_MSR);
    plan_opts o = { .table = PTABLE_MBR };
    plan *p;
    p2v_err err;
    CHECK(plan_one(d, "win", 1, "", &o, &p, &err) == -EINVAL);
    CHECK(strstr(err.msg, "Microsoft Reserved") != NULL);
    free_table(d);
}

/* Types with no equivalent in the target table, BIOS boot into MBR, and the
 * partitions an offline copy cannot use (LDM, Storage Spaces): refused with
 * the partition, its type and name. Known mappings still work. */
static void test_type_refusals(void)
{
    ptable *g = mk_table(PTABLE_GPT, 512, 1 << 20);
    add_part(g, 1, 2048, 2048, 0, GPT_TYPE_BIOS_BOOT);
    snprintf(add_part(g, 2, 4096, 8192, 0, "11111111-2222-3333-4444-555555555555")->name, 16,
             "oddball");
    add_part(g, 3, 12288, 8192, 0, GPT_TYPE_LDM_META);
    add_part(g, 4, 20480, 8192, 0, GPT_TYPE_LDM_DATA);
    add_part(g, 5, 28672, 8192, 0, GPT_TYPE_STORAGE_SPACES);
    add_part(g, 6, 36864, 8192, 0, GPT_TYPE_BASIC_DATA);
    ptable *m = mk_table(PTABLE_MBR, 512, 1 << 20);
    add_part(m, 1, 2048, 8192, 0x12, NULL);  /* Compaq diagnostics */
    add_part(m, 2, 10240, 8192, 0x42, NULL); /* LDM */
    add_part(m, 3, 18432, 8192, 0x0b, NULL); /* FAT32 */
    plan_source src[2] = { { NULL, g, "gdisk" }, { NULL, m, "mdisk" } };
    plan_sel s[1];
    plan_opts o = { .table = PTABLE_MBR };
    plan *p = NULL;
    p2v_err err;

    /* GPT -> MBR */
    sel(&s[0], 0, 1, "");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == -EINVAL);
    CHECK(strstr(err.msg, "gdisk:1 is a BIOS boot partition") != NULL);
    CHECK(strstr(err.msg, "leave it out") != NULL);
    sel(&s[0], 0, 2, "ext4");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == -EINVAL);
    CHECK(strstr(err.msg, "gdisk:2: GPT type 11111111-2222-3333-4444-555555555555") != NULL);
    CHECK(strstr(err.msg, "\"oddball\"") != NULL);
    CHECK(strstr(err.msg, "-t gpt") != NULL);
    /* Known: basic data with FAT -> 0x0c, with NTFS -> 0x07. */
    sel(&s[0], 0, 6, "vfat");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == 0);
    if (p)
        CHECK_EQ_U64(p->parts[0].mbr_type, 0x0c);
    plan_free(p);
    p = NULL;
    /* The same GPT partitions stay fine on GPT, except LDM / Storage Spaces. */
    o.table = PTABLE_GPT;
    sel(&s[0], 0, 2, "");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == 0);
    plan_free(p);
    p = NULL;
    for (unsigned n = 3; n <= 5; n++) {
        sel(&s[0], 0, n, "");
        for (int t = 0; t < 2; t++) {
            o.table = t ? PTABLE_MBR : PTABLE_GPT;
            CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == -EINVAL);
            CHECK(strstr(err.msg, n == 5 ? "Storage Spaces" : "dynamic disk (LDM)") != NULL);
            CHECK(strstr(err.msg, "outside") != NULL);
        }
    }
    /* MBR -> GPT */
    o.table = PTABLE_GPT;
    sel(&s[0], 1, 1, "vfat");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == -EINVAL);
    CHECK(strstr(err.msg, "mdisk:1: MBR type 0x12") != NULL);
    CHECK(strstr(err.msg, "-t mbr") != NULL);
    sel(&s[0], 1, 2, "");
    for (int t = 0; t < 2; t++) {
        o.table = t ? PTABLE_MBR : PTABLE_GPT;
        CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == -EINVAL);
        CHECK(strstr(err.msg, "mdisk:2 is a Windows dynamic disk (LDM)") != NULL);
    }
    o.table = PTABLE_GPT;
    sel(&s[0], 1, 3, "vfat");
    CHECK(plan_build(src, 2, s, 1, &o, &p, &err) == 0);
    if (p)
        CHECK(guid_is_str(&p->parts[0].type_guid, GPT_TYPE_BASIC_DATA));
    plan_free(p);
    free_table(g);
    free_table(m);
}

static bool notes_have(const plan *p, const char *what)
{
    for (size_t i = 0; i < p->notes.count; i++)
        if (strstr(p->notes.msgs[i], what))
            return true;
    return false;
}

/* The active partition of an MBR target: --active, the source's flag, else
 * (firmware bios) one with BIOS boot code, else the first; always a notice. */
static void test_active(void)
{
    ptable *d = mk_table(PTABLE_MBR, 512, 1 << 20);
    add_part(d, 1, 2048, 8192, 0x83, NULL);
    add_part(d, 2, 10240, 8192, 0x07, NULL);
    add_part(d, 3, 18432, 8192, 0x0c, NULL);
    plan_source src[1] = { { NULL, d, "d" } };
    plan_sel s[3];
    sel_each(s, 3, (const char *const[]){ "ext4", "ntfs", "vfat" });
    plan_opts o = { .boot = PLAN_FW_BIOS };
    plan *p = NULL;
    p2v_err err;

    /* None with boot code: the first, with a notice naming it and --active. */
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == 0);
    if (p) {
        CHECK(p->parts[0].bootable && !p->parts[1].bootable && !p->parts[2].bootable);
        CHECK(notes_have(p, "d:1 is made active for BIOS boot (the first selected"));
        CHECK(notes_have(p, "--active DISK:N"));
    }
    plan_free(p);
    /* The NTFS one has boot code: it is preferred. */
    s[1].bios_boot_code = true;
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == 0);
    if (p) {
        CHECK(!p->parts[0].bootable && p->parts[1].bootable && !p->parts[2].bootable);
        CHECK(notes_have(p, "d:2 is made active for BIOS boot (its boot sector has BIOS boot code)"));
    }
    plan_free(p);
    /* --active 3 wins over boot code, and over the source's flag (notice). */
    d->parts[0].bootable = true;
    o.active = 3;
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == 0);
    if (p) {
        CHECK(!p->parts[0].bootable && !p->parts[1].bootable && p->parts[2].bootable);
        CHECK(notes_have(p, "d:1 was active on its disk; d:3 is made active instead"));
    }
    plan_free(p);
    /* Without --active the source's flag wins over boot code. */
    o.active = 0;
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == 0);
    if (p)
        CHECK(p->parts[0].bootable && !p->parts[1].bootable);
    plan_free(p);
    /* --active out of range, or with a GPT target: refused. */
    o.active = 4;
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == -EINVAL);
    o.active = 1;
    o.table = PTABLE_GPT;
    CHECK(plan_build(src, 1, s, 3, &o, &p, &err) == -EINVAL);
    CHECK(strstr(err.msg, "MBR target") != NULL);
    free_table(d);
}

/* Logical partitions after partitions whose size is not a multiple of the
 * alignment: each EBR sits in the gap right after the partition before it,
 * so no partition is more than one alignment unit from the previous one. */
static void test_ebr_gap(void)
{
    ptable *d = mk_table(PTABLE_MBR, 512, 200000);
    add_part(d, 1, 2048, 1000, 0x83, NULL);   /* 500 KiB */
    add_part(d, 2, 4096, 3000, 0x83, NULL);
    add_part(d, 3, 8192, 4096, 0x83, NULL);   /* 2 MiB: ends aligned */
    add_part(d, 4, 14336, 1500, 0x83, NULL);
    add_part(d, 5, 18432, 2048, 0x83, NULL);
    plan_source src[1] = { { NULL, d, "d" } };
    plan_sel s[5];
    for (unsigned i = 0; i < 5; i++)
        sel(&s[i], 0, i + 1, "ext4");
    plan_opts o = { .table = PTABLE_MBR };
    plan *p = NULL;
    p2v_err err;
    CHECK(plan_build(src, 1, s, 5, &o, &p, &err) == 0);
    if (!p)
        return;
    CHECK(p->parts[3].logical && p->parts[4].logical);
    for (size_t i = 1; i < p->nparts; i++) {
        uint64_t prev_end = p->parts[i - 1].start + p->parts[i - 1].sectors;
        CHECK_EQ_U64(p->parts[i].start % 2048, 0);
        CHECK(p->parts[i].start > prev_end);
        CHECK(p->parts[i].start - prev_end <= 2048); /* at most one unit */
        if (p->parts[i].logical) {
            CHECK_EQ_U64(p->parts[i].ebr_lba, prev_end); /* the EBR right after it */
            CHECK(p->parts[i].ebr_lba < p->parts[i].start);
        }
    }
    CHECK_EQ_U64(p->ext_start, p->parts[3].ebr_lba);
    /* after a partition that ends aligned, as before: EBR one unit before */
    CHECK_EQ_U64(p->parts[3].ebr_lba, 12288);
    CHECK_EQ_U64(p->parts[3].start, 12288 + 2048);
    /* after one of 1500 sectors: EBR at 15836, partition at 16384 (before: 16384, 18432) */
    CHECK_EQ_U64(p->parts[4].ebr_lba, 14336 + 1500);
    CHECK_EQ_U64(p->parts[4].start, 16384);
    plan_free(p);
    free_table(d);
}

int main(void)
{
    test_story_mbr();
    test_story_gpt();
    test_boot_stays_primary();
    test_refusals();
    test_mbr_limits();
    test_4k_and_firmware();
    test_msr_to_mbr_refused();
    test_type_refusals();
    test_active();
    test_ebr_gap();
    return t_done("test_plan");
}
