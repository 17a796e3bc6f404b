/* VHD (Microsoft's Virtual Hard Disk Image Format Specification): dynamic and
 * differencing disks read through their block allocation table; a fixed disk
 * as a parent. All fields are big-endian.
 *
 *   footer (512 bytes, at the end; a copy at byte 0 for dynamic disks)
 *   dynamic header (1024 bytes, at the footer's data offset)
 *   BAT: one u32 per block, the block's first sector, 0xFFFFFFFF = absent
 *   block: sector bitmap (1 bit per sector, rounded up to 512 bytes), data
 *
 * Reads follow qemu's vpc driver: an allocated block of a dynamic disk is
 * data whatever its bitmap says; in a differencing disk a clear bitmap bit
 * sends the sector to the parent. Size: the footer's current size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "util/guid.h"
#include "vdisk/vdisk_impl.h"

#define VHD_FOOTER 512
#define VHD_HEADER 1024
#define VHDF_COOKIE 0
#define VHDF_DATA_OFFSET 16
#define VHDF_CURRENT_SIZE 48
#define VHDF_TYPE 60
#define VHDF_UUID 68
#define VHDH_TABLE_OFFSET 16
#define VHDH_MAX_ENTRIES 28
#define VHDH_BLOCK_SIZE 32
#define VHDH_CHECKSUM 36
#define VHDH_PARENT_UUID 40
#define VHDH_PARENT_NAME 64
#define VHDH_PARENT_NAME_LEN 512
#define VHDH_LOCATORS 576
#define VHD_LOCATOR_SIZE 24
#define VHD_LOCATORS 8
#define VHD_TYPE_FIXED 2
#define VHD_TYPE_DYNAMIC 3
#define VHD_TYPE_DIFF 4
#define VHD_PLAT_W2RU 0x57327275u /* relative Windows path, UTF-16LE */
#define VHD_PLAT_W2KU 0x57326B75u /* absolute Windows path, UTF-16LE */
#define VHD_BAT_FREE 0xFFFFFFFFu
/* The largest VHD Hyper-V makes (2040 GiB); a bigger size is refused. */
#define VHD_MAX_SIZE (2040ULL << 30)
#define VHD_MAX_BLOCK (256u << 20)
#define VHD_MAX_LOCATOR 8192

struct vhd {
    uint32_t type;
    uint64_t size;
    uint8_t uuid[16];
    uint32_t block_size;
    uint32_t bitmap_size; /* bytes before each block's data */
    uint32_t nblocks;
    uint32_t *bat;        /* host order */
};

bool vhd_probe(const uint8_t *buf, size_t len)
{
    return len >= 8 && memcmp(buf, "conectix", 8) == 0;
}

static void vhd_free(void *p)
{
    struct vhd *h = p;
    if (h)
        free(h->bat);
    free(h);
}

static int vhd_map(const struct vdisk *v, uint64_t off, uint64_t max_len, vdisk_extent *e,
                   blockdev **file, p2v_err *err)
{
    const struct vhd *h = v->fmt;
    (void)file;
    if (h->type == VHD_TYPE_FIXED) {
        e->kind = VDISK_DATA;
        e->len = max_len;
        e->has_off = true;
        e->host_off = off;
        return 0;
    }
    uint64_t i = off / h->block_size, in = off % h->block_size;
    uint64_t len = h->block_size - in < max_len ? h->block_size - in : max_len;
    uint32_t ent = h->bat[i];
    if (ent == VHD_BAT_FREE) {
        /* qemu's vpc says zero (allocated) for a hole of a disk without parent */
        e->kind = v->parent ? VDISK_UNALLOCATED : VDISK_ZERO;
        e->len = len;
        return 0;
    }
    uint64_t blk = (uint64_t)ent * 512;
    e->kind = VDISK_DATA;
    e->has_off = true;
    e->host_off = blk + h->bitmap_size + in;
    e->len = len;
    if (h->type != VHD_TYPE_DIFF)
        return 0;
    /* Differencing: sector by sector per the bitmap. A run ends at a sector
     * boundary; a request starting inside a sector keeps to that sector. */
    uint32_t s = (uint32_t)(in / 512);
    uint64_t sec_end = ((uint64_t)s + 1) * 512 - in;
    uint32_t n = len <= sec_end ? 1 : 1 + (uint32_t)((len - sec_end + 511) / 512);
    bool set;
    uint64_t run; /* sectors from s on sharing s's bit, most significant bit first */
    int r = vdisk_bitmap_run(v->file, blk, s, n, true, &set, &run, err);
    if (r < 0)
        return r;
    uint64_t bytes = sec_end + (run - 1) * 512;
    e->len = bytes < len ? bytes : len;
    if (!set) {
        e->kind = VDISK_UNALLOCATED;
        e->has_off = false;
        e->host_off = 0;
    }
    return 0;
}

static const struct vdisk_layer_ops vhd_ops = {
    .bd = { .format = "vpc", .pread = vdisk_pread, .close = vdisk_close },
    .map = vhd_map,
    .free = vhd_free,
};

static uint32_t header_checksum(const uint8_t *hd)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < VHD_HEADER; i++)
        if (i < VHDH_CHECKSUM || i >= VHDH_CHECKSUM + 4)
            sum += hd[i];
    return ~sum;
}

/* A footer: the cookie and the checksum (one's complement of the byte sum,
 * the checksum field counted as zero). */
static bool footer_ok(const uint8_t f[VHD_FOOTER])
{
    uint32_t sum = 0;
    for (size_t i = 0; i < VHD_FOOTER; i++)
        if (i < 64 || i >= 68)
            sum += f[i];
    return memcmp(f, "conectix", 8) == 0 && ~sum == get_be32(f + 64);
}

/* The footer: the copy at byte 0 when it is valid, else the one at the end. */
static int read_footer(blockdev *file, uint8_t f[VHD_FOOTER], p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file);
    if (fsize < VHD_FOOTER)
        return p2v_errf(err, -EINVAL, "%s: VHD: file of %llu bytes is too small for a footer",
                        path, (unsigned long long)fsize);
    int r = bd_pread(file, f, VHD_FOOTER, 0, err);
    if (r < 0)
        return r;
    if (footer_ok(f))
        return 0;
    bool cookie0 = memcmp(f, "conectix", 8) == 0;
    if ((r = bd_pread(file, f, VHD_FOOTER, fsize - VHD_FOOTER, err)) < 0)
        return r;
    if (footer_ok(f))
        return 0;
    return p2v_errf(err, -EINVAL, "%s: VHD: %s", path,
                    cookie0 || memcmp(f, "conectix", 8) == 0
                        ? "footer checksum is wrong (in both copies)"
                        : "no VHD footer (\"conectix\") at the start or the end");
}

static int read_bat(blockdev *file, const uint8_t *hd, struct vhd *h, uint64_t dyn_off,
                    p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file);
    uint64_t table = get_be64(hd + VHDH_TABLE_OFFSET);
    uint32_t max = get_be32(hd + VHDH_MAX_ENTRIES);
    h->block_size = get_be32(hd + VHDH_BLOCK_SIZE);
    if (h->block_size < 512 || h->block_size > VHD_MAX_BLOCK ||
        (h->block_size & (h->block_size - 1)))
        return p2v_errf(err, -EINVAL,
                        "%s: VHD: block size %u is not a power of two from 512 bytes to 256 MiB",
                        path, h->block_size);
    uint64_t nblocks = (h->size + h->block_size - 1) / h->block_size;
    if (nblocks > max)
        return p2v_errf(err, -EINVAL,
                        "%s: VHD: the block table has %u entries; the disk size %llu needs %llu",
                        path, max, (unsigned long long)h->size, (unsigned long long)nblocks);
    if (table > fsize || nblocks * 4 > fsize - table)
        return p2v_errf(err, -EINVAL,
                        "%s: VHD: block table at offset %llu (%llu entries) goes past the end of "
                        "the file (%llu bytes)",
                        path, (unsigned long long)table, (unsigned long long)nblocks,
                        (unsigned long long)fsize);
    (void)dyn_off;
    h->nblocks = (uint32_t)nblocks;
    h->bitmap_size = (h->block_size / 512 / 8 + 511) & ~511u;
    return vdisk_read_u32_table(file, table, nblocks, true, &h->bat, err);
}

struct span {
    uint64_t start, end;
    uint64_t what; /* block number, or UINT64_MAX for metadata */
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Every allocated block lies inside the file, and no two blocks, nor a
 * block and the metadata (footer copy, header, table), share a byte. */
static int check_blocks(blockdev *file, const struct vhd *h, uint64_t dyn_off, uint64_t table,
                        p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file);
    struct span *s = malloc(((size_t)h->nblocks + 3) * sizeof *s);
    size_t n = 0;
    int r = 0;
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s[n++] = (struct span){ 0, VHD_FOOTER, UINT64_MAX };
    s[n++] = (struct span){ dyn_off, dyn_off + VHD_HEADER, UINT64_MAX };
    s[n++] = (struct span){ table, table + (uint64_t)h->nblocks * 4, UINT64_MAX };
    for (uint32_t i = 0; i < h->nblocks; i++) {
        if (h->bat[i] == VHD_BAT_FREE)
            continue;
        uint64_t start = (uint64_t)h->bat[i] * 512;
        uint64_t data = h->size - (uint64_t)i * h->block_size;
        uint64_t need = h->bitmap_size + (data < h->block_size ? data : h->block_size);
        if (start > fsize || need > fsize - start) {
            r = p2v_errf(err, -EINVAL,
                         "%s: VHD: block %u at offset %llu goes past the end of the file "
                         "(%llu bytes)",
                         path, i, (unsigned long long)start, (unsigned long long)fsize);
            goto out;
        }
        s[n++] = (struct span){ start, start + h->bitmap_size + h->block_size, i };
    }
    qsort(s, n, sizeof *s, span_cmp);
    for (size_t k = 1; k < n; k++)
        if (s[k].start < s[k - 1].end && s[k].what != UINT64_MAX) {
            const struct span *o = &s[k - 1];
            char other[64];
            if (o->what == UINT64_MAX)
                snprintf(other, sizeof other, "the image's metadata");
            else
                snprintf(other, sizeof other, "block %llu", (unsigned long long)o->what);
            r = p2v_errf(err, -EINVAL, "%s: VHD: block %llu at offset %llu overlaps %s", path,
                         (unsigned long long)s[k].what, (unsigned long long)s[k].start, other);
            goto out;
        }
out:
    free(s);
    return r;
}

/* The parent's name from one locator entry, as a path beside the child
 * (relative) or as written (absolute). 1 when found, 0 when not this kind. */
static int locator_path(blockdev *file, const uint8_t *loc, char *out, size_t outlen, p2v_err *err)
{
    const char *path = bd_path(file);
    uint32_t code = get_be32(loc), len = get_be32(loc + 8);
    uint64_t off = get_be64(loc + 16);
    if (code != VHD_PLAT_W2RU && code != VHD_PLAT_W2KU)
        return 0;
    if (len == 0 || len > VHD_MAX_LOCATOR || off > bd_size(file) || len > bd_size(file) - off)
        return p2v_errf(err, -EINVAL,
                        "%s: VHD: parent locator of %u bytes at offset %llu is out of bounds",
                        path, len, (unsigned long long)off);
    uint8_t raw[VHD_MAX_LOCATOR];
    char name[VDISK_PATH_MAX];
    int r = bd_pread(file, raw, len, off, err);
    if (r < 0)
        return r;
    if (vdisk_utf16_to_utf8(raw, len, false, name, sizeof name) < 0 || !name[0])
        return p2v_errf(err, -EINVAL, "%s: VHD: parent locator is not a UTF-16 path", path);
    const char *use = name;
    if (code == VHD_PLAT_W2KU && name[0] && name[1] == ':') {
        /* A drive letter means nothing here: the parent is looked for beside the child. */
        const char *b = strrchr(name, '\\');
        use = b ? b + 1 : name + 2;
    }
    if (vdisk_resolve(path, use, out, outlen) < 0)
        return p2v_errf(err, -ENAMETOOLONG, "%s: VHD: parent path is too long", path);
    return 1;
}

static int open_parent(blockdev *file, const uint8_t *hd, struct vdisk_chain *ch,
                       blockdev **out, p2v_err *err)
{
    const char *path = bd_path(file);
    char cand[VHD_LOCATORS + 1][VDISK_PATH_MAX], tried[1024] = "";
    unsigned nc = 0;
    /* Relative locators first, as Hyper-V does; then absolute ones. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < VHD_LOCATORS; i++) {
            const uint8_t *loc = hd + VHDH_LOCATORS + i * VHD_LOCATOR_SIZE;
            if ((get_be32(loc) == VHD_PLAT_W2RU) != (pass == 0))
                continue;
            int r = locator_path(file, loc, cand[nc], sizeof cand[nc], err);
            if (r < 0)
                return r;
            nc += (unsigned)r;
        }
    if (nc == 0) {
        /* No Windows locator: the parent's file name in the header, beside the child. */
        char name[VDISK_PATH_MAX];
        if (vdisk_utf16_to_utf8(hd + VHDH_PARENT_NAME, VHDH_PARENT_NAME_LEN, true, name,
                                sizeof name) < 0 || !name[0])
            return p2v_errf(err, -EINVAL,
                            "%s: VHD: differencing disk names no parent (no locator, no name)",
                            path);
        const char *b = strrchr(name, '\\');
        if (vdisk_resolve(path, b ? b + 1 : name, cand[nc++], sizeof cand[0]) < 0)
            return p2v_errf(err, -ENAMETOOLONG, "%s: VHD: parent path is too long", path);
    }
    for (unsigned i = 0; i < nc; i++) {
        int r = vdisk_open_parent(ch, path, cand[i], vhd_open_chain, out, err);
        if (r != -ENOENT) /* the message names the file in the chain that failed */
            return r;
        vdisk_list_add(tried, sizeof tried, cand[i]);
    }
    return p2v_errf(err, -ENOENT, "%s: VHD: parent not found (looked for %s)", path, tried);
}

static int check_parent_id(blockdev *file, const uint8_t *hd, blockdev *parent, p2v_err *err)
{
    const struct vdisk *pv = parent->priv;
    const struct vhd *ph = pv->fmt;
    if (memcmp(ph->uuid, hd + VHDH_PARENT_UUID, 16) == 0)
        return 0;
    p2v_guid want, got;
    char ws[P2V_GUID_STRLEN], gs[P2V_GUID_STRLEN];
    memcpy(want.b, hd + VHDH_PARENT_UUID, 16);
    memcpy(got.b, ph->uuid, 16);
    guid_format(&want, ws);
    guid_format(&got, gs);
    return p2v_errf(err, -EINVAL,
                    "%s: VHD: parent %s has identifier %s, the differencing disk expects %s "
                    "(the parent was replaced or changed)",
                    bd_path(file), bd_path(parent), gs, ws);
}

static int open_dynamic(blockdev *file, struct vhd *h, const uint8_t *f, struct vdisk_chain *ch,
                        blockdev **parent, p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file);
    uint64_t dyn = get_be64(f + VHDF_DATA_OFFSET);
    uint8_t hd[VHD_HEADER];
    int r;
    if (dyn > fsize || VHD_HEADER > fsize - dyn)
        return p2v_errf(err, -EINVAL,
                        "%s: VHD: dynamic header at offset %llu is past the end of the file "
                        "(%llu bytes)",
                        path, (unsigned long long)dyn, (unsigned long long)fsize);
    if ((r = bd_pread(file, hd, sizeof hd, dyn, err)) < 0)
        return r;
    if (memcmp(hd, "cxsparse", 8) != 0)
        return p2v_errf(err, -EINVAL, "%s: VHD: no dynamic header (\"cxsparse\") at offset %llu",
                        path, (unsigned long long)dyn);
    if (header_checksum(hd) != get_be32(hd + VHDH_CHECKSUM))
        return p2v_errf(err, -EINVAL, "%s: VHD: dynamic header checksum is wrong", path);
    if ((r = read_bat(file, hd, h, dyn, err)) < 0 ||
        (r = check_blocks(file, h, dyn, get_be64(hd + VHDH_TABLE_OFFSET), err)) < 0)
        return r;
    if (h->type != VHD_TYPE_DIFF)
        return 0;
    if ((r = open_parent(file, hd, ch, parent, err)) < 0)
        return r;
    if (strcmp(bd_format(*parent), "vpc") != 0 || !vdisk_is(*parent)) {
        r = p2v_errf(err, -EINVAL, "%s: VHD: parent %s is not a VHD", path, bd_path(*parent));
    } else {
        r = check_parent_id(file, hd, *parent, err);
    }
    if (r < 0) {
        bd_close(*parent);
        *parent = NULL;
    }
    return r;
}

int vhd_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err)
{
    const char *path = bd_path(file);
    uint8_t f[VHD_FOOTER];
    blockdev *parent = NULL;
    struct vhd *h = calloc(1, sizeof *h);
    int r;
    if (!h) {
        bd_close(file);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    if ((r = read_footer(file, f, err)) < 0)
        goto fail;
    h->type = get_be32(f + VHDF_TYPE);
    h->size = get_be64(f + VHDF_CURRENT_SIZE);
    memcpy(h->uuid, f + VHDF_UUID, 16);
    if (h->size > VHD_MAX_SIZE) {
        r = p2v_errf(err, -EFBIG, "%s: VHD: disk size %llu bytes is over the format's 2040 GiB",
                     path, (unsigned long long)h->size);
        goto fail;
    }
    if (h->type == VHD_TYPE_FIXED) {
        if (bd_size(file) < VHD_FOOTER || h->size > bd_size(file) - VHD_FOOTER) {
            r = p2v_errf(err, -EINVAL,
                         "%s: VHD: fixed disk of %llu bytes does not fit in the file (%llu bytes)",
                         path, (unsigned long long)h->size, (unsigned long long)bd_size(file));
            goto fail;
        }
    } else if (h->type == VHD_TYPE_DYNAMIC || h->type == VHD_TYPE_DIFF) {
        if ((r = open_dynamic(file, h, f, ch, &parent, err)) < 0)
            goto fail;
    } else {
        r = p2v_errf(err, -EINVAL, "%s: VHD: unknown disk type %u", path, h->type);
        goto fail;
    }
    return vdisk_make(&vhd_ops, h, file, parent, h->size, 512,
                      h->type == VHD_TYPE_FIXED ? 0 : h->block_size, out, err);
fail:
    return vdisk_abandon(&vhd_ops, h, file, r);
}
