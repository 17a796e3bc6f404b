/* Unit tests for the hidden-sectors fixups (NTFS, FAT12/16/32) and for the
 * copy engine that lays them over the copied data. */
#include <errno.h>
#include <stdlib.h>

#include "copy/copy.h"
#include "fs/relocate.h"
#include "t.h"
#include "util/endian.h"

struct membuf {
    uint8_t *b;
    uint64_t n;
};

static int memw(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *e)
{
    struct membuf *t = ctx;
    if (off + len > t->n)
        return p2v_errf(e, -EINVAL, "past the end");
    memcpy(t->b + off, buf, len);
    return 0;
}

/* A partition image of `sectors` 512-byte sectors holding an NTFS boot sector
 * (volume one sector shorter than the partition) and its backup. */
static uint8_t *mk_ntfs(uint64_t sectors, uint32_t hidden)
{
    uint8_t *p = calloc(sectors, 512);
    uint8_t *b = p;
    b[0] = 0xEB; b[1] = 0x52; b[2] = 0x90;
    memcpy(b + 3, "NTFS    ", 8);
    put_le16(b + 0x0B, 512);
    b[0x0D] = 8;
    put_le32(b + 0x1C, hidden);
    put_le64(b + 0x28, sectors - 1);
    b[510] = 0x55; b[511] = 0xAA;
    memcpy(p + (sectors - 1) * 512, b, 512);
    return p;
}

static uint8_t *mk_fat(uint64_t sectors, uint32_t hidden, bool fat32)
{
    uint8_t *p = calloc(sectors, 512);
    uint8_t *b = p;
    b[0] = 0xEB; b[1] = 0x58; b[2] = 0x90;
    memcpy(b + 3, "mkfs.fat", 8);
    put_le16(b + 0x0B, 512);
    b[0x0D] = fat32 ? 1 : 4;
    put_le16(b + 0x0E, fat32 ? 32 : 4);
    b[0x10] = 2;
    put_le16(b + 0x11, fat32 ? 0 : 512);
    if (sectors < 65536)
        put_le16(b + 0x13, (uint16_t)sectors);
    else
        put_le32(b + 0x20, (uint32_t)sectors);
    if (fat32) {
        put_le32(b + 0x24, 600);
        put_le32(b + 0x2C, 2);
        put_le16(b + 0x30, 1);
        put_le16(b + 0x32, 6);
        memcpy(b + 0x52, "FAT32   ", 8);
    } else {
        put_le16(b + 0x16, 32);
        memcpy(b + 0x36, "FAT16   ", 8);
    }
    put_le32(b + 0x1C, hidden);
    b[510] = 0x55; b[511] = 0xAA;
    if (fat32)
        memcpy(p + 6 * 512, b, 512);
    return p;
}

static void test_probe(void)
{
    reloc_info i;
    uint8_t *n = mk_ntfs(100, 63);
    reloc_probe(n, 512, &i);
    CHECK(i.fs == RELOC_FS_NTFS);
    CHECK_EQ_U64(i.hidden_sectors, 63);
    CHECK_EQ_U64(i.backup_sector, 99);
    free(n);
    uint8_t *f = mk_fat(80000, 2048, true);
    reloc_probe(f, 512, &i);
    CHECK(i.fs == RELOC_FS_FAT32);
    CHECK_EQ_U64(i.backup_sector, 6);
    free(f);
    f = mk_fat(40000, 2048, false);
    reloc_probe(f, 512, &i);
    CHECK(i.fs == RELOC_FS_FAT16);
    CHECK_EQ_U64(i.backup_sector, 0);
    free(f);
    f = mk_fat(4000, 1, false);
    reloc_probe(f, 512, &i);
    CHECK(i.fs == RELOC_FS_FAT12);
    /* Garbage, exFAT and a short buffer are nothing. */
    memcpy(f + 3, "EXFAT   ", 8);
    reloc_probe(f, 512, &i);
    CHECK(i.fs == RELOC_FS_NONE);
    reloc_probe(f, 100, &i);
    CHECK(i.fs == RELOC_FS_NONE);
    memset(f, 0x5A, 512);
    reloc_probe(f, 512, &i);
    CHECK(i.fs == RELOC_FS_NONE);
    free(f);
}

static void test_build_ntfs(void)
{
    /* Disk: 1 MiB of other data, then an NTFS partition of 1000 sectors at 2048. */
    uint64_t psec = 1000, pstart = 2048;
    size_t dlen = (size_t)(pstart + psec) * 512;
    uint8_t *disk = calloc(1, dlen), *part = mk_ntfs(psec, (uint32_t)pstart);
    memcpy(disk + pstart * 512, part, psec * 512);
    blockdev *bd = NULL;
    p2v_err err;
    reloc_patches rp;
    CHECK(bd_open_mem(disk, dlen, 512, "src", &bd, &err) == 0);

    /* Same size: primary and backup patched, no extra copy. */
    CHECK(reloc_build(bd, pstart * 512, psec * 512, 4096, psec * 512, 512, "src:1", &rp, &err) == 0);
    CHECK(rp.fs == RELOC_FS_NTFS);
    CHECK_EQ_U64(rp.old_hidden, 2048);
    CHECK_EQ_U64(rp.new_hidden, 4096);
    CHECK_EQ_U64(rp.count, 2);
    if (rp.count == 2) {
        CHECK_EQ_U64(rp.v[0].offset, 0);
        CHECK_EQ_U64(get_le32(rp.v[0].data + 0x1C), 4096);
        CHECK_EQ_U64(rp.v[1].offset, (psec - 1) * 512);
        CHECK_EQ_U64(get_le32(rp.v[1].data + 0x1C), 4096);
        /* Nothing else of the boot sector changed. */
        CHECK(memcmp(rp.v[0].data, part, 0x1C) == 0);
        CHECK(memcmp(rp.v[0].data + 0x20, part + 0x20, 512 - 0x20) == 0);
    }
    reloc_patches_free(&rp);

    /* Grown partition: a copy of the boot sector in its last sector too. */
    CHECK(reloc_build(bd, pstart * 512, psec * 512, 4096, (psec + 2048) * 512, 512, "src:1", &rp,
                      &err) == 0);
    CHECK_EQ_U64(rp.count, 3);
    if (rp.count == 3) {
        CHECK_EQ_U64(rp.v[2].offset, (psec + 2048 - 1) * 512);
        CHECK(memcmp(rp.v[2].data, rp.v[0].data, 512) == 0);
    }

    /* The copy engine lays the patches over the data: copy into a target. */
    uint64_t tlen = (4096 + psec + 2048) * 512;
    uint8_t *target = calloc(1, tlen);
    copy_range r = { .src = bd, .src_offset = pstart * 512, .src_len = psec * 512,
                     .dst_offset = 4096 * 512, .dst_len = (psec + 2048) * 512, .patches = &rp,
                     .what = "src:1" };
    struct membuf tgt = { target, tlen };
    copy_opts co = { .write = memw, .write_ctx = &tgt, .granularity = 4096, .block_size = 65536 };
    copy_stats st;
    CHECK(copy_run(&r, 1, &co, &st, &err) == 0);
    CHECK_EQ_U64(get_le32(target + 4096 * 512 + 0x1C), 4096);
    CHECK_EQ_U64(get_le32(target + (4096 + psec - 1) * 512 + 0x1C), 4096);
    CHECK_EQ_U64(get_le32(target + (4096 + psec + 2048 - 1) * 512 + 0x1C), 4096);
    CHECK_EQ_U64(st.read, psec * 512);
    /* Zeros are not written: the data is two sectors, the last one far away. */
    CHECK(st.written <= 3 * 4096);
    /* The source is untouched and verify agrees with what was written. */
    CHECK_EQ_U64(get_le32(disk + pstart * 512 + 0x1C), 2048);
    blockdev *tb = NULL;
    uint64_t checked = 0;
    CHECK(bd_open_mem(target, tlen, 512, "target", &tb, &err) == 0);
    CHECK(copy_verify(&r, 1, tb, &co, &checked, &err) == 0);
    CHECK(checked > 0);
    target[4096 * 512 + 700] ^= 1;
    CHECK(copy_verify(&r, 1, tb, &co, &checked, &err) == -EIO);
    CHECK(strstr(err.msg, "differs") != NULL);
    bd_close(tb);
    free(target);
    reloc_patches_free(&rp);

    /* Beyond 32 bits: left unpatched and said so. */
    CHECK(reloc_build(bd, pstart * 512, psec * 512, 1ULL << 33, psec * 512, 512, "src:1", &rp,
                      &err) == 0);
    CHECK(rp.hidden_too_big && rp.count == 0);
    reloc_patches_free(&rp);

    /* A broken backup is left alone. */
    memset(disk + (pstart + psec - 1) * 512, 0, 512);
    CHECK(reloc_build(bd, pstart * 512, psec * 512, 4096, psec * 512, 512, "src:1", &rp, &err) == 0);
    CHECK(rp.backup_bad && rp.count == 1);
    reloc_patches_free(&rp);
    bd_close(bd);
    free(part);
    free(disk);
}


static void test_build_fat(void)
{
    uint64_t psec = 80000;
    uint8_t *part = mk_fat(psec, 63, true);
    blockdev *bd = NULL;
    p2v_err err;
    reloc_patches rp;
    CHECK(bd_open_mem(part, psec * 512, 512, "fat", &bd, &err) == 0);
    CHECK(reloc_build(bd, 0, psec * 512, 2048, psec * 512, 512, "fat:1", &rp, &err) == 0);
    CHECK(rp.fs == RELOC_FS_FAT32);
    CHECK_EQ_U64(rp.count, 2);
    if (rp.count == 2) {
        CHECK_EQ_U64(rp.v[1].offset, 6 * 512);
        CHECK_EQ_U64(get_le32(rp.v[1].data + 0x1C), 2048);
    }
    reloc_patches_free(&rp);
    bd_close(bd);
    free(part);

    part = mk_fat(40000, 63, false);
    CHECK(bd_open_mem(part, 40000 * 512, 512, "fat16", &bd, &err) == 0);
    CHECK(reloc_build(bd, 0, 40000 * 512, 2048, 40000 * 512, 512, "fat16:1", &rp, &err) == 0);
    CHECK(rp.fs == RELOC_FS_FAT16);
    CHECK_EQ_U64(rp.count, 1);
    reloc_patches_free(&rp);
    bd_close(bd);
    free(part);

    /* A partition without a known filesystem gets no patches. */
    uint8_t *blank = calloc(64, 512);
    CHECK(bd_open_mem(blank, 64 * 512, 512, "blank", &bd, &err) == 0);
    CHECK(reloc_build(bd, 0, 64 * 512, 2048, 64 * 512, 512, "blank:1", &rp, &err) == 0);
    CHECK(rp.fs == RELOC_FS_NONE && rp.count == 0);
    /* A read past the source's end is an error naming the partition. */
    CHECK(reloc_build(bd, 63 * 512, 64 * 512, 2048, 64 * 512, 512, "blank:1", &rp, &err) < 0);
    CHECK(strstr(err.msg, "blank:1") != NULL);
    bd_close(bd);
    free(blank);
}

static void test_copy_used_extents(void)
{
    /* 1 MiB source of non-zero bytes; only two extents are "used". */
    size_t n = 1 << 20;
    uint8_t *src = malloc(n), *dst = calloc(1, 3 << 20);
    memset(src, 0x11, n);
    memset(src + 200000, 0, 100000); /* zeros inside a used extent: not written */
    blockdev *bd = NULL;
    p2v_err err;
    CHECK(bd_open_mem(src, n, 512, "s", &bd, &err) == 0);
    extent_list used = { 0 };
    extent_list_add(&used, 0, 5000);
    extent_list_add(&used, 100000, 300000);
    copy_range r = { .src = bd, .src_offset = 0, .src_len = n, .dst_offset = 1 << 20,
                     .dst_len = n, .used = &used, .what = "s:1" };
    extent_list ex;
    CHECK(copy_range_extents(&r, 4096, &ex) == 0);
    CHECK_EQ_U64(ex.count, 2);
    CHECK_EQ_U64(ex.v[0].start, 0);
    CHECK_EQ_U64(ex.v[0].len, 8192);      /* rounded out to 4 KiB */
    CHECK_EQ_U64(ex.v[1].start, 98304);
    extent_list_free(&ex);
    struct membuf tgt = { dst, 3 << 20 };
    copy_opts co = { .write = memw, .write_ctx = &tgt, .granularity = 4096 };
    copy_stats st;
    CHECK(copy_run(&r, 1, &co, &st, &err) == 0);
    CHECK(dst[(1 << 20) + 10] == 0x11);
    CHECK(dst[(1 << 20) + 50000] == 0);     /* unused: not copied */
    CHECK(dst[(1 << 20) + 150000] == 0x11);
    CHECK(st.written < st.read);
    /* Cancellation stops the copy with a clear error. */
    volatile sig_atomic_t cancel = 1;
    co.cancel = &cancel;
    CHECK(copy_run(&r, 1, &co, &st, &err) == -EINTR);
    CHECK(strstr(err.msg, "interrupted") != NULL);
    extent_list_free(&used);
    bd_close(bd);
    free(src);
    free(dst);
}

int main(void)
{
    test_probe();
    test_build_ntfs();
    test_build_fat();
    test_copy_used_extents();
    return t_done("test_relocate");
}
