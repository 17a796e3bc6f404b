/* An empty FAT32 EFI System Partition, formatted by p2v itself (--add-esp).
 *
 * Layout (Microsoft's FAT specification, "FAT32 Boot Sector and BPB"):
 *   sector 0          boot sector with the BPB
 *   sector 1          FSInfo
 *   sectors 6, 7      backup boot sector and backup FSInfo
 *   sectors 0..31     reserved area
 *   then two FATs, then the data area whose first cluster (2) is the root
 *   directory, holding only the volume label entry "EFI".
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
    uint32_t fat_sectors; /* sectors of one FAT */
    uint64_t clusters;    /* data clusters */
} esp_geom;

static bool esp_sector_size_ok(uint32_t ss)
{
    return ss == 512 || ss == 1024 || ss == 2048 || ss == 4096;
}

/* Lay out `sectors` sectors with spc sectors per cluster. The FAT is sized
 * for the upper bound of clusters (the whole area after the reserved sectors),
 * so it is always large enough; clusters is 0 when nothing fits. */
static void esp_layout(uint64_t sectors, uint32_t ss, uint32_t spc, esp_geom *g)
{
    uint64_t per_fat_sector = ss / 4;
    g->sector_size = ss;
    g->spc = spc;
    g->fat_sectors = 0;
    g->clusters = 0;
    if (sectors <= ESP_RESERVED)
        return;
    uint64_t avail = sectors - ESP_RESERVED;
    uint64_t fat = (avail / spc + 2 + per_fat_sector - 1) / per_fat_sector;
    if (fat > UINT32_MAX || ESP_NFATS * fat >= avail)
        return;
    g->fat_sectors = (uint32_t)fat;
    g->clusters = (avail - ESP_NFATS * fat) / spc;
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
    memset(b, 0, g->sector_size);
    b[0] = 0xEB; /* jmp short 0x5A; nop */
    b[1] = 0x58;
    b[2] = 0x90;
    memcpy(b + 3, "MSWIN4.1", 8); /* the OEM name the FAT specification recommends */
    put_le16(b + 11, (uint16_t)g->sector_size);
    b[13] = (uint8_t)g->spc;
    put_le16(b + 14, ESP_RESERVED);
    b[16] = ESP_NFATS;
    /* 17 root entries, 19 total sectors (16-bit), 22 FAT size (16-bit): 0 on FAT32 */
    b[21] = ESP_MEDIA;
    put_le16(b + 24, 63);  /* sectors per track: informative only */
    put_le16(b + 26, 255); /* heads */
    /* Hidden sectors: the partition start, where it fits in 32 bits. */
    put_le32(b + 28, start_lba <= UINT32_MAX ? (uint32_t)start_lba : 0);
    put_le32(b + 32, total);
    put_le32(b + 36, g->fat_sectors);
    /* 40 ext flags 0 (FATs mirrored), 42 version 0.0 */
    put_le32(b + 44, ESP_ROOT_CLUSTER);
    put_le16(b + 48, ESP_FSINFO_SECTOR);
    put_le16(b + 50, ESP_BACKUP_SECTOR);
    b[64] = 0x80; /* drive number */
    b[66] = 0x29; /* extended boot signature: serial, label and type follow */
    put_le32(b + 67, serial);
    memcpy(b + 71, ESP_LABEL, 11);
    memcpy(b + 82, "FAT32   ", 8);
    /* Not a bootable volume for a BIOS: INT 18h ("boot failed"), then halt. */
    b[90] = 0xCD;
    b[91] = 0x18;
    b[92] = 0xF4; /* hlt */
    b[93] = 0xEB; /* jmp back to hlt */
    b[94] = 0xFD;
    b[510] = 0x55;
    b[511] = 0xAA;
}

static void esp_fsinfo(uint8_t *b, const esp_geom *g)
{
    memset(b, 0, g->sector_size);
    put_le32(b + 0, 0x41615252);
    put_le32(b + 484, 0x61417272);
    put_le32(b + 488, (uint32_t)(g->clusters - 1)); /* free: all but the root */
    put_le32(b + 492, ESP_ROOT_CLUSTER + 1);        /* next free cluster hint */
    put_le32(b + 508, 0xAA550000);
}

static void esp_fat_start(uint8_t *b, const esp_geom *g)
{
    memset(b, 0, g->sector_size);
    put_le32(b + 0, 0x0FFFFF00u | ESP_MEDIA);
    put_le32(b + 4, 0x0FFFFFFFu); /* clean shutdown, no disk error */
    put_le32(b + 8, 0x0FFFFFF8u); /* root directory: one cluster, end of chain */
}

static void esp_root_dir(uint8_t *b, const esp_geom *g)
{
    uint16_t date, tim;
    memset(b, 0, g->sector_size);
    esp_dos_time(&date, &tim);
    memcpy(b, ESP_LABEL, 11);
    b[11] = 0x08; /* volume label */
    put_le16(b + 14, tim);
    put_le16(b + 16, date);
    put_le16(b + 18, date);
    put_le16(b + 22, tim);
    put_le16(b + 24, date);
}

int boot_format_esp(uint64_t start_lba, uint64_t sectors, uint32_t sector_size, p2v_write_fn write,
                    void *ctx, p2v_err *err)
{
    esp_geom g;
    uint8_t *buf = NULL;
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
    if (rc < 0) {
        rc = p2v_errf(err, rc, "ESP at LBA %" PRIu64 ": no random volume serial", start_lba);
        goto out;
    }
    buf = malloc(sector_size);
    if (!buf) {
        rc = p2v_errf(err, -ENOMEM, "ESP at LBA %" PRIu64 ": out of memory", start_lba);
        goto out;
    }

    /* Sectors relative to the partition, in increasing order. */
    const uint64_t fat1 = ESP_RESERVED;
    const uint64_t fat2 = fat1 + g.fat_sectors;
    const uint64_t root = fat2 + g.fat_sectors; /* cluster 2 = first data sector */
    const struct {
        uint64_t sector;
        int kind;
    } plan[] = {
        {0, 0}, {ESP_FSINFO_SECTOR, 1}, {ESP_BACKUP_SECTOR, 0}, {ESP_BACKUP_SECTOR + 1, 1},
        {fat1, 2}, {fat2, 2}, {root, 3},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        switch (plan[i].kind) {
        case 0: esp_boot_sector(buf, &g, start_lba, (uint32_t)sectors, serial); break;
        case 1: esp_fsinfo(buf, &g); break;
        case 2: esp_fat_start(buf, &g); break;
        default: esp_root_dir(buf, &g); break;
        }
        uint64_t off = (start_lba + plan[i].sector) * sector_size;
        rc = write(ctx, off, buf, sector_size, err);
        if (rc < 0) {
            rc = p2v_err_prefix(err, rc, "formatting the ESP at LBA %" PRIu64, start_lba);
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
