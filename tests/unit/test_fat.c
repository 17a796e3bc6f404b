/* p2v's own FAT parser and the map builders on volumes built by hand in
 * memory: geometry and type by cluster count, entry packing, the exact map of
 * a small FAT12 volume, and the cases that must give "copy everything". */
#include <errno.h>
#include <stdlib.h>

#include "bpb_testlib.h"
#include "fs/fat.h"
#include "fs/fsmap.h"
#include "t.h"
#include "util/endian.h"

/* A boot sector: bps 512, given spc, reserved, FATs, root entries, sectors, FAT size. */
static void boot(uint8_t *b, uint8_t spc, uint16_t rsvd, uint8_t nfats, uint16_t root,
                 uint32_t total, uint32_t fatsz, int fat32)
{
    bpb_sector_start(b, 0x3C, "P2VTEST ", spc);
    put_le16(b + 14, rsvd);
    b[16] = nfats;
    put_le16(b + 17, root);
    if (total < 65536 && !fat32)
        put_le16(b + 19, (uint16_t)total);
    else
        put_le32(b + 32, total);
    b[21] = 0xF8;
    if (fat32) {
        put_le32(b + 36, fatsz);
        put_le32(b + 44, 2);
        put_le16(b + 48, 1);
        put_le16(b + 50, 6);
    } else {
        put_le16(b + 22, (uint16_t)fatsz);
    }
}

static void test_geometry(void)
{
    uint8_t b[512];
    fat_geom g;
    char why[200];

    /* FAT12/16 boundary: 4084 clusters is FAT12, 4085 is FAT16. Data starts
     * at 1 + 2*12 + 32 (512 root entries) = 57. */
    boot(b, 1, 1, 2, 512, 57 + 4084, 12, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == 0);
    CHECK(g.bits == 12 && g.cluster_count == 4084 && g.first_data_sector == 57);
    boot(b, 1, 1, 2, 512, 57 + 4085, 32, 0);
    /* FAT of 32 sectors: data at 1 + 64 + 32 = 97. */
    boot(b, 1, 1, 2, 512, 97 + 4085, 32, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == 0);
    CHECK(g.bits == 16 && g.cluster_count == 4085);
    /* FAT16/32 boundary: 65524 vs 65525 clusters. */
    boot(b, 1, 1, 2, 512, 1 + 2 * 256 + 32 + 65524, 256, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == 0);
    CHECK(g.bits == 16 && g.cluster_count == 65524);
    boot(b, 1, 32, 2, 0, 32 + 2 * 520 + 65525, 520, 1);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == 0);
    CHECK(g.bits == 32 && g.cluster_count == 65525 && g.root_cluster == 2);
    CHECK(g.fsinfo_sector == 1 && g.backup_boot_sector == 6);

    /* What must be refused, each with a reason. */
    boot(b, 1, 1, 2, 512, 57 + 4084, 12, 0);
    b[510] = 0;
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "0x55AA"));
    boot(b, 3, 1, 2, 512, 57 + 4084, 12, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "power of two"));
    boot(b, 1, 1, 2, 512, 57 + 4084, 12, 0);
    put_le16(b + 11, 768);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL);
    boot(b, 1, 0, 2, 512, 57 + 4084, 12, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "reserved"));
    boot(b, 1, 1, 0, 512, 57 + 4084, 12, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL);
    /* A FAT too small for its clusters. */
    boot(b, 1, 1, 2, 512, 57 + 4084, 11, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "too small"));
    /* Metadata larger than the volume. */
    boot(b, 1, 1, 2, 512, 40, 12, 0);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL);
    /* FAT32 by count with a root directory area. */
    boot(b, 1, 32, 2, 0, 32 + 2 * 520 + 32 + 65525, 520, 1);
    put_le16(b + 17, 512);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "FAT12/16 fields"));
    /* FAT16 by count without a 16-bit FAT size. */
    boot(b, 1, 32, 2, 0, 32 + 2 * 520 + 32 + 60000, 520, 1);
    put_le16(b + 17, 512);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "16-bit FAT size"));
    /* FAT32 root cluster outside the volume. */
    boot(b, 1, 32, 2, 0, 32 + 2 * 520 + 65525, 520, 1);
    put_le32(b + 44, 70000);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL && strstr(why, "root"));
    /* 16- and 32-bit sector counts that disagree. */
    boot(b, 1, 1, 2, 512, 57 + 4084, 12, 0);
    put_le32(b + 32, 9999);
    CHECK(fat_parse_boot(b, 512, &g, why, sizeof why) == -EINVAL);
    CHECK(fat_parse_boot(b, 100, &g, why, sizeof why) == -EINVAL);
}

static void test_entries(void)
{
    fat_geom g12 = { .bits = 12 }, g16 = { .bits = 16 }, g32 = { .bits = 32 };
    /* FAT12: entries 0..3 = 0xFF8, 0xFFF, 0x003, 0xABC packed in 6 bytes. */
    uint8_t f12[6] = { 0xF8, 0xFF, 0xFF, 0x03, 0xC0, 0xAB };
    CHECK_EQ_U64(fat_entry(&g12, f12, 6, 0), 0xFF8);
    CHECK_EQ_U64(fat_entry(&g12, f12, 6, 1), 0xFFF);
    CHECK_EQ_U64(fat_entry(&g12, f12, 6, 2), 0x003);
    CHECK_EQ_U64(fat_entry(&g12, f12, 6, 3), 0xABC);
    uint8_t f16[4] = { 0x34, 0x12, 0xF7, 0xFF };
    CHECK_EQ_U64(fat_entry(&g16, f16, 4, 0), 0x1234);
    CHECK_EQ_U64(fat_entry(&g16, f16, 4, 1), 0xFFF7);
    /* FAT32: the top four bits are reserved and ignored. */
    uint8_t f32[4] = { 0x05, 0x00, 0x00, 0xF0 };
    CHECK_EQ_U64(fat_entry(&g32, f32, 4, 0), 5);
}

/* A 64-sector FAT12 volume with 1-sector clusters: reserved 1, 2 FATs of 1
 * sector, 16 root entries (1 sector), data from sector 4: clusters 2..61. */
#define VOL_SECTORS 64
static uint8_t vol[VOL_SECTORS * 512];

static void set12(uint8_t *fat, unsigned n, unsigned v)
{
    unsigned o = n + n / 2;
    if (n & 1) {
        fat[o] = (uint8_t)((fat[o] & 0x0F) | ((v << 4) & 0xF0));
        fat[o + 1] = (uint8_t)(v >> 4);
    } else {
        fat[o] = (uint8_t)v;
        fat[o + 1] = (uint8_t)((fat[o + 1] & 0xF0) | ((v >> 8) & 0x0F));
    }
}

static int map_mem(const uint8_t *buf, size_t len, fsmap *m)
{
    blockdev *bd = NULL;
    p2v_err err;
    int r = bd_open_mem(buf, len, 512, "mem", &bd, &err);
    if (r < 0)
        return r;
    r = fsmap_build(bd, 0, len, NULL, m, &err);
    bd_close(bd);
    return r;
}

static void build_fat12(void)
{
    memset(vol, 0xAA, sizeof vol); /* free space full of old data */
    boot(vol, 1, 1, 2, 16, VOL_SECTORS, 1, 0);
    for (int f = 0; f < 2; f++) {
        uint8_t *fat = vol + 512 * (1 + f);
        memset(fat, 0, 512);
        set12(fat, 0, 0xFF8);
        set12(fat, 1, 0xFFF);
        /* A file in clusters 2-4, one in 10 -> 11, a bad cluster 20, the last cluster in use. */
        set12(fat, 2, 3);
        set12(fat, 3, 4);
        set12(fat, 4, 0xFFF);
        set12(fat, 10, 11);
        set12(fat, 11, 0xFF8);
        set12(fat, 20, 0xFF7);
        set12(fat, 61, 0xFFF);
    }
}

static void test_fat12_map(void)
{
    fsmap m;
    build_fat12();
    CHECK(map_mem(vol, sizeof vol, &m) == 0);
    CHECK_STR(m.fstype, "vfat");
    CHECK(!m.full);
    /* Sectors 0-3 (boot, 2 FATs, root), clusters 2-4 = sectors 4-6, clusters
     * 10-11 = sectors 12-13, cluster 61 = sector 63. */
    CHECK_EQ_U64(m.used.count, 3);
    if (m.used.count == 3) {
        CHECK_EQ_U64(m.used.v[0].start, 0);
        CHECK_EQ_U64(m.used.v[0].len, 7 * 512);
        CHECK_EQ_U64(m.used.v[1].start, 12 * 512);
        CHECK_EQ_U64(m.used.v[1].len, 2 * 512);
        CHECK_EQ_U64(m.used.v[2].start, 63 * 512);
        CHECK_EQ_U64(m.used.v[2].len, 512);
    }
    CHECK_EQ_U64(m.used_bytes, (4 + 6) * 512);
    CHECK(fsmap_covers(&m, 12 * 512, 1024));
    CHECK(fsmap_covers(&m, 0, 7 * 512));
    CHECK(!fsmap_covers(&m, 6 * 512, 1024));
    CHECK(!fsmap_covers(&m, 24 * 512, 512)); /* the bad cluster */
    CHECK(fsmap_covers(&m, 100, 0));
    fsmap_free(&m);

    /* Entry 1 ("reserved") or past the last cluster in a chain: never a map. */
    build_fat12();
    set12(vol + 512, 11, 62);
    CHECK(map_mem(vol, sizeof vol, &m) == 0);
    CHECK(m.full && strstr(m.notice, "outside"));
    CHECK(m.used.count == 0);
    fsmap_free(&m);
    build_fat12();
    set12(vol + 512, 11, 1);
    CHECK(map_mem(vol, sizeof vol, &m) == 0);
    CHECK(m.full);
    fsmap_free(&m);
    /* A volume larger than its partition. */
    build_fat12();
    CHECK(map_mem(vol, sizeof vol - 512, &m) == 0);
    CHECK(m.full && strstr(m.notice, "larger than its partition"));
    fsmap_free(&m);
}

static void test_other_probes(void)
{
    static uint8_t buf[128 * 1024];
    fsmap m;

    /* Swap: the header page only. */
    memset(buf, 0x5C, sizeof buf);
    memcpy(buf + 4096 - 10, "SWAPSPACE2", 10);
    CHECK(map_mem(buf, sizeof buf, &m) == 0);
    CHECK_STR(m.fstype, "swap");
    CHECK(!m.full && m.used.count == 1 && m.used.v[0].start == 0 && m.used.v[0].len == 4096);
    fsmap_free(&m);
    /* A swap area holding a hibernation image: everything. */
    memcpy(buf + 4096 - 10, "S1SUSPEND\0", 10);
    CHECK(map_mem(buf, sizeof buf, &m) == 0);
    CHECK(m.full && strstr(m.notice, "hibernation"));
    fsmap_free(&m);
    /* ext magic over garbage, NTFS signature over garbage: everything, with why. */
    memset(buf, 0x5C, sizeof buf);
    put_le16(buf + 1024 + 56, 0xEF53);
    CHECK(map_mem(buf, sizeof buf, &m) == 0);
    CHECK(m.full && m.notice[0] != '\0');
    fsmap_free(&m);
    memset(buf, 0x5C, sizeof buf);
    memcpy(buf + 3, "NTFS    ", 8);
    CHECK(map_mem(buf, sizeof buf, &m) == 0);
    CHECK(m.full && strstr(m.notice, "NTFS"));
    fsmap_free(&m);
    /* XFS, btrfs, exFAT: named, copied whole. */
    memset(buf, 0, sizeof buf);
    memcpy(buf, "XFSB", 4);
    CHECK(map_mem(buf, sizeof buf, &m) == 0 && m.full && strstr(m.notice, "XFS"));
    fsmap_free(&m);
    memset(buf, 0, sizeof buf);
    memcpy(buf + 0x10040, "_BHRfS_M", 8);
    CHECK(map_mem(buf, sizeof buf, &m) == 0 && m.full && strstr(m.notice, "btrfs"));
    fsmap_free(&m);
    memset(buf, 0, sizeof buf);
    memcpy(buf + 3, "EXFAT   ", 8);
    CHECK(map_mem(buf, sizeof buf, &m) == 0 && m.full && strstr(m.notice, "exFAT"));
    fsmap_free(&m);
    /* A tiny partition. */
    CHECK(map_mem(buf, 100, &m) == 0 && m.full);
    fsmap_free(&m);
}

int main(void)
{
    test_geometry();
    test_entries();
    test_fat12_map();
    test_other_probes();
    return t_done("test_fat");
}
