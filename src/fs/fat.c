/* FAT12/16/32 used-block map: p2v's own parser, since no maintained library
 * exists. Used: the reserved area (boot sector, FSInfo, FAT32 backup boot
 * sectors), every FAT copy, the FAT12/16 root directory, and every cluster
 * whose entry in the FAT in use is not free. Any entry pointing outside the
 * volume makes the map untrustworthy: every sector is copied instead. */
#include "fs/fat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/bpb.h"
#include "fs/driver.h"
#include "fs/fatdir.h"
#include "fs/fsmap_impl.h"
#include "fs/resize_impl.h"
#include "util/endian.h"

#define FAT_BAD_MSG(...)                                                                   \
    do {                                                                                   \
        snprintf(why, whylen, __VA_ARGS__);                                                \
        return -EINVAL;                                                                    \
    } while (0)

int fat_parse_boot(const uint8_t *bs, size_t len, fat_geom *g, char *why, size_t whylen)
{
    memset(g, 0, sizeof *g);
    if (len < 512)
        FAT_BAD_MSG("boot sector shorter than 512 bytes");
    if (bs[510] != 0x55 || bs[511] != 0xAA)
        FAT_BAD_MSG("boot sector signature 0x55AA missing");
    bpb b;
    bpb_read(bs, len, &b);
    g->bytes_per_sector = b.bytes_per_sector;
    g->sectors_per_cluster = b.sectors_per_cluster;
    g->reserved_sectors = b.reserved_sectors;
    g->num_fats = b.num_fats;
    g->root_entries = b.root_entries;
    uint32_t tot16 = b.total_sectors_16, tot32 = b.total_sectors_32;
    uint32_t fatsz16 = b.fat_size_16, fatsz32 = b.fat_size_32;
    uint32_t bps = g->bytes_per_sector, spc = g->sectors_per_cluster;

    if (bps < 512 || bps > 4096 || (bps & (bps - 1)))
        FAT_BAD_MSG("bytes per sector %u is not 512, 1024, 2048 or 4096", bps);
    if (spc == 0 || spc > 128 || (spc & (spc - 1)))
        FAT_BAD_MSG("sectors per cluster %u is not a power of two up to 128", spc);
    if (g->reserved_sectors == 0)
        FAT_BAD_MSG("no reserved sectors");
    if (g->num_fats == 0 || g->num_fats > 4)
        FAT_BAD_MSG("%u FAT copies", g->num_fats);
    g->total_sectors = tot16 ? tot16 : tot32;
    if (tot16 && tot32 && tot16 != tot32)
        FAT_BAD_MSG("16-bit and 32-bit sector counts disagree (%u, %u)", tot16, tot32);
    g->fat_sectors = fatsz16 ? fatsz16 : fatsz32;
    if (g->total_sectors == 0 || g->fat_sectors == 0)
        FAT_BAD_MSG("sector count or FAT size is zero");
    g->root_dir_sectors = ((uint64_t)g->root_entries * 32 + bps - 1) / bps;
    g->first_data_sector =
        g->reserved_sectors + (uint64_t)g->num_fats * g->fat_sectors + g->root_dir_sectors;
    if (g->first_data_sector >= g->total_sectors)
        FAT_BAD_MSG("metadata (%llu sectors) fills the whole volume (%llu sectors)",
                    (unsigned long long)g->first_data_sector,
                    (unsigned long long)g->total_sectors);
    g->cluster_count = (g->total_sectors - g->first_data_sector) / spc;
    /* The FAT type follows from the cluster count alone (Microsoft's rule). */
    g->bits = bpb_fat_bits_for(g->cluster_count);
    if (g->bits == 32) {
        if (fatsz16 != 0 || g->root_entries != 0)
            FAT_BAD_MSG("FAT32 by cluster count (%llu) but BPB has FAT12/16 fields",
                        (unsigned long long)g->cluster_count);
        if (g->cluster_count > 0x0FFFFFF5)
            FAT_BAD_MSG("%llu clusters is too many for FAT32",
                        (unsigned long long)g->cluster_count);
        g->root_cluster = b.root_cluster;
        g->fsinfo_sector = b.fsinfo_sector;
        g->backup_boot_sector = b.backup_boot_sector;
        uint32_t ext_flags = b.ext_flags;
        if (ext_flags & 0x80)
            g->active_fat = ext_flags & 0x0F;
        if (g->active_fat >= g->num_fats)
            FAT_BAD_MSG("active FAT %u of %u", g->active_fat, g->num_fats);
        if (g->root_cluster < 2 || g->root_cluster > g->cluster_count + 1)
            FAT_BAD_MSG("root directory cluster %u outside 2..%llu", g->root_cluster,
                        (unsigned long long)g->cluster_count + 1);
        if (g->fsinfo_sector == 0xFFFF)
            g->fsinfo_sector = 0;
        if (g->backup_boot_sector == 0xFFFF)
            g->backup_boot_sector = 0;
    } else if (g->root_entries == 0) {
        FAT_BAD_MSG("FAT%d without root directory entries", g->bits);
    } else if (fatsz16 == 0) {
        FAT_BAD_MSG("FAT%d by cluster count (%llu) without a 16-bit FAT size", g->bits,
                    (unsigned long long)g->cluster_count);
    }
    uint64_t need = g->bits == 12 ? ((g->cluster_count + 2) * 3 + 1) / 2
                                  : (g->cluster_count + 2) * (uint64_t)(g->bits / 8);
    if (need > g->fat_sectors * bps)
        FAT_BAD_MSG("FAT of %llu bytes too small for %llu clusters",
                    (unsigned long long)(g->fat_sectors * bps),
                    (unsigned long long)g->cluster_count);
    return 0;
}

uint32_t fat_entry(const fat_geom *g, const uint8_t *buf, size_t len, uint64_t n)
{
    (void)len;
    switch (g->bits) {
    case 12: {
        uint64_t o = n + n / 2;
        uint16_t v = get_le16(buf + o);
        return (n & 1) ? (uint32_t)(v >> 4) : (uint32_t)(v & 0x0FFF);
    }
    case 16:
        return get_le16(buf + n * 2);
    default:
        return get_le32(buf + n * 4) & 0x0FFFFFFF;
    }
}

/* Entries are read from the FAT in use in chunks; FAT12 entries straddle
 * bytes, so a FAT12 FAT (at most 6 KiB) is read whole. */
#define FAT_CHUNK (256u * 1024u)

/* Add the clusters [first, end) as one byte extent. */
static int fat_add_clusters(fsmap *m, const fsmap_src *s, const fat_geom *g, uint64_t first,
                            uint64_t end, p2v_err *err)
{
    uint64_t csize = (uint64_t)g->sectors_per_cluster * g->bytes_per_sector;
    uint64_t off = g->first_data_sector * g->bytes_per_sector + (first - 2) * csize;
    return fsmap_add(m, s, off, (end - first) * csize, err);
}

/* Walk entries 2 .. cluster_count + 1 of the FAT in use. Returns 0, a
 * negative code (read error), or 1 when an entry makes the map doubtful
 * (notice already set). */
static int fat_walk(fsmap *m, const fsmap_src *s, const fat_geom *g, uint64_t *used_clusters,
                    p2v_err *err)
{
    uint32_t bps = g->bytes_per_sector;
    uint64_t fat_off = ((uint64_t)g->reserved_sectors + (uint64_t)g->active_fat * g->fat_sectors) * bps;
    uint32_t bad = g->bits == 12 ? 0xFF7 : g->bits == 16 ? 0xFFF7 : 0x0FFFFFF7;
    uint64_t last = g->cluster_count + 1; /* highest valid cluster number */
    size_t esize = g->bits == 12 ? 0 : (size_t)g->bits / 8;
    uint64_t fat_bytes = g->bits == 12 ? ((g->cluster_count + 2) * 3 + 1) / 2
                                       : (g->cluster_count + 2) * esize;
    size_t chunk = g->bits == 12 ? (size_t)fat_bytes : FAT_CHUNK;
    uint8_t *buf = malloc(chunk + 1);
    uint64_t run = 0, used = 0;
    int r = 0;

    if (!buf)
        return p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
    uint64_t n = 2;
    while (n <= last) {
        /* Read the chunk holding entries n.. */
        uint64_t cstart, clen, first_n, end_n;
        if (g->bits == 12) {
            cstart = 0;
            clen = fat_bytes;
            first_n = 0;
            end_n = last + 1;
        } else {
            first_n = n;
            cstart = n * esize;
            clen = (fat_bytes - cstart) < chunk ? fat_bytes - cstart : chunk;
            end_n = n + clen / esize;
        }
        memset(buf, 0, chunk + 1);
        r = fsmap_read(s, buf, (size_t)clen, fat_off + cstart, err);
        if (r < 0)
            goto out;
        for (; n < end_n; n++) {
            uint32_t v = fat_entry(g, buf, (size_t)clen, n - first_n);
            bool in_use = v != 0 && v != bad;
            if (v == 1 || (v > last && v < bad)) {
                fsmap_set_full(m,
                               "FAT%d: cluster %llu points to cluster %u, outside the volume's "
                               "2..%llu",
                               g->bits, (unsigned long long)n, v, (unsigned long long)last);
                r = 1;
                goto out;
            }
            if (in_use) {
                used++;
                if (!run)
                    run = n;
            } else if (run) {
                r = fat_add_clusters(m, s, g, run, n, err);
                if (r < 0)
                    goto out;
                run = 0;
            }
        }
    }
    if (run)
        r = fat_add_clusters(m, s, g, run, last + 1, err);
    *used_clusters = used;
out:
    free(buf);
    return r;
}

/* The entry of one cluster in the FAT in use. */
static int fat_read_entry(const fsmap_src *s, const fat_geom *g, uint64_t n, uint32_t *v,
                          p2v_err *err)
{
    uint8_t b[4] = { 0 };
    uint64_t fat_off = ((uint64_t)g->reserved_sectors + (uint64_t)g->active_fat * g->fat_sectors) *
                       g->bytes_per_sector;
    uint64_t o = g->bits == 12 ? n + n / 2 : n * (uint64_t)(g->bits / 8);
    int r = fsmap_read(s, b, g->bits == 32 ? 4 : 2, fat_off + o, err);
    if (r < 0)
        return r;
    if (g->bits == 12)
        *v = (n & 1) ? (uint32_t)(get_le16(b) >> 4) : (uint32_t)(get_le16(b) & 0x0FFF);
    else if (g->bits == 16)
        *v = get_le16(b);
    else
        *v = get_le32(b) & 0x0FFFFFFF;
    return 0;
}

/* Every FAT copy must equal the one in use (unless FAT32 mirroring is off):
 * a copy that differs means one of them is damaged, and which one is right
 * cannot be told. 0, 1 (they differ: map set full with a notice) or a read
 * error. */
static int fat_compare_copies(const fsmap_src *s, const fat_geom *g, bool mirrored, fsmap *out,
                              p2v_err *err)
{
    uint64_t bps = g->bytes_per_sector, len = g->fat_sectors * bps;
    uint64_t base = (uint64_t)g->reserved_sectors * bps;
    uint8_t *a = malloc(FAT_CHUNK), *b = malloc(FAT_CHUNK);
    int r = 0;
    if (!a || !b) {
        r = p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
        goto out;
    }
    for (uint32_t i = 0; mirrored && i < g->num_fats && r == 0; i++) {
        if (i == g->active_fat)
            continue;
        for (uint64_t pos = 0; pos < len && r == 0; pos += FAT_CHUNK) {
            size_t n = len - pos < FAT_CHUNK ? (size_t)(len - pos) : FAT_CHUNK;
            if ((r = fsmap_read(s, a, n, base + g->active_fat * len + pos, err)) < 0 ||
                (r = fsmap_read(s, b, n, base + i * len + pos, err)) < 0)
                break;
            for (size_t k = 0; k < n; k++)
                if (a[k] != b[k]) {
                    fsmap_set_full(out, "FAT #%u and FAT #%u differ (first at byte %llu of the "
                                   "FAT): one of them is damaged",
                                   g->active_fat + 1, i + 1, (unsigned long long)(pos + k));
                    r = 1;
                    break;
                }
        }
    }
out:
    free(a);
    free(b);
    return r;
}

static int fsmap_build_fat(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err)
{
    uint8_t bs[512];
    char why[200];
    fat_geom g;
    uint64_t used_clusters = 0;
    (void)o;

    int r = fsmap_read(s, bs, sizeof bs, 0, err);
    if (r < 0)
        return r;
    if (fat_parse_boot(bs, sizeof bs, &g, why, sizeof why) < 0)
        return fsmap_set_full(out, "FAT boot sector not valid (%s)", why);
    snprintf(out->fstype, sizeof out->fstype, "vfat");
    uint64_t vol_bytes = g.total_sectors * g.bytes_per_sector;
    if (vol_bytes > s->len)
        return fsmap_set_full(out,
                              "FAT volume (%llu bytes) is larger than its partition (%llu bytes)",
                              (unsigned long long)vol_bytes, (unsigned long long)s->len);
    if (g.bits == 32) {
        uint32_t v;
        r = fat_read_entry(s, &g, g.root_cluster, &v, err);
        if (r < 0)
            return r;
        if (v == 0)
            return fsmap_set_full(out,
                                  "FAT32 root directory cluster %u is marked free",
                                  g.root_cluster);
        if (g.reserved_sectors < 2 ||
            (g.fsinfo_sector && g.fsinfo_sector >= g.reserved_sectors) ||
            (g.backup_boot_sector && g.backup_boot_sector + 3 > g.reserved_sectors))
            return fsmap_set_full(out,
                                  "FAT32 FSInfo (%u) or backup boot sector (%u) outside the %u "
                                  "reserved sectors",
                                  g.fsinfo_sector, g.backup_boot_sector, g.reserved_sectors);
    }
    /* Reserved area (boot sector, FSInfo, backup boot sectors), every FAT
     * copy and the FAT12/16 root directory are contiguous. */
    uint64_t meta = g.first_data_sector * g.bytes_per_sector;
    r = fsmap_add(out, s, 0, meta, err);
    if (r < 0)
        return r;
    r = fat_walk(out, s, &g, &used_clusters, err);
    if (r < 0)
        return r;
    if (r > 0)
        return 0; /* doubtful map: already full with a notice */
    /* FAT32 with mirroring disabled (BPB flags bit 7) keeps only one FAT current. */
    bpb b;
    bpb_read(bs, sizeof bs, &b);
    bool mirrored = !(g.bits == 32 && (b.ext_flags & 0x80));
    if ((r = fat_compare_copies(s, &g, mirrored, out, err)) != 0)
        return r < 0 ? r : 0;
    out->used_bytes = meta + used_clusters * g.sectors_per_cluster * g.bytes_per_sector;
    return 0;
}

/* ---- which files lie in given sectors ---- */

struct fat_files {
    const fsmap_src *s;
    const fat_geom *g;
    const extent_list *bad;
    uint8_t *fat; /* the FAT in use, whole */
    size_t fat_len;
    uint64_t csize;
    fs_names *out;
    unsigned dirs_seen;
};

#define FAT_MAX_DEPTH 32
#define FAT_MAX_DIRS 65536u
#define FAT_MAX_DIR_BYTES (8u * 1024u * 1024u)

static uint64_t fat_cluster_off(const struct fat_files *f, uint64_t n)
{
    return f->g->first_data_sector * f->g->bytes_per_sector + (n - 2) * f->csize;
}

static bool fat_valid_cluster(const struct fat_files *f, uint64_t n)
{
    return n >= 2 && n <= f->g->cluster_count + 1;
}

/* Does the chain from cluster first touch bad? (At most cluster_count steps.) */
static bool fat_chain_hit(const struct fat_files *f, uint32_t first)
{
    uint64_t n = first;
    for (uint64_t steps = 0; fat_valid_cluster(f, n) && steps <= f->g->cluster_count; steps++) {
        if (fs_extents_touch(f->bad, fat_cluster_off(f, n), f->csize))
            return true;
        n = fat_entry(f->g, f->fat, f->fat_len, n);
    }
    return false;
}

/* The contents of a directory: the fixed FAT12/16 root (first 0) or a chain. */
static int fat_read_dir(const struct fat_files *f, uint32_t first, uint8_t **buf, size_t *len,
                        p2v_err *err)
{
    const fat_geom *g = f->g;
    if (first == 0) {
        *len = (size_t)(g->root_dir_sectors * g->bytes_per_sector);
        *buf = malloc(*len ? *len : 1);
        if (!*buf)
            return p2v_errf(err, -ENOMEM, "out of memory");
        uint64_t off = ((uint64_t)g->reserved_sectors + g->num_fats * g->fat_sectors) *
                       g->bytes_per_sector;
        return fsmap_read(f->s, *buf, *len, off, err);
    }
    *buf = NULL;
    *len = 0;
    uint64_t n = first;
    while (fat_valid_cluster(f, n) && *len + f->csize <= FAT_MAX_DIR_BYTES) {
        uint8_t *nb = realloc(*buf, *len + f->csize);
        if (!nb)
            return p2v_errf(err, -ENOMEM, "out of memory");
        *buf = nb;
        int r = fsmap_read(f->s, *buf + *len, (size_t)f->csize, fat_cluster_off(f, n), err);
        if (r < 0)
            return r;
        *len += f->csize;
        n = fat_entry(g, f->fat, f->fat_len, n);
    }
    return 0;
}

/* A long-name entry's 13 UTF-16 units (ASCII kept, others as '?') at the
 * right place of name (LFN sequence numbers count from 1). */
static void fat_lfn_piece(const uint8_t *e, char *name, size_t cap)
{
    unsigned seq = e[FAT_LFN_ORD] & FAT_LFN_SEQ_MASK;
    if (seq == 0)
        return;
    for (unsigned i = 0; i < FAT_LFN_UNITS; i++) {
        size_t pos = (seq - 1) * FAT_LFN_UNITS + i;
        uint16_t c = get_le16(e + fat_lfn_unit_at(i));
        if (pos + 1 >= cap)
            return;
        if (c == 0 || c == 0xFFFF) {
            if (e[FAT_LFN_ORD] & FAT_LFN_LAST)
                name[pos] = '\0';
            return;
        }
        name[pos] = c < 0x80 ? (char)c : '?';
        if (e[FAT_LFN_ORD] & FAT_LFN_LAST)
            name[pos + 1] = '\0';
    }
}

static void fat_short_name(const uint8_t *e, char *name, size_t cap)
{
    char base[9], ext[4];
    int bl = 8, el = 3;
    memcpy(base, e + FAT_DIR_NAME, 8);
    memcpy(ext, e + FAT_DIR_EXT, 3);
    while (bl > 0 && base[bl - 1] == ' ')
        bl--;
    while (el > 0 && ext[el - 1] == ' ')
        el--;
    base[bl] = ext[el] = '\0';
    if ((uint8_t)base[0] == FAT_DIR_KANJI_E5)
        base[0] = (char)FAT_DIR_FREE;
    /* Windows NT's case bits: base, extension in lower case */
    for (int i = 0; i < bl && (e[FAT_DIR_NTRES] & FAT_NTRES_LOWER_BASE); i++)
        base[i] = (char)(base[i] >= 'A' && base[i] <= 'Z' ? base[i] + 32 : base[i]);
    for (int i = 0; i < el && (e[FAT_DIR_NTRES] & FAT_NTRES_LOWER_EXT); i++)
        ext[i] = (char)(ext[i] >= 'A' && ext[i] <= 'Z' ? ext[i] + 32 : ext[i]);
    snprintf(name, cap, el ? "%s.%s" : "%s", base, ext);
}

static int fat_walk_dir(struct fat_files *f, uint32_t first, const char *path, int depth,
                        p2v_err *err);

/* One entry of a directory: name it if its chain is hit, descend into it. */
static int fat_entry_hits(struct fat_files *f, const uint8_t *e, const char *name,
                          const char *dirpath, int depth, p2v_err *err)
{
    char path[1024];
    uint32_t first = fat_dirent_cluster(e, f->g->bits == 32);
    snprintf(path, sizeof path, "%s/%s", dirpath, name);
    if (first && fat_chain_hit(f, first) && fs_names_add(f->out, path) < 0)
        return p2v_errf(err, -ENOMEM, "out of memory");
    if ((e[FAT_DIR_ATTR] & FAT_ATTR_DIR) && fat_valid_cluster(f, first))
        return fat_walk_dir(f, first, path, depth + 1, err);
    return 0;
}

static int fat_walk_dir(struct fat_files *f, uint32_t first, const char *path, int depth,
                        p2v_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char lfn[256] = "";
    if (depth > FAT_MAX_DEPTH || ++f->dirs_seen > FAT_MAX_DIRS)
        return 0;
    int r = fat_read_dir(f, first, &buf, &len, err);
    for (size_t o = 0; r == 0 && o + FAT_DIRENT <= len; o += FAT_DIRENT) {
        const uint8_t *e = buf + o;
        char name[256];
        if (e[FAT_DIR_NAME] == FAT_DIR_END)
            break;
        if (e[FAT_DIR_NAME] == FAT_DIR_FREE || fat_dirent_is_lfn(e)) {
            if (fat_dirent_is_lfn(e) && e[FAT_DIR_NAME] != FAT_DIR_FREE)
                fat_lfn_piece(e, lfn, sizeof lfn);
            continue;
        }
        if ((e[FAT_DIR_ATTR] & FAT_ATTR_VOLUME) || e[FAT_DIR_NAME] == '.') { /* volume label, "." and ".." */
            lfn[0] = '\0';
            continue;
        }
        if (lfn[0])
            snprintf(name, sizeof name, "%s", lfn);
        else
            fat_short_name(e, name, sizeof name);
        lfn[0] = '\0';
        r = fat_entry_hits(f, e, name, path, depth, err);
    }
    free(buf);
    return r;
}

/* The reserved area, each FAT copy and the fixed root directory. */
static int fat_metadata_hits(const struct fat_files *f)
{
    const fat_geom *g = f->g;
    uint64_t bps = g->bytes_per_sector, fat0 = g->reserved_sectors * bps;
    char name[64];
    if (fs_extents_touch(f->bad, 0, fat0) && fs_names_add(f->out, "(boot sector and reserved sectors)") < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < g->num_fats; i++) {
        snprintf(name, sizeof name, "(FAT #%u)", i + 1);
        if (fs_extents_touch(f->bad, fat0 + i * g->fat_sectors * bps, g->fat_sectors * bps) &&
            fs_names_add(f->out, name) < 0)
            return -ENOMEM;
    }
    uint64_t root = fat0 + g->num_fats * g->fat_sectors * bps;
    if (g->root_dir_sectors && fs_extents_touch(f->bad, root, g->root_dir_sectors * bps) &&
        fs_names_add(f->out, "(root directory)") < 0)
        return -ENOMEM;
    return 0;
}

static bool fat_sector_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The FAT in use, read into f->fat, with every sector of it that reads as
 * zeros taken from the first other copy where it does not: an unreadable
 * sector reads as zeros here, and the chains passing through it are still
 * to be followed (the copies agree on a volume whose map was built; where
 * both are zeros, nothing changes). */
static int fat_read_table(struct fat_files *f, p2v_err *err)
{
    const fat_geom *g = f->g;
    uint64_t bps = g->bytes_per_sector, fat0 = (uint64_t)g->reserved_sectors * bps;
    uint64_t size = g->fat_sectors * bps;
    uint8_t *alt = NULL;
    int r = fsmap_read(f->s, f->fat, f->fat_len, fat0 + g->active_fat * size, err);
    for (uint32_t c = 0; r == 0 && c < g->num_fats; c++) {
        bool want = false;
        for (uint64_t o = 0; o + bps <= f->fat_len && !want; o += bps)
            want = fat_sector_zero(f->fat + o, bps);
        if (!want || c == g->active_fat)
            continue;
        if (!alt && !(alt = malloc(f->fat_len)))
            r = p2v_errf(err, -ENOMEM, "out of memory");
        if (r == 0)
            r = fsmap_read(f->s, alt, f->fat_len, fat0 + c * size, err);
        for (uint64_t o = 0; r == 0 && o + bps <= f->fat_len; o += bps)
            if (fat_sector_zero(f->fat + o, bps))
                memcpy(f->fat + o, alt + o, (size_t)bps);
    }
    free(alt);
    return r;
}

static int fs_files_fat(const fsmap_src *s, const extent_list *bad, fs_names *out, p2v_err *err)
{
    uint8_t bs[512];
    fat_geom g;
    char why[160];
    int r = fsmap_read(s, bs, sizeof bs, 0, err);
    if (r < 0)
        return r;
    if (fat_parse_boot(bs, sizeof bs, &g, why, sizeof why) < 0)
        return p2v_errf(err, -EINVAL, "FAT boot sector: %s", why);
    struct fat_files f = { .s = s, .g = &g, .bad = bad, .out = out,
                           .csize = (uint64_t)g.sectors_per_cluster * g.bytes_per_sector };
    uint64_t fat_len = g.fat_sectors * g.bytes_per_sector;
    if (fat_len > 512u * 1024u * 1024u)
        return p2v_errf(err, -EFBIG, "FAT of %llu bytes is too large to read",
                        (unsigned long long)fat_len);
    f.fat_len = (size_t)fat_len;
    f.fat = malloc(f.fat_len + 1);
    if (!f.fat)
        return p2v_errf(err, -ENOMEM, "out of memory");
    r = fat_read_table(&f, err);
    if (r == 0 && fat_metadata_hits(&f) < 0)
        r = p2v_errf(err, -ENOMEM, "out of memory");
    if (r == 0 && g.bits == 32 && fat_chain_hit(&f, g.root_cluster) &&
        fs_names_add(out, "/") < 0)
        r = p2v_errf(err, -ENOMEM, "out of memory");
    if (r == 0)
        r = fat_walk_dir(&f, g.bits == 32 ? g.root_cluster : 0, "", 0, err);
    free(f.fat);
    return r;
}

/* A FAT boot sector: jump instruction, sane BPB basics, 0x55AA. The full
 * validation is the map's; this only decides whose job it is. */
static bool fat_probe(const uint8_t *s, size_t n)
{
    if (n < BPB_SECTOR || !bpb_has_jump(s, true) || !bpb_has_signature(s))
        return false;
    bpb b;
    bpb_read(s, n, &b);
    uint32_t bps = b.bytes_per_sector, spc = b.sectors_per_cluster;
    if (bps < 512 || bps > 4096 || (bps & (bps - 1)) || spc == 0 || (spc & (spc - 1)))
        return false;
    return b.reserved_sectors != 0 && b.num_fats != 0;
}

const struct fs_driver fs_driver_fat = {
    .name = "vfat",
    .kind = FS_FAT,
    .blkid_type = "vfat",
    .probe = fat_probe,
    .map = fsmap_build_fat,
    .files_at = fs_files_fat,
    .resize_check = fsresize_fat_check,
    .resize_apply = fsresize_fat_keep,
    .vol = &fs_vol_ops_fat,
};
