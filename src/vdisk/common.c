/* What the VHD, VHDX and VMDK readers share: the format table, the blockdev
 * wrapper whose reads walk the format's map (data in a file, zeros, the
 * parent, compressed grains), parent and extent files opened down a chain
 * that refuses loops, and the small text helpers (CRC-32C, UTF-16, paths). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/endian.h"
#include "util/iowalk.h"
#include "vdisk/vdisk_impl.h"

const struct vdisk_format vdisk_formats[] = {
    { "vpc", vhd_probe, vhd_open },
    { "vhdx", vhdx_probe, vhdx_open },
    { "vmdk", vmdk_probe, vmdk_open },
};
const size_t vdisk_format_count = sizeof vdisk_formats / sizeof vdisk_formats[0];

const struct vdisk_format *vdisk_match(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < vdisk_format_count; i++)
        if (vdisk_formats[i].probe(buf, len))
            return &vdisk_formats[i];
    return NULL;
}

/* The formats' entry points: each opens file as the top of a new chain. */
static int open_top(vdisk_chain_open_fn open_chain, blockdev *file, const struct vdisk_opts *o,
                    blockdev **out, p2v_err *err)
{
    struct vdisk_chain ch;
    vdisk_chain_init(&ch, o, file);
    return open_chain(file, &ch, out, err);
}

int vhd_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err)
{
    return open_top(vhd_open_chain, file, o, out, err);
}

int vhdx_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err)
{
    return open_top(vhdx_open_chain, file, o, out, err);
}

int vmdk_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err)
{
    return open_top(vmdk_open_chain, file, o, out, err);
}

int vhd_open(blockdev *file, blockdev **out, p2v_err *err)
{
    return vhd_open_opts(file, NULL, out, err);
}

int vhdx_open(blockdev *file, blockdev **out, p2v_err *err)
{
    return vhdx_open_opts(file, NULL, out, err);
}

int vmdk_open(blockdev *file, blockdev **out, p2v_err *err)
{
    return vmdk_open_opts(file, NULL, out, err);
}

const struct vdisk_format *vdisk_find(const char *name)
{
    for (size_t i = 0; i < vdisk_format_count; i++)
        if (!strcmp(vdisk_formats[i].name, name))
            return &vdisk_formats[i];
    return NULL;
}

/* ---- the blockdev over a parsed image ---- */

int vdisk_read_u32_table(blockdev *file, uint64_t off, uint64_t n, bool be, uint32_t **out,
                         p2v_err *err)
{
    uint32_t *t = *out = malloc(n ? n * 4 : 1);
    uint8_t *raw = malloc(n ? n * 4 : 1);
    int r = 0;
    if (!t || !raw)
        r = p2v_errf(err, -ENOMEM, "out of memory");
    else if (n)
        r = bd_pread(file, raw, n * 4, off, err);
    for (uint64_t i = 0; r == 0 && i < n; i++)
        t[i] = be ? get_be32(raw + i * 4) : get_le32(raw + i * 4);
    free(raw);
    return r;
}

static bool bit_at(const uint8_t *buf, uint64_t i, bool msb_first)
{
    return buf[i / 8] >> (msb_first ? 7 - i % 8 : i % 8) & 1;
}

int vdisk_bitmap_run(blockdev *file, uint64_t at, uint64_t bit, uint64_t n, bool msb_first,
                     bool *set, uint64_t *run, p2v_err *err)
{
    uint8_t buf[512];
    uint64_t first = bit / 8, nbytes = (bit + n - 1) / 8 - first + 1;
    if (nbytes > sizeof buf)
        nbytes = sizeof buf;
    int r = bd_pread(file, buf, (size_t)nbytes, at + first, err);
    if (r < 0)
        return r;
    uint64_t from = bit % 8; /* bit's place in buf */
    uint64_t limit = nbytes * 8 - from < n ? nbytes * 8 - from : n;
    *set = bit_at(buf, from, msb_first);
    uint64_t k = 0;
    while (k < limit && bit_at(buf, from + k, msb_first) == *set)
        k++;
    *run = k;
    return 0;
}

/* A read being walked run by run of the format's map (io_walk). */
struct vdisk_read {
    blockdev *bd;
    uint8_t *buf;
};

/* One piece of a read: the run of the map at off, from wherever it lies. */
static int64_t read_run(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err)
{
    const struct vdisk_read *rd = ctx;
    const struct vdisk *v = rd->bd->priv;
    uint8_t *p = rd->buf + at;
    vdisk_extent e = { 0 };
    blockdev *f = v->file;
    int r = v->ops->map(v, off, len, &e, &f, err);
    if (r < 0)
        return r;
    if (e.len == 0 || e.len > len)
        return p2v_errf(err, -EIO, "%s: internal error: empty run at offset %llu",
                        rd->bd->path, (unsigned long long)off);
    size_t n = (size_t)e.len;
    switch (e.kind) {
    case VDISK_DATA:
        r = bd_pread(f, p, n, e.host_off, err);
        break;
    case VDISK_COMPRESSED:
        r = v->ops->read_compressed(v, p, n, off, err);
        break;
    case VDISK_ZERO:
        memset(p, 0, n);
        break;
    case VDISK_UNALLOCATED: {
        uint64_t psize = v->parent ? bd_size(v->parent) : 0;
        size_t from_parent = off >= psize ? 0 : (psize - off < n ? (size_t)(psize - off) : n);
        if (from_parent)
            r = bd_pread(v->parent, p, from_parent, off, err);
        memset(p + from_parent, 0, n - from_parent);
        break;
    }
    }
    return r < 0 ? r : (int64_t)n;
}

int vdisk_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct vdisk_read rd = { .bd = bd, .buf = buf };
    return io_walk(off, len, read_run, &rd, err);
}

void vdisk_close(blockdev *bd)
{
    struct vdisk *v = bd->priv;
    if (v->ops->free)
        v->ops->free(v->fmt);
    bd_close(v->parent);
    bd_close(v->file);
}

int vdisk_abandon(const struct vdisk_layer_ops *ops, void *fmt, blockdev *file, int r)
{
    if (ops->free)
        ops->free(fmt);
    bd_close(file);
    return r;
}

int vdisk_make(const struct vdisk_layer_ops *ops, void *fmt, blockdev *file, blockdev *parent,
               uint64_t size, uint32_t sector_size, uint64_t cluster_size, blockdev **out,
               p2v_err *err)
{
    blockdev *bd = bd_alloc_priv(&ops->bd, bd_path(file), sizeof(struct vdisk));
    if (!bd) {
        bd_close(parent);
        return vdisk_abandon(ops, fmt, file, p2v_errf(err, -ENOMEM, "out of memory"));
    }
    struct vdisk *v = bd->priv;
    v->ops = ops;
    v->fmt = fmt;
    v->file = file;
    v->parent = parent;
    v->cluster_size = cluster_size;
    bd->size = size;
    bd->sector_size = sector_size;
    bd->sector_size_set = sector_size != 512;
    bd->st_dev = bd_st_dev(file);
    bd->st_ino = bd_st_ino(file);
    bd->backing = parent;
    *out = bd;
    return 0;
}

bool vdisk_is(const blockdev *bd) { return bd && bd->ops->pread == vdisk_pread; }

int vdisk_status(const blockdev *bd, uint64_t off, uint64_t max_len, vdisk_extent *e,
                 p2v_err *err)
{
    const struct vdisk *v = bd->priv;
    blockdev *f = v->file;
    if (off >= bd->size || max_len == 0)
        return p2v_errf(err, -EINVAL, "%s: status asked at offset %llu, past the end",
                        bd->path, (unsigned long long)off);
    if (max_len > bd->size - off)
        max_len = bd->size - off;
    memset(e, 0, sizeof *e);
    int r = v->ops->map(v, off, max_len, e, &f, err);
    e->file = f ? bd_path(f) : NULL;
    return r;
}

uint64_t vdisk_cluster_size(const blockdev *bd)
{
    return vdisk_is(bd) ? ((const struct vdisk *)bd->priv)->cluster_size : 0;
}

const blockdev *vdisk_extra_file(const blockdev *bd, size_t i)
{
    const struct vdisk *v = vdisk_is(bd) ? bd->priv : NULL;
    return v && v->ops->extra_file ? v->ops->extra_file(v, i) : NULL;
}

uint64_t vdisk_extra_file_bytes(const blockdev *bd)
{
    uint64_t sum = 0;
    const blockdev *f;
    for (size_t i = 0; (f = vdisk_extra_file(bd, i)); i++) {
        struct stat st;
        int fd = bd_raw_fd(f);
        if (fd >= 0 && fstat(fd, &st) == 0)
            sum += (uint64_t)st.st_blocks * 512;
    }
    return sum;
}

/* ---- chains of files ---- */

void vdisk_chain_init(struct vdisk_chain *ch, const struct vdisk_opts *o, const blockdev *file)
{
    memset(ch, 0, sizeof *ch);
    if (o)
        ch->o = *o;
    ch->dev[0] = bd_st_dev(file);
    ch->ino[0] = bd_st_ino(file);
}

int vdisk_open_file(struct vdisk_chain *ch, const char *path, blockdev **out, p2v_err *err)
{
    if (ch->o.open_file)
        return ch->o.open_file(ch->o.opaque, path, out, err);
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return p2v_errf(err, -ENOENT, "%s: no such file", path);
    return bd_open_raw(path, out, err);
}

int vdisk_open_parent(struct vdisk_chain *ch, const char *child, const char *path,
                      vdisk_chain_open_fn open_fn, blockdev **out, p2v_err *err)
{
    if (ch->depth >= VDISK_MAX_CHAIN)
        return p2v_errf(err, -ELOOP, "%s: parent chain too deep: more than %d parents (the limit)",
                        child, VDISK_MAX_CHAIN);
    blockdev *file;
    int r = vdisk_open_file(ch, path, &file, err);
    if (r < 0)
        return r;
    dev_t dev = bd_st_dev(file);
    ino_t ino = bd_st_ino(file);
    for (unsigned i = 0; i <= ch->depth && (dev || ino); i++)
        if (ch->dev[i] == dev && ch->ino[i] == ino) {
            bd_close(file);
            return p2v_errf(err, -ELOOP, "%s: parent chain loops: parent %s is already in the chain",
                            child, path);
        }
    ch->depth++;
    ch->dev[ch->depth] = dev;
    ch->ino[ch->depth] = ino;
    r = open_fn(file, ch, out, err);
    ch->depth--;
    return r;
}

/* ---- helpers ---- */

void vdisk_list_add(char *list, size_t size, const char *item)
{
    size_t t = strlen(list);
    const char *parts[2] = { t ? ", " : "", item };
    for (int i = 0; i < 2; i++)
        for (const char *c = parts[i]; *c && t + 1 < size; c++)
            list[t++] = *c;
    list[t] = '\0';
}

uint32_t vdisk_crc32c(uint32_t crc, const uint8_t *buf, size_t len)
{
    static uint32_t table[256];
    static int ready; /* idempotent fill: racing threads write the same values */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* Castagnoli, reflected */
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static int put_utf8(uint32_t cp, char *out, size_t outlen, size_t *o)
{
    /* The bytes after the first (6 bits each) and the first byte's marker. */
    static const uint8_t lead[4] = { 0x00, 0xC0, 0xE0, 0xF0 };
    unsigned more = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    if (*o + more + 1 >= outlen)
        return -ENAMETOOLONG;
    out[(*o)++] = (char)(lead[more] | cp >> (6 * more));
    while (more--)
        out[(*o)++] = (char)(0x80 | ((cp >> (6 * more)) & 0x3F));
    return 0;
}

int vdisk_utf16_to_utf8(const uint8_t *in, size_t n, bool be, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return -ENAMETOOLONG;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t u = be ? (uint32_t)(in[i] << 8 | in[i + 1]) : (uint32_t)(in[i] | in[i + 1] << 8);
        if (u == 0)
            break;
        if (u >= 0xDC00 && u <= 0xDFFF)
            return -EILSEQ;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 3 >= n)
                return -EILSEQ;
            uint32_t l = be ? (uint32_t)(in[i + 2] << 8 | in[i + 3])
                            : (uint32_t)(in[i + 2] | in[i + 3] << 8);
            if (l < 0xDC00 || l > 0xDFFF)
                return -EILSEQ;
            u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
            i += 2;
        }
        int r = put_utf8(u, out, outlen, &o);
        if (r < 0)
            return r;
    }
    out[o] = '\0';
    return 0;
}

int vdisk_resolve(const char *base_path, const char *name, char *out, size_t outlen)
{
    char tmp[VDISK_PATH_MAX];
    size_t n = strlen(name);
    if (n >= sizeof tmp)
        return -ENAMETOOLONG;
    for (size_t i = 0; i <= n; i++)
        tmp[i] = name[i] == '\\' ? '/' : name[i];
    const char *rel = tmp;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    const char *slash = strrchr(base_path, '/');
    size_t dirlen = rel[0] != '/' && slash ? (size_t)(slash - base_path) + 1 : 0;
    size_t rlen = strlen(rel);
    if (rlen == 0 || dirlen + rlen + 1 > outlen)
        return -ENAMETOOLONG;
    memcpy(out, base_path, dirlen);
    memcpy(out + dirlen, rel, rlen + 1);
    return 0;
}
