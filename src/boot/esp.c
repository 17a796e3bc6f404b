/* An empty FAT32 EFI System Partition, formatted by p2v itself (--add-esp).
 *
 * Layout (Microsoft's FAT specification, "FAT32 Boot Sector and BPB"):
 *   sector 0          boot sector with the BPB
 *   sector 1          FSInfo
 *   sectors 6, 7      backup boot sector and backup FSInfo
 *   sectors 0..31     reserved area
 *   then two FATs, then the data area whose first cluster (2) is the root
 *   directory: the volume label entry "EFI", then what a fatbuild tree
 *   holds (nothing for an empty ESP), in contiguous clusters.
 * UEFI firmware decides FAT12/16/32 from the cluster count alone, so a FAT32
 * ESP needs at least 65525 clusters; the cluster size follows Microsoft's
 * table for FAT32 (512 bytes up to 260 MiB, 4 KiB up to 8 GiB, ...), halved
 * when that would leave too few clusters. */
#include "boot/boot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/endian.h"
#include "util/guid.h"
#include "fs/bpb.h"
#include "fs/fatbuild.h"

#define FAT32_MIN_CLUSTERS 65525u
#define FAT32_MAX_CLUSTERS 0x0FFFFFF5u /* cluster numbers 2..0x0FFFFFF6 */
#define ESP_RESERVED 32u
#define ESP_NFATS 2u
#define ESP_FSINFO_SECTOR 1u
#define ESP_BACKUP_SECTOR 6u
#define ESP_ROOT_CLUSTER 2u
#define ESP_MEDIA 0xF8u
#define ESP_LABEL "EFI        " /* 11 bytes, space padded */
#define MIB (1024ull * 1024)

typedef struct esp_geom {
    uint32_t sector_size;
    uint32_t spc;         /* sectors per cluster */
    uint32_t reserved;    /* reserved sectors: 32, padded to align the data area */
    uint32_t fat_sectors; /* sectors of one FAT */
    uint64_t clusters;    /* data clusters */
} esp_geom;

static bool esp_sector_size_ok(uint32_t ss)
{
    return ss == 512 || ss == 1024 || ss == 2048 || ss == 4096;
}

/* Lay out `sectors` sectors with spc sectors per cluster. The FAT is sized
 * for the upper bound of clusters (the whole area after 32 reserved sectors),
 * so it is always large enough; the reserved area then grows so that the data
 * area starts on a cluster boundary (of the partition, itself aligned), as
 * mkfs.fat does. clusters is 0 when nothing fits. */
static void esp_layout(uint64_t sectors, uint32_t ss, uint32_t spc, esp_geom *g)
{
    uint64_t per_fat_sector = ss / 4;
    g->sector_size = ss;
    g->spc = spc;
    g->reserved = ESP_RESERVED;
    g->fat_sectors = 0;
    g->clusters = 0;
    if (sectors <= ESP_RESERVED)
        return;
    uint64_t fat = ((sectors - ESP_RESERVED) / spc + 2 + per_fat_sector - 1) / per_fat_sector;
    uint64_t meta = ESP_RESERVED + ESP_NFATS * fat;
    uint64_t pad = (spc - meta % spc) % spc;
    if (fat > UINT32_MAX || meta + pad >= sectors)
        return;
    g->reserved = (uint32_t)(ESP_RESERVED + pad); /* pad < spc <= 128 */
    g->fat_sectors = (uint32_t)fat;
    g->clusters = (sectors - meta - pad) / spc;
}

static uint32_t esp_default_cluster_bytes(uint64_t bytes)
{
    if (bytes <= 260 * MIB)
        return 512;
    if (bytes <= 8192 * MIB)
        return 4096;
    if (bytes <= 16384 * MIB)
        return 8192;
    if (bytes <= 32768 * MIB)
        return 16384;
    return 32768;
}

static int esp_choose(uint64_t sectors, uint32_t ss, esp_geom *g)
{
    uint32_t cluster_bytes = esp_default_cluster_bytes(sectors * ss);
    uint32_t spc = cluster_bytes > ss ? cluster_bytes / ss : 1;
    for (;;) {
        esp_layout(sectors, ss, spc, g);
        if (g->clusters > FAT32_MAX_CLUSTERS) {
            if ((uint64_t)spc * ss >= 65536)
                return -ERANGE;
            spc *= 2;
        } else if (g->clusters < FAT32_MIN_CLUSTERS) {
            if (spc == 1)
                return -ERANGE;
            spc /= 2;
        } else {
            return 0;
        }
    }
}

uint64_t boot_esp_min_sectors(uint32_t sector_size)
{
    if (!esp_sector_size_ok(sector_size))
        return 0;
    uint64_t per_fat_sector = sector_size / 4;
    uint64_t n = ESP_RESERVED + FAT32_MIN_CLUSTERS +
                 ESP_NFATS * ((FAT32_MIN_CLUSTERS + 2 + per_fat_sector - 1) / per_fat_sector);
    esp_geom g;
    for (;;) { /* the estimate is a few sectors short at most */
        esp_layout(n, sector_size, 1, &g);
        if (g.clusters >= FAT32_MIN_CLUSTERS)
            return n;
        n++;
    }
}

/* DOS date and time of now (UTC), for the label's directory entry. */
static void esp_dos_time(uint16_t *date, uint16_t *tim)
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm) || tm.tm_year < 80) {
        *date = (1 << 5) | 1; /* 1980-01-01 */
        *tim = 0;
        return;
    }
    *date = (uint16_t)(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
    *tim = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
}

static void esp_boot_sector(uint8_t *b, const esp_geom *g, uint64_t start_lba, uint32_t total,
                            uint32_t serial)
{
    /* The 16-bit root entries, total sectors and FAT size, the ext flags
     * (FATs mirrored) and the version stay 0 on FAT32. */
    bpb f = {
        .bytes_per_sector = g->sector_size,
        .sectors_per_cluster = g->spc,
        .reserved_sectors = g->reserved,
        .num_fats = ESP_NFATS,
        .media = ESP_MEDIA,
        .sectors_per_track = 63, /* informative only */
        .heads = 255,
        /* Hidden sectors: the partition start, where it fits in 32 bits. */
        .hidden_sectors = start_lba <= UINT32_MAX ? (uint32_t)start_lba : 0,
        .total_sectors_32 = total,
        .fat_size_32 = g->fat_sectors,
        .fat32_layout = true,
        .root_cluster = ESP_ROOT_CLUSTER,
        .fsinfo_sector = ESP_FSINFO_SECTOR,
        .backup_boot_sector = ESP_BACKUP_SECTOR,
    };
    memset(b, 0, g->sector_size);
    /* The OEM name the FAT specification recommends. */
    bpb_write(b, &f, "MSWIN4.1");
    bpb_write_fat32_ebr(b, serial, ESP_LABEL);
    /* Not a bootable volume for a BIOS: INT 18h ("boot failed"), then halt. */
    b[BPB_FAT32_CODE] = 0xCD;
    b[BPB_FAT32_CODE + 1] = 0x18;
    b[BPB_FAT32_CODE + 2] = 0xF4; /* hlt */
    b[BPB_FAT32_CODE + 3] = 0xEB; /* jmp back to hlt */
    b[BPB_FAT32_CODE + 4] = 0xFD;
}

static void esp_fsinfo(uint8_t *b, const esp_geom *g, uint32_t used)
{
    memset(b, 0, g->sector_size);
    put_le32(b + 0, 0x41615252);
    put_le32(b + 484, 0x61417272);
    put_le32(b + 488, (uint32_t)(g->clusters - used)); /* free clusters */
    put_le32(b + 492, ESP_ROOT_CLUSTER + used);        /* next free cluster hint */
    put_le32(b + 508, 0xAA550000);
}

typedef struct esp_out {
    uint64_t base;            /* byte offset of the partition on the target */
    p2v_write_fn write;
    void *ctx;
    uint64_t start_lba;
} esp_out;

static int esp_put(const esp_out *o, uint64_t off, const uint8_t *buf, size_t len, p2v_err *err)
{
    int rc = o->write(o->ctx, o->base + off, buf, len, err);
    return rc < 0 ? p2v_err_prefix(err, rc, "formatting the ESP at LBA %" PRIu64, o->start_lba)
                  : 0;
}

/* One FAT copy: entries 0 and 1, then the chains of the tree's clusters. */
static int esp_fat(const esp_out *o, const esp_geom *g, const fatbuild *t, uint32_t used,
                   uint64_t sector, uint8_t *buf, size_t cap, p2v_err *err)
{
    uint64_t entries = (uint64_t)used + ESP_ROOT_CLUSTER;
    uint64_t per = cap / 4, off = sector * g->sector_size;
    for (uint64_t e0 = 0; e0 < entries; e0 += per) {
        uint64_t n = entries - e0 < per ? entries - e0 : per;
        size_t bytes = (size_t)((n * 4 + g->sector_size - 1) / g->sector_size * g->sector_size);
        memset(buf, 0, bytes);
        for (uint64_t e = e0; e < e0 + n; e++)
            put_le32(buf + (e - e0) * 4, e == 0   ? 0x0FFFFF00u | ESP_MEDIA
                                         : e == 1 ? 0x0FFFFFFFu /* clean, no disk error */
                                                  : fatbuild_fat_entry(t, (uint32_t)e));
        int rc = esp_put(o, off + e0 * 4, buf, bytes, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The data area: clusters 2 .. used + 1, in chunks of whole clusters. */
static int esp_data(const esp_out *o, const esp_geom *g, const fatbuild *t, uint32_t used,
                    uint64_t sector, uint8_t *buf, size_t cap, p2v_err *err)
{
    size_t cb = (size_t)g->spc * g->sector_size;
    size_t per = cap / cb;
    for (uint64_t c0 = 0; c0 < used; c0 += per) {
        uint64_t n = used - c0 < per ? used - c0 : per;
        for (uint64_t c = 0; c < n; c++)
            fatbuild_cluster(t, (uint32_t)(ESP_ROOT_CLUSTER + c0 + c), buf + c * cb);
        int rc = esp_put(o, sector * g->sector_size + c0 * cb, buf, (size_t)n * cb, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

#define ESP_CHUNK ((size_t)1 << 20)

static int esp_write_all(const esp_out *o, const esp_geom *g, fatbuild *t, uint32_t sectors,
                         uint32_t serial, p2v_err *err)
{
    uint16_t date, tim;
    uint32_t used;
    esp_dos_time(&date, &tim);
    int rc = fatbuild_layout(t, g->spc * g->sector_size, g->clusters, ESP_LABEL, date, tim,
                             &used, err);
    if (rc < 0)
        return p2v_err_prefix(err, rc, "ESP at LBA %" PRIu64, o->start_lba);
    /* a buffer of whole clusters (64 KiB at most) of at least 1 MiB */
    uint8_t *buf = malloc(ESP_CHUNK);
    if (!buf)
        return p2v_errf(err, -ENOMEM, "ESP at LBA %" PRIu64 ": out of memory", o->start_lba);
    const uint64_t fat1 = g->reserved, fat2 = fat1 + g->fat_sectors;
    const uint64_t data = fat2 + g->fat_sectors; /* cluster 2 = first data sector */
    const uint64_t ss = g->sector_size;
    /* in offset order: boot sector 0, FSInfo 1, their backups 6 and 7 */
    for (int k = 0; k < 4 && rc == 0; k++) {
        if (k % 2 == 0)
            esp_boot_sector(buf, g, o->start_lba, sectors, serial);
        else
            esp_fsinfo(buf, g, used);
        uint64_t sec = (k < 2 ? 0 : ESP_BACKUP_SECTOR) + (uint64_t)(k % 2) * ESP_FSINFO_SECTOR;
        rc = esp_put(o, sec * ss, buf, ss, err);
    }
    if (rc == 0)
        rc = esp_fat(o, g, t, used, fat1, buf, ESP_CHUNK, err);
    if (rc == 0)
        rc = esp_fat(o, g, t, used, fat2, buf, ESP_CHUNK, err);
    if (rc == 0)
        rc = esp_data(o, g, t, used, data, buf, ESP_CHUNK, err);
    free(buf);
    return rc;
}

int boot_format_esp(uint64_t start_lba, uint64_t sectors, uint32_t sector_size, p2v_write_fn write,
                    void *ctx, p2v_err *err)
{
    return boot_format_esp_tree(start_lba, sectors, sector_size, NULL, write, ctx, err);
}

int boot_format_esp_tree(uint64_t start_lba, uint64_t sectors, uint32_t sector_size,
                         fatbuild *tree, p2v_write_fn write, void *ctx, p2v_err *err)
{
    esp_geom g;
    uint32_t serial;
    int rc;

    if (!esp_sector_size_ok(sector_size))
        return p2v_errf(err, -EINVAL, "ESP at LBA %" PRIu64 ": sector size %" PRIu32
                        " is not supported (512, 1024, 2048 or 4096)", start_lba, sector_size);
    if (sectors > UINT32_MAX)
        return p2v_errf(err, -ERANGE, "ESP at LBA %" PRIu64 ": %" PRIu64
                        " sectors is more than FAT32 can hold (4294967295)", start_lba, sectors);
    if (start_lba > UINT64_MAX / sector_size - sectors)
        return p2v_errf(err, -ERANGE, "ESP at LBA %" PRIu64 " of %" PRIu64 " sectors lies past 2^64 bytes",
                        start_lba, sectors);
    if (esp_choose(sectors, sector_size, &g) < 0)
        return p2v_errf(err, -ERANGE, "ESP at LBA %" PRIu64 ": %" PRIu64 " sectors of %" PRIu32
                        " bytes is too small for FAT32 (at least %" PRIu64 " sectors)", start_lba,
                        sectors, sector_size, boot_esp_min_sectors(sector_size));
    rc = p2v_random_bytes(&serial, sizeof serial);
    if (rc < 0)
        return p2v_errf(err, rc, "ESP at LBA %" PRIu64 ": no random volume serial", start_lba);
    fatbuild *own = NULL;
    if (!tree && (rc = fatbuild_new(&own, err)) < 0)
        return rc;
    esp_out o = { .base = start_lba * sector_size, .write = write, .ctx = ctx,
                  .start_lba = start_lba };
    rc = esp_write_all(&o, &g, tree ? tree : own, (uint32_t)sectors, serial, err);
    fatbuild_free(own);
    return rc;
}

int boot_esp_fit(uint64_t sectors, uint32_t sector_size, fatbuild *tree, p2v_err *err)
{
    esp_geom g;
    uint32_t used;
    if (!esp_sector_size_ok(sector_size) || sectors > UINT32_MAX ||
        esp_choose(sectors, sector_size, &g) < 0)
        return p2v_errf(err, -ERANGE, "an ESP of %" PRIu64 " sectors of %" PRIu32
                        " bytes cannot be formatted FAT32", sectors, sector_size);
    int rc = fatbuild_layout(tree, g.spc * g.sector_size, g.clusters, ESP_LABEL, 0, 0, &used, err);
    return rc < 0 ? p2v_err_prefix(err, rc, "the new ESP") : 0;
}
