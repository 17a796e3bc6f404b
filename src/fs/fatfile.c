/* FAT files by path: directory walk with long names, cluster chains, and an
 * in-place replace that reshapes the chain (writes only into an overlay). */
#include "fs/fatfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blockdev/overlay.h"
#include "fs/driver.h"
#include "fs/fat.h"
#include "fs/fatdir.h"
#include "util/endian.h"

#define FAT_MAX_BYTES (64u << 20)   /* one FAT copy held in memory */
#define DIR_MAX_BYTES (8u << 20)

struct fatvol {
    blockdev *bd;
    uint64_t off, len;
    bool writable;
    fat_geom g;
    uint64_t csize;
    uint8_t *fat, *fat_orig;
    size_t fat_len;
    char name[300];
};

void fatvol_close(fatvol *v)
{
    if (!v)
        return;
    free(v->fat);
    free(v->fat_orig);
    free(v);
}

/* A directory entry found by a lookup: its bytes and where they are. */
struct fat_dirent {
    uint64_t off;      /* byte offset of the entry in the volume */
    uint8_t e[FAT_DIRENT];
    bool root;         /* the root directory itself (no entry) */
};

static int vread(fatvol *v, void *buf, size_t n, uint64_t off, p2v_err *err)
{
    if (off > v->len || n > v->len - off)
        return p2v_errf(err, -EINVAL, "%s: read of %zu bytes at %llu is outside the volume",
                        v->name, n, (unsigned long long)off);
    return bd_pread(v->bd, buf, n, v->off + off, err);
}

static int vwrite(fatvol *v, const void *buf, size_t n, uint64_t off, p2v_err *err)
{
    if (off > v->len || n > v->len - off)
        return p2v_errf(err, -EINVAL, "%s: write of %zu bytes at %llu is outside the volume",
                        v->name, n, (unsigned long long)off);
    return bd_overlay_pwrite(v->bd, buf, n, v->off + off, err);
}

static uint64_t clus_off(const fatvol *v, uint32_t c)
{
    return v->g.first_data_sector * v->g.bytes_per_sector + (uint64_t)(c - 2) * v->csize;
}

static bool clus_valid(const fatvol *v, uint32_t c)
{
    return c >= 2 && (uint64_t)c <= v->g.cluster_count + 1;
}

static uint32_t eoc_min(const fatvol *v)
{
    return v->g.bits == 12 ? 0xFF8 : v->g.bits == 16 ? 0xFFF8 : 0x0FFFFFF8;
}

static uint32_t get_entry(const fatvol *v, uint32_t n) { return fat_entry(&v->g, v->fat, v->fat_len, n); }

static void set_entry(fatvol *v, uint32_t n, uint32_t val)
{
    if (v->g.bits == 16)
        put_le16(v->fat + (size_t)n * 2, (uint16_t)val);
    else
        put_le32(v->fat + (size_t)n * 4,
                 (get_le32(v->fat + (size_t)n * 4) & 0xF0000000u) | (val & 0x0FFFFFFFu));
}

/* The clusters of the chain from first (*out to free). Bounded, in range. */
static int chain(fatvol *v, uint32_t first, uint32_t **out, size_t *n, p2v_err *err)
{
    uint32_t *c = NULL;
    size_t cnt = 0, cap = 0;
    *out = NULL;
    *n = 0;
    for (uint32_t cur = first; cur < eoc_min(v);) {
        if (!clus_valid(v, cur) || cnt > v->g.cluster_count) {
            free(c);
            return p2v_errf(err, -EINVAL, "%s: cluster chain from %u reaches %u (valid: 2..%llu, "
                            "or a loop)", v->name, first, cur,
                            (unsigned long long)v->g.cluster_count + 1);
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *nc = realloc(c, cap * sizeof *c);
            if (!nc) {
                free(c);
                return p2v_errf(err, -ENOMEM, "out of memory");
            }
            c = nc;
        }
        c[cnt++] = cur;
        cur = get_entry(v, cur);
    }
    *out = c;
    *n = cnt;
    return 0;
}

int fatvol_open(blockdev *bd, uint64_t off, uint64_t len, bool writable, fatvol **out,
                p2v_err *err)
{
    fatvol *v = calloc(1, sizeof *v);
    uint8_t bs[4096];
    char why[200];
    int r;
    if (!v)
        return p2v_errf(err, -ENOMEM, "out of memory");
    *v = (fatvol){ .bd = bd, .off = off, .len = len, .writable = writable };
    snprintf(v->name, sizeof v->name, "%s@%llu", bd_path(bd), (unsigned long long)off);
    if (writable && !bd_is_overlay(bd)) {
        r = p2v_errf(err, -EROFS, "%s: FAT volume can only be written through an overlay",
                     v->name);
        goto fail;
    }
    size_t n = len < sizeof bs ? (size_t)len : sizeof bs;
    if ((r = vread(v, bs, n, 0, err)) < 0)
        goto fail;
    if (fat_parse_boot(bs, n, &v->g, why, sizeof why) < 0) {
        r = p2v_errf(err, -EINVAL, "%s: not a FAT volume p2v can read (%s)", v->name, why);
        goto fail;
    }
    v->csize = (uint64_t)v->g.sectors_per_cluster * v->g.bytes_per_sector;
    uint64_t fl = v->g.fat_sectors * v->g.bytes_per_sector;
    if (fl > FAT_MAX_BYTES || (v->g.cluster_count + 2) * (uint64_t)v->g.bits / 8 > fl) {
        r = p2v_errf(err, -EINVAL, "%s: FAT of %llu bytes (for %llu clusters) not usable",
                     v->name, (unsigned long long)fl, (unsigned long long)v->g.cluster_count);
        goto fail;
    }
    v->fat_len = (size_t)fl;
    v->fat = malloc(v->fat_len);
    v->fat_orig = malloc(v->fat_len);
    if (!v->fat || !v->fat_orig) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto fail;
    }
    uint64_t fat_at = ((uint64_t)v->g.reserved_sectors +
                       (uint64_t)v->g.active_fat * v->g.fat_sectors) * v->g.bytes_per_sector;
    if ((r = vread(v, v->fat, v->fat_len, fat_at, err)) < 0)
        goto fail;
    memcpy(v->fat_orig, v->fat, v->fat_len);
    *out = v;
    return 0;
fail:
    fatvol_close(v);
    return r;
}

/* ---- directories ---- */

/* The byte ranges a directory occupies: the fixed FAT12/16 root, or a chain. */
static int dir_extents(fatvol *v, const struct fat_dirent *d, uint64_t **offs, uint64_t *seg,
                       size_t *n, p2v_err *err)
{
    uint32_t first = d->root ? (v->g.bits == 32 ? v->g.root_cluster : 0)
                             : fat_dirent_cluster(d->e, true);
    if (first == 0 && (d->root || v->g.bits != 32)) {
        *offs = malloc(sizeof **offs);
        if (!*offs)
            return p2v_errf(err, -ENOMEM, "out of memory");
        (*offs)[0] = ((uint64_t)v->g.reserved_sectors + (uint64_t)v->g.num_fats * v->g.fat_sectors) *
                     v->g.bytes_per_sector;
        *seg = v->g.root_dir_sectors * v->g.bytes_per_sector;
        *n = 1;
        return 0;
    }
    uint32_t *c;
    int r = chain(v, first, &c, n, err);
    if (r < 0)
        return r;
    if ((uint64_t)*n * v->csize > DIR_MAX_BYTES) {
        free(c);
        return p2v_errf(err, -EFBIG, "%s: directory of %zu clusters is too large", v->name, *n);
    }
    *offs = malloc((*n ? *n : 1) * sizeof **offs);
    for (size_t i = 0; *offs && i < *n; i++)
        (*offs)[i] = clus_off(v, c[i]);
    free(c);
    *seg = v->csize;
    return *offs ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
}

/* An 8.3 entry's name as "NAME.EXT". */
static void short_name(const uint8_t *e, char out[13])
{
    size_t o = 0;
    for (int i = 0; i < 8 && e[FAT_DIR_NAME + i] != ' '; i++)
        out[o++] = (char)(i == 0 && e[i] == FAT_DIR_KANJI_E5 ? FAT_DIR_FREE : e[i]);
    if (e[FAT_DIR_EXT] != ' ') {
        out[o++] = '.';
        for (int i = FAT_DIR_EXT; i < FAT_DIR_EXT + 3 && e[i] != ' '; i++)
            out[o++] = (char)e[i];
    }
    out[o] = '\0';
}

/* Gather one long-name entry's 13 characters (ASCII; others as '?'). */
static void lfn_add(const uint8_t *e, char lfn[261], bool *valid)
{
    unsigned seq = e[FAT_LFN_ORD] & FAT_LFN_SEQ_MASK;
    if (e[FAT_LFN_ORD] & FAT_LFN_LAST) {
        memset(lfn, 0, 261);
        *valid = true;
    }
    if (seq == 0 || seq > 20) {
        *valid = false;
        return;
    }
    for (unsigned k = 0; k < FAT_LFN_UNITS; k++) {
        uint16_t ch = get_le16(e + fat_lfn_unit_at(k));
        size_t at = (seq - 1) * FAT_LFN_UNITS + k;
        if (ch == 0 || ch == 0xFFFF)
            break;
        lfn[at] = ch < 0x80 ? (char)ch : '?';
    }
}

static int find_entry(fatvol *v, const struct fat_dirent *dir, const char *want,
                      struct fat_dirent *out, p2v_err *err)
{
    uint64_t *offs = NULL, seg = 0;
    size_t n = 0;
    int r = dir_extents(v, dir, &offs, &seg, &n, err);
    if (r < 0)
        return r;
    char lfn[261] = "", sn[13];
    bool lfn_ok = false;
    uint8_t e[FAT_DIRENT];
    r = -ENOENT;
    for (size_t s = 0; s < n && r == -ENOENT; s++) {
        for (uint64_t o = 0; o + FAT_DIRENT <= seg && r == -ENOENT; o += FAT_DIRENT) {
            int rr = vread(v, e, FAT_DIRENT, offs[s] + o, err);
            if (rr < 0) {
                r = rr;
                break;
            }
            if (e[FAT_DIR_NAME] == FAT_DIR_END)
                goto done;
            if (e[FAT_DIR_NAME] == FAT_DIR_FREE) {
                lfn_ok = false;
                continue;
            }
            if (fat_dirent_is_lfn(e)) {
                lfn_add(e, lfn, &lfn_ok);
                continue;
            }
            short_name(e, sn);
            bool match = !(e[FAT_DIR_ATTR] & FAT_ATTR_VOLUME) &&
                         ((lfn_ok && !strcasecmp(lfn, want)) || !strcasecmp(sn, want));
            lfn_ok = false;
            if (match) {
                out->off = offs[s] + o;
                memcpy(out->e, e, FAT_DIRENT);
                out->root = false;
                r = 0;
            }
        }
    }
done:
    free(offs);
    return r;
}

/* Walk path from the root. -ENOENT when a component is missing. */
static int lookup(fatvol *v, const char *path, struct fat_dirent *out, p2v_err *err)
{
    struct fat_dirent cur = { .root = true };
    char comp[261];
    const char *p = path;
    while (*p) {
        while (*p == '/' || *p == '\\')
            p++;
        size_t l = strcspn(p, "/\\");
        if (l == 0)
            break;
        if (l >= sizeof comp)
            return p2v_errf(err, -ENAMETOOLONG, "%s: %s: name too long", v->name, path);
        memcpy(comp, p, l);
        comp[l] = '\0';
        p += l;
        if (!cur.root && !(cur.e[FAT_DIR_ATTR] & FAT_ATTR_DIR))
            return -ENOENT;
        struct fat_dirent next;
        int r = find_entry(v, &cur, comp, &next, err);
        if (r < 0)
            return r;
        cur = next;
    }
    *out = cur;
    return 0;
}

int fatvol_stat(fatvol *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                p2v_err *err)
{
    struct fat_dirent d;
    int r = lookup(v, path, &d, err);
    *exists = r == 0;
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    bool dir = d.root || (d.e[FAT_DIR_ATTR] & FAT_ATTR_DIR);
    if (is_dir)
        *is_dir = dir;
    if (size)
        *size = dir ? 0 : get_le32(d.e + FAT_DIR_SIZE);
    return 0;
}

static uint32_t first_cluster(const struct fat_dirent *d)
{
    return fat_dirent_cluster(d->e, true);
}

/* An existing regular file: its entry and cluster chain. */
static int open_file(fatvol *v, const char *path, struct fat_dirent *d, uint32_t **c, size_t *n,
                     p2v_err *err)
{
    int r = lookup(v, path, d, err);
    if (r == -ENOENT)
        return p2v_errf(err, r, "%s: %s: no such file", v->name, path);
    if (r < 0)
        return r;
    if (d->root || (d->e[FAT_DIR_ATTR] & FAT_ATTR_DIR))
        return p2v_errf(err, -EISDIR, "%s: %s is a directory", v->name, path);
    uint32_t first = first_cluster(d);
    *c = NULL;
    *n = 0;
    if (first == 0)
        return 0;
    r = chain(v, first, c, n, err);
    if (r == 0 && (uint64_t)*n * v->csize < get_le32(d->e + FAT_DIR_SIZE)) {
        free(*c);
        r = p2v_errf(err, -EINVAL, "%s: %s: %u bytes in a chain of %zu clusters", v->name, path,
                     get_le32(d->e + FAT_DIR_SIZE), *n);
    }
    return r;
}

int fatvol_read_file(fatvol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                     p2v_err *err)
{
    struct fat_dirent d;
    uint32_t *c;
    size_t n;
    int r = open_file(v, path, &d, &c, &n, err);
    if (r < 0)
        return r;
    size_t size = get_le32(d.e + FAT_DIR_SIZE);
    uint8_t *buf = NULL;
    if (size > max)
        r = p2v_errf(err, -EFBIG, "%s: %s: %zu bytes, more than the %zu expected", v->name, path,
                     size, max);
    else if (!(buf = malloc(size ? size : 1)))
        r = p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0, done = 0; r == 0 && done < size; i++) {
        size_t k = size - done < v->csize ? size - done : (size_t)v->csize;
        r = vread(v, buf + done, k, clus_off(v, c[i]), err);
        done += k;
    }
    free(c);
    if (r < 0) {
        free(buf);
        return r;
    }
    *data = buf;
    *len = size;
    return 0;
}

/* ---- replacing a file ---- */

/* Make the chain c[0..n) exactly need clusters long. */
static int reshape_chain(fatvol *v, uint32_t **c, size_t *n, size_t need, int64_t *freed,
                         p2v_err *err)
{
    if (need > *n) {
        uint32_t *nc = realloc(*c, need * sizeof *nc);
        if (!nc)
            return p2v_errf(err, -ENOMEM, "out of memory");
        *c = nc;
        size_t have = *n;
        for (uint32_t k = 2; have < need && (uint64_t)k <= v->g.cluster_count + 1; k++)
            if (get_entry(v, k) == 0) {
                nc[have++] = k;
                set_entry(v, k, 0x0FFFFFFF); /* taken; linked below */
            }
        if (have < need)
            return p2v_errf(err, -ENOSPC, "%s: %zu more clusters needed, %zu free", v->name,
                            need - *n, have - *n);
        *freed -= (int64_t)(need - *n);
    } else {
        for (size_t i = need; i < *n; i++)
            set_entry(v, (*c)[i], 0);
        *freed += (int64_t)(*n - need);
    }
    for (size_t i = 0; i + 1 < need; i++)
        set_entry(v, (*c)[i], (*c)[i + 1]);
    if (need)
        set_entry(v, (*c)[need - 1], 0x0FFFFFFF);
    *n = need;
    return 0;
}

/* Write back the FAT sectors that changed, into every copy. */
static int write_fats(fatvol *v, p2v_err *err)
{
    uint32_t bps = v->g.bytes_per_sector;
    for (size_t s = 0; s < v->fat_len; s += bps) {
        if (!memcmp(v->fat + s, v->fat_orig + s, bps))
            continue;
        for (uint32_t f = 0; f < v->g.num_fats; f++) {
            uint64_t at = ((uint64_t)v->g.reserved_sectors + (uint64_t)f * v->g.fat_sectors) * bps;
            int r = vwrite(v, v->fat + s, bps, at + s, err);
            if (r < 0)
                return r;
        }
        memcpy(v->fat_orig + s, v->fat + s, bps);
    }
    return 0;
}

/* FAT32 FSInfo: keep the free-cluster count true. */
static int fix_fsinfo(fatvol *v, int64_t freed, p2v_err *err)
{
    if (v->g.bits != 32 || !v->g.fsinfo_sector || freed == 0)
        return 0;
    uint8_t s[512];
    uint64_t at = (uint64_t)v->g.fsinfo_sector * v->g.bytes_per_sector;
    int r = vread(v, s, sizeof s, at, err);
    if (r < 0 || get_le32(s) != 0x41615252 || get_le32(s + 484) != 0x61417272)
        return r;
    uint32_t freec = get_le32(s + 488);
    if (freec == 0xFFFFFFFF)
        return 0;
    put_le32(s + 488, (uint32_t)((int64_t)freec + freed));
    return vwrite(v, s, sizeof s, at, err);
}

static int write_clusters(fatvol *v, const uint32_t *c, const uint8_t *data, size_t len,
                          p2v_err *err)
{
    uint8_t *buf = malloc(v->csize);
    int r = buf ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0, done = 0; r == 0 && done < len; i++) {
        size_t k = len - done < v->csize ? len - done : (size_t)v->csize;
        memcpy(buf, data + done, k);
        memset(buf + k, 0, (size_t)v->csize - k);
        r = vwrite(v, buf, (size_t)v->csize, clus_off(v, c[i]), err);
        done += k;
    }
    free(buf);
    return r;
}

int fatvol_replace_file(fatvol *v, const char *path, const uint8_t *data, size_t len,
                        p2v_err *err)
{
    if (!v->writable)
        return p2v_errf(err, -EROFS, "%s: %s: volume opened read-only", v->name, path);
    if (v->g.bits == 12)
        return p2v_errf(err, -ENOTSUP, "%s: %s: writing FAT12 is not supported", v->name, path);
    if ((uint64_t)len > 0xFFFFFFFFu)
        return p2v_errf(err, -EFBIG, "%s: %s: %zu bytes do not fit FAT", v->name, path, len);
    struct fat_dirent d;
    uint32_t *c = NULL;
    size_t n;
    int64_t freed = 0;
    int r = open_file(v, path, &d, &c, &n, err);
    if (r < 0)
        return r;
    size_t need = (size_t)((len + v->csize - 1) / v->csize);
    if ((r = reshape_chain(v, &c, &n, need, &freed, err)) == 0 &&
        (r = write_clusters(v, c, data, len, err)) == 0 && (r = write_fats(v, err)) == 0 &&
        (r = fix_fsinfo(v, freed, err)) == 0) {
        uint32_t first = need ? c[0] : 0;
        fat_dirent_set_cluster(d.e, first);
        put_le32(d.e + FAT_DIR_SIZE, (uint32_t)len);
        r = vwrite(v, d.e, 32, d.off, err);
    }
    free(c);
    return r;
}

/* The volume operations of the FAT driver row (fs/vol.h). */
static int vol_open(blockdev *bd, uint64_t off, uint64_t len, bool writable, void **out,
                    p2v_err *err)
{
    fatvol *v = NULL;
    int r = fatvol_open(bd, off, len, writable, &v, err);
    *out = v;
    return r;
}

static int vol_stat(void *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                    p2v_err *err)
{
    return fatvol_stat(v, path, exists, is_dir, size, err);
}

static int vol_read(void *v, const char *path, size_t max, uint8_t **data, size_t *len,
                    p2v_err *err)
{
    return fatvol_read_file(v, path, max, data, len, err);
}

static int vol_write(void *v, const char *path, const uint8_t *data, size_t len, p2v_err *err)
{
    return fatvol_replace_file(v, path, data, len, err);
}

/* Every write has gone to the overlay already. */
static int vol_close(void *v, p2v_err *err)
{
    (void)err;
    fatvol_close(v);
    return 0;
}

const struct fs_vol_ops fs_vol_ops_fat = {
    .open = vol_open,
    .stat = vol_stat,
    .read_file = vol_read,
    .write_file = vol_write,
    .close = vol_close,
};
