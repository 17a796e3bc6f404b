/* Laying out a tree of directories and files in a new FAT32 volume
 * (Microsoft's FAT specification: "Directory Structure", "Long File Name
 * Implementation"). Nodes live in one array in the order they were added,
 * parents before children, and take clusters in that order, so the clusters
 * of node k follow those of node k-1 and a cluster's owner is found by a
 * binary search. */
#include "fs/fatbuild.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fatdir.h"
#include "util/endian.h"

#define NAME_MAX_UNITS 255
#define FILE_MAX 0xFFFFFFFFull

struct fb_node {
    char *name;               /* UTF-8; "" for the root */
    bool dir;
    uint8_t *data;            /* a file's bytes; a directory's entries after layout */
    size_t len;
    size_t parent;
    uint16_t uname[NAME_MAX_UNITS];
    size_t ulen;
    uint8_t shortname[11];
    bool lfn;                 /* needs long-name entries */
    uint32_t first;           /* first cluster; 0 for an empty file */
    uint32_t nclusters;
};

struct fatbuild {
    struct fb_node *n;
    size_t count, cap;
    size_t *owners;           /* nodes with clusters, by first cluster */
    size_t nowners;
    uint32_t cluster_bytes;
    uint32_t used;
};

int fatbuild_new(fatbuild **out, p2v_err *err)
{
    fatbuild *t = calloc(1, sizeof *t);
    if (t && !(t->n = calloc(8, sizeof *t->n))) {
        free(t);
        t = NULL;
    }
    if (!t || !(t->n[0].name = strdup(""))) {
        fatbuild_free(t);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    t->cap = 8;
    t->count = 1;
    t->n[0].dir = true;
    *out = t;
    return 0;
}

void fatbuild_free(fatbuild *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++) {
        free(t->n[i].name);
        free(t->n[i].data);
    }
    free(t->n);
    free(t->owners);
    free(t);
}

size_t fatbuild_count(const fatbuild *t) { return t->count - 1; }

/* UTF-8 to UTF-16 (BMP only); false for bytes that are not UTF-8 or a name
 * FAT cannot hold. */
static bool name_utf16(const char *s, size_t slen, uint16_t *u, size_t *ulen)
{
    size_t n = 0;
    for (size_t i = 0; i < slen;) {
        unsigned c = (unsigned char)s[i], extra = 0;
        if (c >= 0xF0 || (c >= 0x80 && c < 0xC0))
            return false;
        extra = c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        c &= extra == 2 ? 0x0F : extra == 1 ? 0x1F : 0x7F;
        if (i + extra >= slen + (extra ? 0 : 1))
            return false;
        for (unsigned k = 1; k <= extra; k++) {
            unsigned b = (unsigned char)s[i + k];
            if ((b & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (b & 0x3F);
        }
        i += extra + 1;
        if (c < 0x20 || strchr("\"*/:<>?\\|", (int)c) != NULL || n >= NAME_MAX_UNITS)
            return false;
        u[n++] = (uint16_t)c;
    }
    *ulen = n;
    return n > 0 && u[n - 1] != '.' && u[n - 1] != ' ';
}

/* The child of dir named name[0..len) (ASCII case ignored), or 0. */
static size_t find_child(const fatbuild *t, size_t dir, const char *name, size_t len)
{
    for (size_t i = 1; i < t->count; i++)
        if (t->n[i].parent == dir && strlen(t->n[i].name) == len &&
            !strncasecmp(t->n[i].name, name, len))
            return i;
    return 0;
}

static int add_node(fatbuild *t, size_t parent, const char *name, size_t len, bool dir,
                    size_t *out, p2v_err *err)
{
    if (t->count == t->cap) {
        struct fb_node *n = realloc(t->n, 2 * t->cap * sizeof *n);
        if (!n)
            return p2v_errf(err, -ENOMEM, "out of memory");
        t->n = n;
        t->cap *= 2;
    }
    struct fb_node *nd = &t->n[t->count];
    memset(nd, 0, sizeof *nd);
    if (!name_utf16(name, len, nd->uname, &nd->ulen))
        return p2v_errf(err, -EINVAL, "\"%.*s\" is not a name a FAT directory can hold",
                        (int)len, name);
    if (!(nd->name = strndup(name, len)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    nd->dir = dir;
    nd->parent = parent;
    *out = t->count++;
    return 0;
}

/* Walk path, making missing directories; *last gets the final part's
 * name (not made) and *dir its parent. */
static int walk(fatbuild *t, const char *path, size_t *dir, const char **last, size_t *lastlen,
                p2v_err *err)
{
    size_t cur = 0;
    for (;;) {
        while (*path == '/' || *path == '\\')
            path++;
        size_t len = strcspn(path, "/\\");
        const char *next = path + len;
        while (*next == '/' || *next == '\\')
            next++;
        if (len == 0)
            return p2v_errf(err, -EINVAL, "empty path");
        if (*next == '\0') {
            *dir = cur;
            *last = path;
            *lastlen = len;
            return 0;
        }
        size_t c = find_child(t, cur, path, len);
        if (c && !t->n[c].dir)
            return p2v_errf(err, -ENOTDIR, "%.*s is a file, not a directory", (int)len, path);
        int r = c ? 0 : add_node(t, cur, path, len, true, &c, err);
        if (r < 0)
            return r;
        cur = c;
        path = next;
    }
}

int fatbuild_mkdir(fatbuild *t, const char *path, p2v_err *err)
{
    size_t dir, len, c;
    const char *name;
    int r = walk(t, path, &dir, &name, &len, err);
    if (r < 0)
        return r;
    c = find_child(t, dir, name, len);
    if (c)
        return t->n[c].dir ? 0 : p2v_errf(err, -ENOTDIR, "%s is a file, not a directory", path);
    return add_node(t, dir, name, len, true, &c, err);
}

int fatbuild_add_file(fatbuild *t, const char *path, const uint8_t *data, size_t len,
                      p2v_err *err)
{
    size_t dir, nlen, c;
    const char *name;
    if ((uint64_t)len > FILE_MAX)
        return p2v_errf(err, -EFBIG, "%s: %zu bytes is more than a FAT file holds", path, len);
    int r = walk(t, path, &dir, &name, &nlen, err);
    if (r < 0)
        return r;
    if (find_child(t, dir, name, nlen))
        return p2v_errf(err, -EEXIST, "%s is there already", path);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return p2v_errf(err, -ENOMEM, "out of memory");
    if (len)
        memcpy(copy, data, len);
    r = add_node(t, dir, name, nlen, false, &c, err);
    if (r < 0) {
        free(copy);
        return r;
    }
    t->n[c].data = copy;
    t->n[c].len = len;
    return 0;
}

/* ---- short names ---- */

static bool short_char_ok(uint16_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c > 127 ? false :
           strchr("!#$%&'()-@^_`{}~", (int)c) != NULL);
}

static uint16_t upper(uint16_t c) { return c >= 'a' && c <= 'z' ? (uint16_t)(c - 32) : c; }

/* The 8.3 form of a name: base and extension, upper case, characters FAT
 * does not take in short names as '_', spaces and inner dots dropped.
 * *lossless: the name is its own short name but for case. */
static void short_parts(const struct fb_node *nd, char base[9], size_t *blen, char ext[4],
                        size_t *elen, bool *lossless)
{
    size_t dot = nd->ulen;
    for (size_t i = nd->ulen; i-- > 0;)
        if (nd->uname[i] == '.') {
            dot = i;
            break;
        }
    size_t ndots = 0, bn = 0, en = 0;
    bool lost = dot == 0;
    for (size_t i = 0; i < nd->ulen; i++) {
        uint16_t c = upper(nd->uname[i]);
        if (c == '.') {
            ndots++;
            continue;
        }
        if (c == ' ') {
            lost = true;
            continue;
        }
        if (!short_char_ok(c)) {
            c = '_';
            lost = true;
        }
        if (i < dot) {
            if (bn < 8)
                base[bn] = (char)c;
            bn++;
        } else {
            if (en < 3)
                ext[en] = (char)c;
            en++;
        }
    }
    *lossless = !lost && ndots <= 1 && bn >= 1 && bn <= 8 && en <= 3 &&
                (dot == nd->ulen || en >= 1);
    *blen = bn < 8 ? bn : 8;
    *elen = en < 3 ? en : 3;
}

static bool short_taken(const fatbuild *t, size_t self, const uint8_t sn[11])
{
    for (size_t i = 1; i < self; i++)
        if (t->n[i].parent == t->n[self].parent && !memcmp(t->n[i].shortname, sn, 11))
            return true;
    return false;
}

/* A short name unique in its directory: the name itself when it is a valid
 * 8.3 name, else BASE~N.EXT (the base cut to leave room for ~N). */
static int make_short_name(fatbuild *t, size_t k, p2v_err *err)
{
    struct fb_node *nd = &t->n[k];
    char base[9] = "", ext[4] = "";
    size_t blen, elen;
    bool lossless;
    short_parts(nd, base, &blen, ext, &elen, &lossless);
    uint8_t sn[11];
    memset(sn, ' ', 11);
    memcpy(sn, base, blen);
    memcpy(sn + 8, ext, elen);
    bool exact = lossless && nd->ulen == blen + elen + (elen ? 1 : 0);
    for (size_t i = 0; exact && i < nd->ulen; i++)
        exact = nd->uname[i] == upper(nd->uname[i]);
    if (lossless && !short_taken(t, k, sn)) {
        memcpy(nd->shortname, sn, 11);
        nd->lfn = !exact;
        return 0;
    }
    if (blen == 0) {
        base[0] = '_';
        blen = 1;
    }
    for (unsigned n = 1; n < 1000000; n++) {
        char tail[9];
        int tl = snprintf(tail, sizeof tail, "~%u", n);
        size_t keep = blen < 8 - (size_t)tl ? blen : 8 - (size_t)tl;
        memset(sn, ' ', 8);
        memcpy(sn, base, keep);
        memcpy(sn + keep, tail, (size_t)tl);
        if (!short_taken(t, k, sn)) {
            memcpy(nd->shortname, sn, 11);
            nd->lfn = true;
            return 0;
        }
    }
    return p2v_errf(err, -ENOSPC, "%s: no free short name", nd->name);
}

uint8_t fatbuild_lfn_checksum(const uint8_t name[11])
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) ? 0x80 : 0) + (sum >> 1) + name[i]);
    return sum;
}

/* ---- directories ---- */

static size_t lfn_entries(const struct fb_node *nd)
{
    return nd->lfn ? (nd->ulen + FAT_LFN_UNITS - 1) / FAT_LFN_UNITS : 0;
}

static size_t dir_entries(const fatbuild *t, size_t d)
{
    size_t n = 2; /* "." and "..", or the root's label (and room for its end) */
    for (size_t i = d + 1; i < t->count; i++)
        if (t->n[i].parent == d)
            n += 1 + lfn_entries(&t->n[i]);
    return n;
}

struct stamp {
    uint16_t date, time;
};

static void put_entry(uint8_t *e, const uint8_t name[11], uint8_t attr, uint32_t cluster,
                      uint32_t size, struct stamp s)
{
    memset(e, 0, FAT_DIRENT);
    memcpy(e + FAT_DIR_NAME, name, 11);
    e[FAT_DIR_ATTR] = attr;
    put_le16(e + FAT_DIR_CRT_TIME, s.time);
    put_le16(e + FAT_DIR_CRT_DATE, s.date);
    put_le16(e + FAT_DIR_ACC_DATE, s.date);
    put_le16(e + FAT_DIR_WRT_TIME, s.time);
    put_le16(e + FAT_DIR_WRT_DATE, s.date);
    fat_dirent_set_cluster(e, cluster);
    put_le32(e + FAT_DIR_SIZE, size);
}

/* The long-name entries of nd, last part first, at e; returns how many. */
static size_t put_lfn(uint8_t *e, const struct fb_node *nd)
{
    size_t n = lfn_entries(nd);
    uint8_t sum = fatbuild_lfn_checksum(nd->shortname);
    for (size_t k = 0; k < n; k++) {
        size_t part = n - 1 - k; /* entries hold parts n..1 in this order */
        uint8_t *x = e + k * FAT_DIRENT;
        memset(x, 0, FAT_DIRENT);
        x[FAT_LFN_ORD] = (uint8_t)((part + 1) | (k == 0 ? FAT_LFN_LAST : 0));
        x[FAT_DIR_ATTR] = FAT_ATTR_LFN;
        x[FAT_LFN_CHECKSUM] = sum;
        for (unsigned j = 0; j < FAT_LFN_UNITS; j++) {
            size_t u = part * FAT_LFN_UNITS + j;
            uint16_t v = u < nd->ulen ? nd->uname[u] : u == nd->ulen ? 0 : 0xFFFF;
            put_le16(x + fat_lfn_unit_at(j), v);
        }
    }
    return n;
}

static int build_dir(fatbuild *t, size_t d, const char label[11], struct stamp s, p2v_err *err)
{
    struct fb_node *nd = &t->n[d];
    size_t bytes = (size_t)nd->nclusters * t->cluster_bytes;
    uint8_t *b = calloc(1, bytes);
    if (!b)
        return p2v_errf(err, -ENOMEM, "out of memory");
    size_t at = 0;
    if (d == 0) {
        put_entry(b, (const uint8_t *)label, FAT_ATTR_VOLUME, 0, 0, s);
        at = 1;
    } else {
        uint32_t up = nd->parent ? t->n[nd->parent].first : 0;
        put_entry(b, (const uint8_t *)".          ", FAT_ATTR_DIR, nd->first, 0, s);
        put_entry(b + FAT_DIRENT, (const uint8_t *)"..         ", FAT_ATTR_DIR, up, 0, s);
        at = 2;
    }
    for (size_t i = d + 1; i < t->count; i++) {
        const struct fb_node *c = &t->n[i];
        if (c->parent != d)
            continue;
        at += put_lfn(b + at * FAT_DIRENT, c);
        put_entry(b + at * FAT_DIRENT, c->shortname, c->dir ? FAT_ATTR_DIR : FAT_ATTR_ARCHIVE,
                  c->first, c->dir ? 0 : (uint32_t)c->len, s);
        at++;
    }
    free(nd->data);
    nd->data = b;
    nd->len = bytes;
    return 0;
}

int fatbuild_layout(fatbuild *t, uint32_t cluster_bytes, uint64_t max_clusters,
                    const char label[11], uint16_t date, uint16_t time, uint32_t *used,
                    p2v_err *err)
{
    if (cluster_bytes < 512 || cluster_bytes % FAT_DIRENT)
        return p2v_errf(err, -EINVAL, "cluster size %u", cluster_bytes);
    t->cluster_bytes = cluster_bytes;
    free(t->owners);
    t->nowners = 0;
    if (!(t->owners = calloc(t->count, sizeof *t->owners)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t k = 1; k < t->count; k++) { /* names first: they size the directories */
        int r = make_short_name(t, k, err);
        if (r < 0)
            return r;
    }
    uint64_t next = 2;
    for (size_t k = 0; k < t->count; k++) {
        struct fb_node *nd = &t->n[k];
        uint64_t bytes = nd->dir ? (uint64_t)dir_entries(t, k) * FAT_DIRENT : nd->len;
        uint64_t nc = (bytes + cluster_bytes - 1) / cluster_bytes;
        if (nd->dir && nc == 0)
            nc = 1;
        if (next - 2 + nc > max_clusters)
            return p2v_errf(err, -ENOSPC, "%llu clusters of %u bytes do not hold the files "
                            "(%zu files and directories)", (unsigned long long)max_clusters,
                            cluster_bytes, t->count - 1);
        nd->first = nc ? (uint32_t)next : 0;
        nd->nclusters = (uint32_t)nc;
        if (nc)
            t->owners[t->nowners++] = k;
        next += nc;
    }
    struct stamp s = { date, time };
    for (size_t k = 0; k < t->count; k++) {
        int r = t->n[k].dir ? build_dir(t, k, label, s, err) : 0;
        if (r < 0)
            return r;
    }
    t->used = (uint32_t)(next - 2);
    *used = t->used;
    return 0;
}

/* The node holding cluster c, or NULL. */
static const struct fb_node *owner(const fatbuild *t, uint32_t c)
{
    size_t lo = 0, hi = t->nowners;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct fb_node *nd = &t->n[t->owners[mid]];
        if (c < nd->first)
            hi = mid;
        else if (c - nd->first >= nd->nclusters)
            lo = mid + 1;
        else
            return nd;
    }
    return NULL;
}

uint32_t fatbuild_fat_entry(const fatbuild *t, uint32_t c)
{
    const struct fb_node *nd = c >= 2 ? owner(t, c) : NULL;
    if (!nd)
        return 0;
    return c + 1 < nd->first + nd->nclusters ? c + 1 : FATBUILD_EOC;
}

void fatbuild_cluster(const fatbuild *t, uint32_t c, uint8_t *buf)
{
    const struct fb_node *nd = c >= 2 ? owner(t, c) : NULL;
    memset(buf, 0, t->cluster_bytes);
    if (!nd)
        return;
    size_t off = (size_t)(c - nd->first) * t->cluster_bytes;
    size_t n = nd->len - off < t->cluster_bytes ? nd->len - off : t->cluster_bytes;
    memcpy(buf, nd->data + off, n);
}
