/* Longer than 600 lines on purpose: the descriptor and the three extent kinds share one extent
 * table and its open files; each step is its own function. */
/* VMDK (VMware Virtual Disk Format 1.1): a text descriptor naming extents,
 * each flat (raw bytes at an offset of a file), zero, or sparse (a hosted
 * sparse extent, "KDMV": grain directory -> grain tables -> grains, grains
 * optionally deflate-compressed as in streamOptimized). The descriptor is a
 * file of its own (monolithicFlat, twoGbMaxExtent*) or embedded in a sparse
 * extent (monolithicSparse, streamOptimized). Snapshots name their parent
 * (parentFileNameHint) and its CID. Little-endian fields. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/endian.h"
#include "vdisk/vdisk_impl.h"

#define SECTOR 512u
#define GD_AT_END 0xFFFFFFFFFFFFFFFFULL
#define FLAG_ZEROED_GTE (1u << 2)
#define FLAG_COMPRESSED (1u << 16)
#define MAX_DESC (1u << 20)
#define MAX_EXTENTS 1024
#define MAX_GRAIN_SECTORS (1u << 18) /* 128 MiB grains: far beyond any writer */
#define MAX_GTES 512
#define MAX_CAPACITY (64ULL << 40) /* bytes, well past VMware's 62 TiB */

enum ext_kind { EXT_FLAT, EXT_ZERO, EXT_SPARSE };

struct vmdk_extent {
    enum ext_kind kind;
    blockdev *file;   /* owned unless it is the image file itself */
    bool owned;
    uint64_t start;   /* guest byte offset */
    uint64_t len;     /* bytes */
    uint64_t base;    /* FLAT: byte offset in the file */
    /* SPARSE */
    uint64_t grain;   /* bytes */
    uint32_t gtes;
    uint32_t ngd;
    uint32_t *gd;
    uint32_t flags;
    bool compressed;
};

struct vmdk {
    struct vmdk_extent *ext;
    size_t n;
    uint32_t cid;
};

bool vmdk_probe(const uint8_t *buf, size_t len)
{
    static const char desc[] = "# Disk DescriptorFile";
    return (len >= 4 && memcmp(buf, "KDMV", 4) == 0) ||
           (len >= sizeof desc - 1 && memcmp(buf, desc, sizeof desc - 1) == 0);
}

static void vmdk_free(void *p)
{
    struct vmdk *k = p;
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        free(k->ext[i].gd);
        if (k->ext[i].owned)
            bd_close(k->ext[i].file);
    }
    free(k->ext);
    free(k);
}

static const struct vmdk_extent *find_extent(const struct vmdk *k, uint64_t off)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) { /* extents are sorted and contiguous from 0 */
        size_t mid = (lo + hi) / 2;
        if (off < k->ext[mid].start)
            hi = mid;
        else if (off >= k->ext[mid].start + k->ext[mid].len)
            lo = mid + 1;
        else
            return &k->ext[mid];
    }
    return NULL;
}

/* The grain table entry of grain g of a sparse extent: 0 unallocated (or
 * no grain table), 1 zeroed (with the flag), else the grain's sector. */
static int grain_entry(const struct vmdk_extent *x, uint64_t g, uint32_t *gte, p2v_err *err)
{
    uint32_t gde = x->gd[g / x->gtes];
    if (gde == 0) {
        *gte = 0;
        return 0;
    }
    uint8_t b[4];
    int r = bd_pread(x->file, b, 4, (uint64_t)gde * SECTOR + (g % x->gtes) * 4, err);
    *gte = get_le32(b);
    return r;
}

/* A flat extent's file may be sparse: split the run at its holes, which
 * qemu-img map shows as zero (and data, with an offset). */
static void flat_holes(blockdev *f, vdisk_extent *e)
{
    int fd = bd_raw_fd(f);
    if (fd < 0)
        return;
    off_t off = (off_t)e->host_off, d = lseek(fd, off, SEEK_DATA);
    if (d < 0 && errno != ENXIO)
        return; /* no SEEK_DATA: all data */
    if (d < 0 || d > off) {
        e->hole = true;
        if (d > off && (uint64_t)(d - off) < e->len)
            e->len = (uint64_t)(d - off);
        return;
    }
    off_t h = lseek(fd, off, SEEK_HOLE);
    if (h > off && (uint64_t)(h - off) < e->len)
        e->len = (uint64_t)(h - off);
}

static int vmdk_map(const struct vdisk *v, uint64_t off, uint64_t max_len, vdisk_extent *e,
                    blockdev **file, p2v_err *err)
{
    const struct vmdk *k = v->fmt;
    const struct vmdk_extent *x = find_extent(k, off);
    if (!x)
        return p2v_errf(err, -EIO, "%s: VMDK: no extent holds offset %llu", bd_path(v->file),
                        (unsigned long long)off);
    uint64_t rel = off - x->start, left = x->len - rel;
    uint64_t len = left < max_len ? left : max_len;
    if (x->file) /* a zero extent has none */
        *file = x->file;
    e->len = len;
    if (x->kind == EXT_ZERO) {
        e->kind = VDISK_ZERO;
        return 0;
    }
    if (x->kind == EXT_FLAT) {
        e->kind = VDISK_DATA;
        e->has_off = true;
        e->host_off = x->base + rel;
        flat_holes(x->file, e);
        return 0;
    }
    uint64_t g = rel / x->grain, in = rel % x->grain;
    if (x->grain - in < e->len)
        e->len = x->grain - in;
    uint32_t gte;
    int r = grain_entry(x, g, &gte, err);
    if (r < 0)
        return r;
    if (gte == 0) {
        e->kind = VDISK_UNALLOCATED;
        return 0;
    }
    if (gte == 1 && (x->flags & FLAG_ZEROED_GTE)) {
        e->kind = VDISK_ZERO;
        return 0;
    }
    uint64_t host = (uint64_t)gte * SECTOR;
    if (x->compressed) {
        e->kind = VDISK_COMPRESSED;
        return 0;
    }
    if (host + x->grain > bd_size(x->file) && host + in + e->len > bd_size(x->file))
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: grain %llu at offset %llu is past the end of the file",
                        bd_path(x->file), (unsigned long long)g, (unsigned long long)host);
    e->kind = VDISK_DATA;
    e->has_off = true;
    e->host_off = host + in;
    return 0;
}

/* A compressed grain: u64 LBA, u32 size, then a zlib stream of the grain. */
static int vmdk_read_compressed(const struct vdisk *v, void *buf, size_t len, uint64_t off,
                                p2v_err *err)
{
    const struct vmdk *k = v->fmt;
    const struct vmdk_extent *x = find_extent(k, off);
    const char *path = bd_path(x->file);
    uint64_t rel = off - x->start, g = rel / x->grain, in = rel % x->grain;
    uint32_t gte;
    int r = grain_entry(x, g, &gte, err);
    if (r < 0)
        return r;
    uint64_t host = (uint64_t)gte * SECTOR;
    uint8_t hd[12];
    if ((r = bd_pread(x->file, hd, sizeof hd, host, err)) < 0)
        return r;
    uint64_t lba = get_le64(hd), size = get_le32(hd + 8);
    if (lba != g * (x->grain / SECTOR) || size == 0 || size > 2 * x->grain + 4096 ||
        host + 12 > bd_size(x->file) || size > bd_size(x->file) - host - 12)
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: compressed grain %llu at offset %llu: bad marker (LBA %llu, "
                        "%llu bytes)",
                        path, (unsigned long long)g, (unsigned long long)host,
                        (unsigned long long)lba, (unsigned long long)size);
    uint8_t *src = malloc(size), *dst = malloc(x->grain);
    if (!src || !dst) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = bd_pread(x->file, src, size, host + 12, err)) < 0)
        goto out;
    uLongf out_len = (uLongf)x->grain;
    int zr = uncompress(dst, &out_len, src, (uLong)size);
    if ((zr != Z_OK && zr != Z_BUF_ERROR) || out_len < in + len) {
        r = p2v_errf(err, -EINVAL, "%s: VMDK: compressed grain %llu at offset %llu does not inflate",
                     path, (unsigned long long)g, (unsigned long long)host);
        goto out;
    }
    memcpy(buf, dst + in, len);
out:
    free(src);
    free(dst);
    return r;
}

/* The i-th extent file other than the image file itself, each file once
 * (a split image names every -s00N file; a file named twice counts once). */
static const blockdev *vmdk_extra_file(const struct vdisk *v, size_t i)
{
    const struct vmdk *k = v->fmt;
    for (size_t e = 0; e < k->n; e++) {
        bool seen = !k->ext[e].owned;
        for (size_t j = 0; j < e && !seen; j++)
            seen = k->ext[j].file == k->ext[e].file;
        if (!seen && i-- == 0)
            return k->ext[e].file;
    }
    return NULL;
}

static const struct vdisk_layer_ops vmdk_ops = {
    .bd = { .format = "vmdk", .pread = vdisk_pread, .close = vdisk_close },
    .map = vmdk_map,
    .read_compressed = vmdk_read_compressed,
    .free = vmdk_free,
    .extra_file = vmdk_extra_file,
};

/* The sparse extent header: at byte 0, or for a streamOptimized file whose
 * grain directory is at the end, the copy 1024 bytes before the end. */
static int sparse_header(blockdev *f, uint8_t h[SECTOR], p2v_err *err)
{
    int r = bd_pread(f, h, SECTOR, 0, err);
    if (r < 0)
        return r;
    if (memcmp(h, "KDMV", 4) != 0)
        return p2v_errf(err, -EINVAL, "%s: VMDK: sparse extent without \"KDMV\" header",
                        bd_path(f));
    if (get_le64(h + 56) == GD_AT_END) {
        if (bd_size(f) < 3 * SECTOR)
            return p2v_errf(err, -EINVAL, "%s: VMDK: no footer for the grain directory at the end",
                            bd_path(f));
        if ((r = bd_pread(f, h, SECTOR, bd_size(f) - 2 * SECTOR, err)) < 0)
            return r;
        if (memcmp(h, "KDMV", 4) != 0 || get_le64(h + 56) == GD_AT_END)
            return p2v_errf(err, -EINVAL, "%s: VMDK: footer header is missing or incomplete",
                            bd_path(f));
    }
    return 0;
}

static int sparse_open(struct vmdk_extent *x, const uint8_t *h, uint64_t want_len, p2v_err *err)
{
    const char *path = bd_path(x->file);
    uint64_t fsize = bd_size(x->file);
    uint32_t version = get_le32(h + 4);
    x->flags = get_le32(h + 8);
    uint64_t capacity = get_le64(h + 12), gs = get_le64(h + 20), gd = get_le64(h + 56);
    x->gtes = get_le32(h + 44);
    if (version < 1 || version > 3)
        return p2v_errf(err, -ENOTSUP, "%s: VMDK: sparse extent version %u not supported", path,
                        version);
    if (gs < 1 || gs > MAX_GRAIN_SECTORS || (gs & (gs - 1)))
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: grain of %llu sectors is not a power of two up to 128 MiB",
                        path, (unsigned long long)gs);
    if (x->gtes == 0 || x->gtes > MAX_GTES)
        return p2v_errf(err, -EINVAL, "%s: VMDK: %u entries per grain table (1 to 512)", path,
                        x->gtes);
    if (capacity > MAX_CAPACITY / SECTOR)
        return p2v_errf(err, -EFBIG, "%s: VMDK: capacity of %llu sectors is too large", path,
                        (unsigned long long)capacity);
    x->grain = gs * SECTOR;
    x->compressed = x->flags & FLAG_COMPRESSED;
    if (x->compressed && get_le16(h + 77) != 1)
        return p2v_errf(err, -ENOTSUP, "%s: VMDK: compression algorithm %u not supported", path,
                        get_le16(h + 77));
    if (want_len == UINT64_MAX)
        x->len = capacity * SECTOR;
    else if (want_len > capacity * SECTOR)
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: extent of %llu bytes is larger than its capacity (%llu sectors)",
                        path, (unsigned long long)want_len, (unsigned long long)capacity);
    uint64_t per_gt = (uint64_t)x->gtes * x->grain;
    uint64_t ngd = (capacity * SECTOR + per_gt - 1) / per_gt;
    if (gd > fsize / SECTOR || ngd * 4 > fsize - gd * SECTOR)
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: grain directory at sector %llu (%llu entries) is past the end "
                        "of the file",
                        path, (unsigned long long)gd, (unsigned long long)ngd);
    x->ngd = (uint32_t)ngd;
    int r = vdisk_read_u32_table(x->file, gd * SECTOR, ngd, false, &x->gd, err);
    for (uint64_t i = 0; r == 0 && i < ngd; i++) {
        uint64_t gt = (uint64_t)x->gd[i] * SECTOR;
        if (x->gd[i] && (gt > fsize || (uint64_t)x->gtes * 4 > fsize - gt))
            r = p2v_errf(err, -EINVAL,
                         "%s: VMDK: grain table %llu at offset %llu is past the end of the file",
                         path, (unsigned long long)i, (unsigned long long)gt);
    }
    return r;
}

/* ---- descriptor ---- */

struct desc {
    char *text;
    char create_type[64];
    uint32_t cid, parent_cid;
    bool has_parent;
    char parent[VDISK_PATH_MAX];
};

/* value of key="..." or key=... on a line; false if the line is not key */
static bool desc_value(const char *line, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, key, kl) != 0)
        return false;
    line += kl;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line++ != '=')
        return false;
    while (*line == ' ' || *line == '\t')
        line++;
    bool quoted = *line == '"';
    line += quoted;
    size_t n = 0;
    while (line[n] && line[n] != '\r' && (quoted ? line[n] != '"' : line[n] != ' '))
        n++;
    if (n >= outlen)
        return false;
    memcpy(out, line, n);
    out[n] = '\0';
    return true;
}

static int add_extent(struct vmdk *k, const struct vmdk_extent *x, p2v_err *err, const char *path)
{
    if (k->n >= MAX_EXTENTS)
        return p2v_errf(err, -EINVAL, "%s: VMDK: more than %d extents", path, MAX_EXTENTS);
    struct vmdk_extent *n = realloc(k->ext, (k->n + 1) * sizeof *n);
    if (!n)
        return p2v_errf(err, -ENOMEM, "out of memory");
    k->ext = n;
    k->ext[k->n++] = *x;
    return 0;
}

/* One extent line: ACCESS SECTORS TYPE "FILE" [OFFSET]. */
static int extent_line(struct vmdk *k, blockdev *file, struct vdisk_chain *ch, const char *line,
                       uint64_t *pos, p2v_err *err)
{
    const char *path = bd_path(file);
    char access[16], type[16], name[VDISK_PATH_MAX], full[VDISK_PATH_MAX];
    unsigned long long sectors, offset = 0;
    int used = 0;
    if (sscanf(line, "%15s %llu %15s%n", access, &sectors, type, &used) != 3)
        return p2v_errf(err, -EINVAL, "%s: VMDK: cannot read extent line \"%.80s\"", path, line);
    const char *p = line + used;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
    size_t nl = q ? (size_t)(q - (p + 1)) : 0;
    if ((!q || nl == 0) && strcmp(type, "ZERO") != 0) /* a zero extent needs no file */
        return p2v_errf(err, -EINVAL, "%s: VMDK: extent line without a file name", path);
    if (nl >= sizeof name)
        return p2v_errf(err, -ENAMETOOLONG, "%s: VMDK: extent file name too long", path);
    memcpy(name, p + 1, nl);
    name[nl] = '\0';
    if (!q || sscanf(q + 1, "%llu", &offset) != 1)
        offset = 0;
    if (sectors > MAX_CAPACITY / SECTOR || *pos + sectors * SECTOR > MAX_CAPACITY)
        return p2v_errf(err, -EFBIG, "%s: VMDK: extents of more than 64 TiB", path);
    struct vmdk_extent x = { .start = *pos, .len = sectors * SECTOR };
    if (!strcmp(type, "ZERO")) {
        x.kind = EXT_ZERO;
    } else if (!strcmp(type, "FLAT") || !strcmp(type, "VMFS")) {
        x.kind = EXT_FLAT;
        x.base = offset * SECTOR;
    } else if (!strcmp(type, "SPARSE")) {
        x.kind = EXT_SPARSE;
    } else {
        return p2v_errf(err, -ENOTSUP, "%s: VMDK: extent type %s not supported", path, type);
    }
    if (x.kind != EXT_ZERO) {
        if (vdisk_resolve(path, name, full, sizeof full) < 0)
            return p2v_errf(err, -ENAMETOOLONG, "%s: VMDK: extent path too long", path);
        int r = vdisk_open_file(ch, full, &x.file, err);
        if (r < 0)
            return r == -ENOENT ? p2v_errf(err, r, "%s: VMDK: extent file %s not found", path, full)
                                : r;
        x.owned = true;
        if ((bd_st_dev(x.file) || bd_st_ino(x.file)) && bd_st_dev(x.file) == bd_st_dev(file) &&
            bd_st_ino(x.file) == bd_st_ino(file)) {
            bd_close(x.file); /* the extent is the descriptor's own file */
            x.file = file;
            x.owned = false;
        }
        if (x.kind == EXT_FLAT && (x.base > bd_size(x.file) || x.len > bd_size(x.file) - x.base))
            r = p2v_errf(err, -EINVAL,
                         "%s: VMDK: flat extent %s (%llu bytes at %llu) is past its file's end",
                         path, full, (unsigned long long)x.len, (unsigned long long)x.base);
        uint8_t h[SECTOR];
        if (r == 0 && x.kind == EXT_SPARSE && (r = sparse_header(x.file, h, err)) == 0)
            r = sparse_open(&x, h, x.len, err);
        if (r < 0) {
            free(x.gd);
            if (x.owned)
                bd_close(x.file);
            return r;
        }
    }
    *pos += x.len;
    if (x.len == 0) {
        free(x.gd);
        if (x.owned)
            bd_close(x.file);
        return 0;
    }
    int r = add_extent(k, &x, err, path);
    if (r < 0) {
        free(x.gd);
        if (x.owned)
            bd_close(x.file);
    }
    return r;
}

/* extents: false for the descriptor embedded in a sparse file, which is its
 * one extent whatever name the descriptor gives it (so a renamed file still
 * opens, as in qemu); only the CIDs and the parent are taken from it. */
static int parse_descriptor(struct vmdk *k, blockdev *file, struct vdisk_chain *ch, struct desc *d,
                            bool extents, uint64_t *size, p2v_err *err)
{
    char val[VDISK_PATH_MAX];
    uint64_t pos = 0;
    d->parent_cid = 0xFFFFFFFFu;
    for (char *line = d->text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (desc_value(line, "createType", d->create_type, sizeof d->create_type)) {
            /* checked by the caller for a descriptor file */
        } else if (desc_value(line, "CID", val, sizeof val)) {
            k->cid = d->cid = (uint32_t)strtoul(val, NULL, 16);
        } else if (desc_value(line, "parentCID", val, sizeof val)) {
            d->parent_cid = (uint32_t)strtoul(val, NULL, 16);
        } else if (desc_value(line, "parentFileNameHint", d->parent, sizeof d->parent)) {
            d->has_parent = true;
        } else if (extents && (!strncmp(line, "RW ", 3) || !strncmp(line, "RDONLY ", 7) ||
                               !strncmp(line, "NOACCESS ", 9))) {
            int r = extent_line(k, file, ch, line, &pos, err);
            if (r < 0)
                return r;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (extents && k->n == 0)
        return p2v_errf(err, -EINVAL, "%s: VMDK: the descriptor names no extent", bd_path(file));
    *size = pos;
    return 0;
}

static int read_text(blockdev *f, uint64_t off, uint64_t len, char **out, p2v_err *err)
{
    if (len > MAX_DESC || off > bd_size(f) || len > bd_size(f) - off)
        return p2v_errf(err, -EINVAL,
                        "%s: VMDK: descriptor of %llu bytes at %llu is out of bounds or too large",
                        bd_path(f), (unsigned long long)len, (unsigned long long)off);
    char *t = malloc(len + 1);
    if (!t)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int r = bd_pread(f, t, len, off, err);
    if (r < 0) {
        free(t);
        return r;
    }
    t[len] = '\0';
    *out = t;
    return 0;
}

/* A descriptor file's createType, among those qemu opens from a descriptor
 * (its extent lines say the rest). */
static int check_create_type(const char *path, const char *ct, p2v_err *err)
{
    static const char *const ok[] = { "monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
                                      "twoGbMaxExtentSparse", "twoGbMaxExtentFlat" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(ct, ok[i]))
            return 0;
    return p2v_errf(err, -ENOTSUP, "%s: VMDK: unsupported image type '%s'", path, ct);
}

static int open_parent(blockdev *file, struct desc *d, struct vdisk_chain *ch, blockdev **out,
                       p2v_err *err)
{
    const char *path = bd_path(file);
    char full[VDISK_PATH_MAX];
    if (vdisk_resolve(path, d->parent, full, sizeof full) < 0)
        return p2v_errf(err, -ENAMETOOLONG, "%s: VMDK: parent path too long", path);
    int r = vdisk_open_parent(ch, path, full, vmdk_open_chain, out, err);
    if (r == -ENOENT)
        return p2v_errf(err, r, "%s: VMDK: parent %s not found", path, full);
    if (r < 0)
        return r;
    const struct vmdk *pk = ((const struct vdisk *)(*out)->priv)->fmt;
    if (pk->cid != d->parent_cid) {
        r = p2v_errf(err, -EINVAL,
                     "%s: VMDK: parent %s has CID %08x, the snapshot expects %08x (the parent "
                     "was changed after the snapshot was taken)",
                     path, full, pk->cid, d->parent_cid);
        bd_close(*out);
        *out = NULL;
    }
    return r;
}

int vmdk_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err)
{
    const char *path = bd_path(file);
    struct vmdk *k = calloc(1, sizeof *k);
    struct desc d = { 0 };
    blockdev *parent = NULL;
    uint64_t size = 0;
    uint8_t h[SECTOR] = { 0 };
    int r;
    if (!k) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((r = bd_pread(file, h, bd_size(file) < 4 ? (size_t)bd_size(file) : 4, 0, err)) < 0)
        goto fail;
    if (memcmp(h, "KDMV", 4) == 0) {
        if ((r = sparse_header(file, h, err)) < 0)
            goto fail;
        uint64_t doff = get_le64(h + 28), dlen = get_le64(h + 36), unused;
        if (doff && dlen) {
            if (doff > MAX_DESC || dlen > MAX_DESC / SECTOR) {
                r = p2v_errf(err, -EINVAL, "%s: VMDK: embedded descriptor out of bounds", path);
                goto fail;
            }
            if ((r = read_text(file, doff * SECTOR, dlen * SECTOR, &d.text, err)) < 0 ||
                (r = parse_descriptor(k, file, ch, &d, false, &unused, err)) < 0)
                goto fail;
        }
        /* the file is the one extent: the disk is its capacity */
        struct vmdk_extent x = { .kind = EXT_SPARSE, .file = file };
        if ((r = sparse_open(&x, h, UINT64_MAX, err)) < 0 || (r = add_extent(k, &x, err, path)) < 0) {
            free(x.gd);
            goto fail;
        }
        size = x.len;
    } else {
        uint64_t n = bd_size(file) < MAX_DESC ? bd_size(file) : MAX_DESC;
        if (bd_size(file) > MAX_DESC) {
            r = p2v_errf(err, -EINVAL, "%s: VMDK: descriptor file larger than 1 MiB", path);
            goto fail;
        }
        if ((r = read_text(file, 0, n, &d.text, err)) < 0 ||
            (r = parse_descriptor(k, file, ch, &d, true, &size, err)) < 0 ||
            (r = check_create_type(path, d.create_type, err)) < 0)
            goto fail;
    }
    if (d.has_parent && d.parent_cid != 0xFFFFFFFFu && (r = open_parent(file, &d, ch, &parent, err)) < 0)
        goto fail;
    free(d.text);
    uint64_t cluster = k->ext[0].kind == EXT_SPARSE ? k->ext[0].grain : 0;
    return vdisk_make(&vmdk_ops, k, file, parent, size, 512, cluster, out, err);
fail:
    free(d.text);
    return vdisk_abandon(&vmdk_ops, k, file, r);
}
