/* GPT: layout, writing then reading back (512 and 4096-byte sectors), the
 * primary/backup choice, and crafted bad headers and entry arrays. */
#include <zlib.h>

#include "ptable/ptable_impl.h"
#include "ptable_testlib.h"
#include "t.h"
#include "util/endian.h"

#define DISK_SECTORS 131072u

static void test_layout(void)
{
    /* UEFI spec, table "GPT Header". */
    CHECK_EQ_U64(GPTH_REVISION, 8);
    CHECK_EQ_U64(GPTH_HEADER_SIZE, 12);
    CHECK_EQ_U64(GPTH_HEADER_CRC, 16);
    CHECK_EQ_U64(GPTH_MY_LBA, 24);
    CHECK_EQ_U64(GPTH_ALTERNATE_LBA, 32);
    CHECK_EQ_U64(GPTH_FIRST_USABLE, 40);
    CHECK_EQ_U64(GPTH_LAST_USABLE, 48);
    CHECK_EQ_U64(GPTH_DISK_GUID, 56);
    CHECK_EQ_U64(GPTH_ENTRIES_LBA, 72);
    CHECK_EQ_U64(GPTH_NUM_ENTRIES, 80);
    CHECK_EQ_U64(GPTH_ENTRY_SIZE, 84);
    CHECK_EQ_U64(GPTH_ENTRIES_CRC + 4, GPT_HEADER_SIZE);
    /* "GPT Partition Entry". */
    CHECK_EQ_U64(GPTE_UUID, 16);
    CHECK_EQ_U64(GPTE_FIRST_LBA, 32);
    CHECK_EQ_U64(GPTE_LAST_LBA, 40);
    CHECK_EQ_U64(GPTE_ATTRS, 48);
    CHECK_EQ_U64(GPTE_NAME + GPTE_NAME_BYTES, GPT_ENTRY_SIZE);
    /* CRC32 is zlib's: the check value of "123456789". */
    CHECK(ptable_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
}

/* Ten partitions, numbered 1-10, with names, attributes and GUIDs. */
static ptable sample_table(ptable_part parts[10], uint32_t ss, uint64_t sectors)
{
    static const char *const types[10] = {
        GPT_TYPE_ESP, GPT_TYPE_MSR, GPT_TYPE_BASIC_DATA, GPT_TYPE_WINRE, GPT_TYPE_LINUX_FS,
        GPT_TYPE_LINUX_SWAP, GPT_TYPE_LINUX_LVM, GPT_TYPE_LINUX_RAID, GPT_TYPE_BIOS_BOOT,
        GPT_TYPE_BASIC_DATA,
    };
    ptable t = { 0 };
    uint64_t mib = (1u << 20) / ss;
    memset(parts, 0, 10 * sizeof *parts);
    for (unsigned i = 0; i < 10; i++) {
        ptable_part *p = &parts[i];
        p->number = i + 1;
        p->start = mib * (1 + 2 * i);
        p->size = mib * 2 - (i == 3 ? 1 : 0);
        guid_parse(types[i], &p->type_guid);
        guid_generate(&p->uuid);
        snprintf(p->name, sizeof p->name, "part %u", i + 1);
    }
    parts[3].attrs = GPT_ATTR_REQUIRED | GPT_ATTR_MS_NO_LETTER;
    snprintf(parts[2].name, sizeof parts[2].name, "Données ünïcode 😀");
    t.type = PTABLE_GPT;
    t.sector_size = ss;
    t.disk_sectors = sectors;
    guid_generate(&t.disk_guid);
    t.parts = parts;
    t.nparts = 10;
    return t;
}

static memdisk sample_disk(uint32_t ss, uint64_t sectors, ptable_part parts[10])
{
    ptable t = sample_table(parts, ss, sectors);
    return memdisk_with_table(&t);
}

static void check_same(const ptable *t, const ptable_part *want, size_t n)
{
    CHECK_EQ_U64(t->nparts, n);
    for (size_t i = 0; i < n && i < t->nparts; i++) {
        const ptable_part *p = &t->parts[i];
        CHECK_EQ_U64(p->number, want[i].number);
        CHECK_EQ_U64(p->start, want[i].start);
        CHECK_EQ_U64(p->size, want[i].size);
        CHECK_EQ_U64(p->attrs, want[i].attrs);
        CHECK(guid_equal(&p->type_guid, &want[i].type_guid));
        CHECK(guid_equal(&p->uuid, &want[i].uuid));
        CHECK_STR(p->name, want[i].name);
        CHECK_EQ_U64(p->problems, 0);
    }
}

static void test_roundtrip(uint32_t ss)
{
    ptable_part want[10];
    memdisk d = sample_disk(ss, DISK_SECTORS, want);
    uint64_t array_sectors = 128 * 128 / ss;
    /* Protective MBR, primary header at LBA 1, entries at LBA 2; backup at the end. */
    CHECK(d.buf[446 + 4] == 0xee && get_le32(d.buf + 446 + 8) == 1);
    CHECK_EQ_U64(get_le32(d.buf + 446 + 12), DISK_SECTORS - 1);
    const uint8_t *h = d.buf + ss;
    CHECK(memcmp(h, "EFI PART", 8) == 0);
    CHECK_EQ_U64(get_le64(h + GPTH_ALTERNATE_LBA), DISK_SECTORS - 1);
    CHECK_EQ_U64(get_le64(h + GPTH_FIRST_USABLE), 2 + array_sectors);
    CHECK_EQ_U64(get_le64(h + GPTH_LAST_USABLE), DISK_SECTORS - 2 - array_sectors);
    const uint8_t *b = d.buf + (uint64_t)(DISK_SECTORS - 1) * ss;
    CHECK(memcmp(b, "EFI PART", 8) == 0);
    CHECK_EQ_U64(get_le64(b + GPTH_MY_LBA), DISK_SECTORS - 1);
    CHECK_EQ_U64(get_le64(b + GPTH_ALTERNATE_LBA), 1);
    CHECK_EQ_U64(get_le64(b + GPTH_ENTRIES_LBA), DISK_SECTORS - 1 - array_sectors);
    CHECK(get_le32(b + GPTH_ENTRIES_CRC) == get_le32(h + GPTH_ENTRIES_CRC));

    p2v_err err;
    ptable *t = memdisk_read(&d, d.len, ss, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK(t->type == PTABLE_GPT);
        CHECK(t->sector_size == ss);
        CHECK(!t->gpt_from_backup && !t->hybrid_mbr);
        CHECK_EQ_U64(t->warnings.count, 0);
        dump_warnings(t);
        check_same(t, want, 10);
        CHECK(t->parts[0].mbr_type == 0xef && t->parts[4].mbr_type == 0x83);
    }
    ptable_free(t);
    free(d.buf);
}

/* An image file of a 4Kn disk, read with no sector size given. */
static void test_detect_4k(void)
{
    ptable_part want[10];
    memdisk d = sample_disk(4096, DISK_SECTORS / 8, want);
    p2v_err err;
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->type == PTABLE_GPT && t->sector_size == 4096 && t->sector_size_detected);
    CHECK(t && warnings_contain(&t->notices, "GPT header found at byte 4096, not 512"));
    if (t)
        check_same(t, want, 10);
    ptable_free(t);
    /* Told 512 explicitly: a sector-size mismatch, nothing usable. */
    t = memdisk_read(&d, d.len, 512, &err);
    CHECK(t == NULL);
    CHECK(strstr(err.msg, "no usable GPT: primary header at LBA 1: no \"EFI PART\" signature") != NULL);
    CHECK(strstr(err.msg, "sector-size mismatch: a GPT header sits at byte 4096") != NULL);
    CHECK(strstr(err.msg, "(for an image file, --sector-size 4096 reads it that way, in p2v disks and p2v convert)") != NULL);
    CHECK(strstr(err.msg, "try --sector-size") == NULL);
    ptable_free(t);
    free(d.buf);
    /* The reverse: a 512-byte GPT on a 4096-byte device. */
    d = sample_disk(512, DISK_SECTORS, want);
    t = memdisk_read(&d, d.len, 4096, &err);
    CHECK(t == NULL && strstr(err.msg, "a GPT header sits at byte 512, so the table was written for 512-byte sectors"));
    ptable_free(t);
    free(d.buf);
}

static void fix_header_crc(uint8_t *h)
{
    put_le32(h + GPTH_HEADER_CRC, 0);
    put_le32(h + GPTH_HEADER_CRC, (uint32_t)crc32(0, h, GPT_HEADER_SIZE));
}

/* Damage the primary (or backup) header in one way, check what is said. */
static void expect_fallback(bool primary, void (*damage)(uint8_t *h), const char *why)
{
    ptable_part want[10];
    memdisk d = sample_disk(512, DISK_SECTORS, want);
    uint64_t lba = primary ? 1 : DISK_SECTORS - 1;
    damage(d.buf + lba * 512);
    p2v_err err;
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "  error: %s (expected fallback for: %s)\n", err.msg, why);
    } else {
        char msg[512], tail[128];
        if (primary) {
            snprintf(msg, sizeof msg, "mem.img: primary GPT header at LBA 1 is bad: %s", why);
            snprintf(tail, sizeof tail, "; using the backup at LBA %u", DISK_SECTORS - 1);
        } else {
            snprintf(msg, sizeof msg, "mem.img: backup GPT header at LBA %u is bad: %s", DISK_SECTORS - 1, why);
            snprintf(tail, sizeof tail, "; using the primary at LBA 1");
        }
        CHECK(warnings_contain(&t->warnings, msg));
        CHECK(warnings_contain(&t->warnings, tail));
        if (!warnings_contain(&t->warnings, msg)) {
            fprintf(stderr, "  expected: %s\n", msg);
            dump_warnings(t);
        }
        CHECK(t->gpt_from_backup == primary);
        check_same(t, want, 10);
    }
    ptable_free(t);
    free(d.buf);
}

static void dmg_crc(uint8_t *h) { h[GPTH_DISK_GUID] ^= 1; }
static void dmg_sig(uint8_t *h) { h[0] = 'X'; }
static void dmg_rev(uint8_t *h) { put_le32(h + GPTH_REVISION, 0x00020000); fix_header_crc(h); }
static void dmg_hsize(uint8_t *h) { put_le32(h + GPTH_HEADER_SIZE, 60); fix_header_crc(h); }
static void dmg_mylba(uint8_t *h) { put_le64(h + GPTH_MY_LBA, 7); fix_header_crc(h); }
static void dmg_altlba(uint8_t *h) { put_le64(h + GPTH_ALTERNATE_LBA, 5000); fix_header_crc(h); }
static void dmg_esize(uint8_t *h) { put_le32(h + GPTH_ENTRY_SIZE, 100); fix_header_crc(h); }
static void dmg_usable(uint8_t *h)
{
    put_le64(h + GPTH_FIRST_USABLE, 5000);
    put_le64(h + GPTH_LAST_USABLE, 4000);
    fix_header_crc(h);
}
static void dmg_entries_crc(uint8_t *h) { put_le32(h + GPTH_ENTRIES_CRC, 0x12345678); fix_header_crc(h); }
static void dmg_huge_array(uint8_t *h) { put_le32(h + GPTH_NUM_ENTRIES, 0x40000000); fix_header_crc(h); }

static void test_fallbacks(void)
{
    /* a damaged primary header: the backup is used */
    static const struct {
        void (*damage)(uint8_t *h);
        const char *why;
    } primary[] = {
        { dmg_crc, "bad header CRC (stored 0x" },
        { dmg_sig, "no \"EFI PART\" signature" },
        { dmg_rev, "revision 0x00020000, expected 0x00010000" },
        { dmg_hsize, "header size 60, must be 92 to 512" },
        { dmg_mylba, "my_lba is 7, expected 1" },
        { dmg_altlba, "alternate_lba 5000 lies inside the usable area LBA 34-131038" },
        { dmg_esize, "entry size 100, must be 128 times a power of two" },
        { dmg_usable, "first usable LBA 5000 is after last usable LBA 4000" },
        { dmg_entries_crc, "bad entry array CRC (stored 0x12345678, computed 0x" },
        { dmg_huge_array, "1073741824 entries of 128 bytes" },
    };
    for (size_t i = 0; i < sizeof primary / sizeof primary[0]; i++)
        expect_fallback(true, primary[i].damage, primary[i].why);
    /* the same in the backup header: the primary is used */
    expect_fallback(false, dmg_crc, "bad header CRC (stored 0x");
    expect_fallback(false, dmg_mylba, "my_lba is 7, expected 131071");
    expect_fallback(false, dmg_entries_crc, "bad entry array CRC (stored 0x12345678, computed 0x");
}

static void test_entry_array_damaged(void)
{
    ptable_part want[10];
    memdisk d = sample_disk(512, DISK_SECTORS, want);
    d.buf[2 * 512 + 5] ^= 0xff; /* a byte of entry 1 in the primary array */
    p2v_err err;
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->gpt_from_backup);
    CHECK(t && warnings_contain(&t->warnings, "primary GPT header at LBA 1 is bad: bad entry array CRC"));
    if (t)
        check_same(t, want, 10);
    ptable_free(t);
    free(d.buf);
}

static void test_both_bad(void)
{
    ptable_part want[10];
    memdisk d = sample_disk(512, DISK_SECTORS, want);
    d.buf[512 + GPTH_DISK_GUID] ^= 1;
    d.buf[(uint64_t)(DISK_SECTORS - 1) * 512 + GPTH_DISK_GUID] ^= 1;
    p2v_err err;
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t == NULL);
    CHECK(strstr(err.msg, "mem.img: no usable GPT: primary header at LBA 1: bad header CRC") == err.msg);
    CHECK(strstr(err.msg, "; backup header at LBA 131071: bad header CRC") != NULL);
    ptable_free(t);
    free(d.buf);
}

static void test_truncated(void)
{
    ptable_part want[10];
    memdisk d = sample_disk(512, DISK_SECTORS, want);
    p2v_err err;
    /* Cut inside partition 10 (LBA 38912-43007). */
    ptable *t = memdisk_read(&d, 40000ull * 512, 0, &err);
    CHECK(t != NULL);
    CHECK(t && warnings_contain(&t->warnings, "the GPT places its backup header at LBA 131071 but the disk has only 40000 sectors: the image looks truncated"));
    CHECK(t && warnings_contain(&t->warnings, "partition 10 (LBA 38912-43007) extends past the end of the disk (40000 sectors)"));
    CHECK(t && t->nparts == 10 && ptable_find(t, 9)->problems == 0 &&
          (ptable_find(t, 10)->problems & PTABLE_PROBLEM_PAST_END));
    ptable_free(t);
    /* Cut before the first partition: nothing usable. */
    t = memdisk_read(&d, 1000ull * 512, 0, &err);
    CHECK(t == NULL && strstr(err.msg, "no usable partition remains"));
    ptable_free(t);
    free(d.buf);
}

static void test_overlap_and_hybrid(void)
{
    ptable_part parts[10];
    ptable w = sample_table(parts, 512, DISK_SECTORS);
    parts[4].start = parts[3].start + 10; /* 5 starts inside 4 */
    memdisk d = memdisk_new(DISK_SECTORS, 512);
    p2v_err err;
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == 0);
    /* Hybrid MBR: an NTFS entry next to the 0xEE one. */
    mbr_entry_put(d.buf + 446 + 16, 0x80, 0x07, parts[2].start, parts[2].size);
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->type == PTABLE_GPT && t->hybrid_mbr);
    CHECK(t && warnings_contain(&t->notices, "hybrid MBR: the MBR also lists 1 partition; the GPT is used"));
    CHECK(t && warnings_contain(&t->warnings, "partitions 4 (LBA 14336-18430) and 5 (LBA 14346-18441) overlap"));
    CHECK(t && (ptable_find(t, 4)->problems & PTABLE_PROBLEM_OVERLAP) &&
          (ptable_find(t, 5)->problems & PTABLE_PROBLEM_OVERLAP) && ptable_find(t, 6)->problems == 0);
    ptable_free(t);
    /* Both GPT headers broken: the hybrid MBR's partitions remain. */
    d.buf[512 + GPTH_DISK_GUID] ^= 1;
    d.buf[(uint64_t)(DISK_SECTORS - 1) * 512 + GPTH_DISK_GUID] ^= 1;
    t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->type == PTABLE_MBR && t->nparts == 1);
    CHECK(t && warnings_contain(&t->warnings, "no usable GPT: primary header at LBA 1: bad header CRC"));
    CHECK(t && warnings_contain(&t->warnings, "; using the partitions of the hybrid MBR instead"));
    CHECK(t && ptable_find(t, 2) && ptable_find(t, 2)->start == parts[2].start && ptable_find(t, 2)->mbr_type == 0x07);
    ptable_free(t);
    free(d.buf);
}

static void test_usable_range(void)
{
    uint64_t f, l;
    CHECK(ptable_gpt_usable_range(512, 131072, 0, &f, &l) == 0 && f == 34 && l == 131072 - 34);
    CHECK(ptable_gpt_usable_range(4096, 16384, 128, &f, &l) == 0 && f == 6 && l == 16384 - 6);
    CHECK(ptable_gpt_usable_range(512, 131072, 130, &f, &l) == 0 && f == 35 && l == 131072 - 35);
    CHECK(ptable_gpt_usable_range(512, 68, 0, &f, &l) == -EINVAL);
    CHECK(ptable_gpt_usable_range(1000, 131072, 0, &f, &l) == -EINVAL);
}

static void test_serialize_errors(void)
{
    ptable_part parts[10];
    ptable w = sample_table(parts, 512, DISK_SECTORS);
    memdisk d = memdisk_new(DISK_SECTORS, 512);
    p2v_err err;
    parts[9].start = 20; /* inside the primary entry array */
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == -EINVAL);
    CHECK(strstr(err.msg, "partition 10 (start 20, 4096 sectors) is outside the usable area LBA 34-131038") != NULL);
    w = sample_table(parts, 512, DISK_SECTORS);
    parts[9].number = 9;
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == -EINVAL && strstr(err.msg, "two partitions numbered 9"));
    w = sample_table(parts, 512, 60);
    w.nparts = 0;
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == -EINVAL);
    /* A partition numbered 200 grows the array to 224 entries (whole sectors of 4 entries). */
    w = sample_table(parts, 512, DISK_SECTORS);
    parts[9].number = 200;
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == 0);
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->gpt_entries == 200 && ptable_find(t, 200) && t->first_usable_lba == 2 + 50);
    ptable_free(t);
    free(d.buf);
}

/* A hostile table with many bad entries: at most 32 warnings, then a count. */
static void test_warning_cap(void)
{
    ptable_part parts[60];
    ptable w = { .type = PTABLE_GPT, .sector_size = 512, .disk_sectors = DISK_SECTORS };
    memset(parts, 0, sizeof parts);
    for (unsigned i = 0; i < 60; i++) {
        parts[i].number = i + 1;
        parts[i].start = i == 0 ? 2048 : 4096; /* 2-60 all overlap */
        parts[i].size = 1024;
        guid_parse(GPT_TYPE_LINUX_FS, &parts[i].type_guid);
    }
    w.parts = parts;
    w.nparts = 60;
    memdisk d = memdisk_new(DISK_SECTORS, 512);
    p2v_err err;
    CHECK(ptable_serialize(&w, memdisk_write, &d, &err) == 0);
    ptable *t = memdisk_read(&d, d.len, 0, &err);
    CHECK(t && t->warnings.count == PTABLE_MAX_WARNINGS + 1);
    CHECK(t && warnings_contain(&t->warnings, "mem.img: 26 more warnings not shown"));
    CHECK(t && ptable_find(t, 1)->problems == 0 && (ptable_find(t, 60)->problems & PTABLE_PROBLEM_OVERLAP));
    ptable_free(t);
    free(d.buf);
}

int main(void)
{
    test_layout();
    test_roundtrip(512);
    test_roundtrip(4096);
    test_detect_4k();
    test_fallbacks();
    test_entry_array_damaged();
    test_both_bad();
    test_truncated();
    test_overlap_and_hybrid();
    test_usable_range();
    test_serialize_errors();
    test_warning_cap();
    return t_done("test_gpt");
}
