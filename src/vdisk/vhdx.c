/* Longer than 600 lines on purpose: headers, region table, metadata, BAT and parent chain are
 * the checks of one open file; each is its own function. */
/* VHDX ([MS-VHDX]): what Hyper-V and disk2vhd write. All fields little-endian.
 *
 *   0        file identifier "vhdxfile"
 *   64 KiB   header 1, 128 KiB header 2 (4 KiB each, CRC-32C; the valid one
 *            with the higher sequence number is current)
 *   192 KiB  region table 1, 256 KiB region table 2 (64 KiB, CRC-32C): where
 *            the BAT and the metadata region are (1 MiB aligned)
 *   metadata table: block size, virtual disk size, logical sector size,
 *            parent locator (differencing)
 *   BAT: u64 entries, state in bits 0-2, file offset in MiB in bits 20-63;
 *            after every chunk-ratio payload entries one sector-bitmap entry
 *
 * A log with entries for this file (log GUID set, "loge" entries carrying
 * it) means writes not yet applied: refused, never replayed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "util/guid.h"
#include "vdisk/vdisk_impl.h"

#define MIB (1ULL << 20)
#define KIB64 (64u << 10)
#define HDR_SIZE 4096
#define HDR1_OFF (64u << 10)
#define HDR2_OFF (128u << 10)
#define RT1_OFF (192u << 10)
#define RT2_OFF (256u << 10)
#define RT_SIZE (64u << 10)
#define RT_MAX_ENTRIES 2047
#define MD_MAX_ENTRIES 2047
#define MAX_VSIZE (64ULL << 40) /* the format's limit: 64 TiB */
#define LOG_ENTRY_SIG "loge"
#define KV_MAX 256

enum { PB_NOT_PRESENT = 0, PB_UNDEFINED = 1, PB_ZERO = 2, PB_UNMAPPED = 3, PB_FULL = 6,
       PB_PARTIAL = 7 };
enum { SB_NOT_PRESENT = 0, SB_PRESENT = 6 };

/* GUIDs in their on-disk order (first three fields little-endian). */
static const char *const BAT_GUID = "2dc27766-f623-4200-9d64-115e9bfd4a08";
static const char *const META_GUID = "8b7ca206-4790-4b9a-b8fe-575f050f886e";
static const char *const FILE_PARAMS_GUID = "caa16737-fa36-4d43-b3b6-33f0aa44e76b";
static const char *const VSIZE_GUID = "2fa54224-cd1b-4876-b211-5dbed83bf4b8";
static const char *const LSS_GUID = "8141bf1d-a96f-4709-ba47-f233a8faab5f";
static const char *const PSS_GUID = "cda348c7-445d-4471-9cc9-e9885251c556";
static const char *const DISK_ID_GUID = "beca12ab-b2e6-4523-93ef-c309e000c746";
static const char *const PARENT_LOC_GUID = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c";
static const char *const VHDX_LOCATOR_TYPE = "b04aefb7-d19e-4a81-b789-25b8e9445913";

struct vhdx {
    uint64_t size;
    uint32_t block_size, lss;
    uint64_t chunk_ratio;
    uint64_t nbat;
    uint64_t *bat;
    bool has_parent;
    uint8_t data_write_guid[16];
};

bool vhdx_probe(const uint8_t *buf, size_t len)
{
    return len >= 8 && memcmp(buf, "vhdxfile", 8) == 0;
}

static bool guid_is(const uint8_t *b, const char *text)
{
    p2v_guid g;
    return guid_parse(text, &g) == 0 && memcmp(g.b, b, 16) == 0;
}

static void vhdx_free(void *p)
{
    struct vhdx *x = p;
    if (x)
        free(x->bat);
    free(x);
}

static uint64_t payload_index(const struct vhdx *x, uint64_t blk)
{
    return blk + blk / x->chunk_ratio;
}

/* In a partially present block, how many sectors from sector s (of the
 * block) on share s's bitmap bit (at most n): 1 bit per logical sector,
 * least significant bit first. */
static int bitmap_run(const struct vdisk *v, uint64_t blk, uint64_t s, uint64_t n, bool *set,
                      uint64_t *run, p2v_err *err)
{
    const struct vhdx *x = v->fmt;
    uint64_t chunk = blk / x->chunk_ratio;
    uint64_t sb = x->bat[chunk * (x->chunk_ratio + 1) + x->chunk_ratio];
    if ((sb & 7) != SB_PRESENT)
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: block %llu is partially present but its sector bitmap is not",
                        bd_path(v->file), (unsigned long long)blk);
    uint64_t bit = (blk % x->chunk_ratio) * (x->block_size / x->lss) + s;
    return vdisk_bitmap_run(v->file, (sb >> 20) * MIB, bit, n, false, set, run, err);
}

static int vhdx_map(const struct vdisk *v, uint64_t off, uint64_t max_len, vdisk_extent *e,
                    blockdev **file, p2v_err *err)
{
    const struct vhdx *x = v->fmt;
    (void)file;
    uint64_t blk = off / x->block_size, in = off % x->block_size;
    uint64_t len = x->block_size - in < max_len ? x->block_size - in : max_len;
    uint64_t ent = x->bat[payload_index(x, blk)];
    e->len = len;
    switch (ent & 7) {
    case PB_FULL:
        e->kind = VDISK_DATA;
        e->has_off = true;
        e->host_off = (ent >> 20) * MIB + in;
        return 0;
    case PB_ZERO:
        e->kind = VDISK_ZERO;
        return 0;
    case PB_PARTIAL:
        break;
    default: /* not present, undefined, unmapped: the parent's, or zeros */
        e->kind = VDISK_UNALLOCATED;
        return 0;
    }
    uint64_t s = in / x->lss, sec_end = (s + 1) * x->lss - in;
    uint64_t n = len <= sec_end ? 1 : 1 + (len - sec_end + x->lss - 1) / x->lss;
    bool set;
    uint64_t run;
    int r = bitmap_run(v, blk, s, n, &set, &run, err);
    if (r < 0)
        return r;
    uint64_t bytes = sec_end + (run - 1) * x->lss;
    e->len = bytes < len ? bytes : len;
    e->kind = set ? VDISK_DATA : VDISK_UNALLOCATED;
    e->has_off = set;
    e->host_off = set ? (ent >> 20) * MIB + in : 0;
    return 0;
}

static const struct vdisk_layer_ops vhdx_ops = {
    .bd = { .format = "vhdx", .pread = vdisk_pread, .close = vdisk_close },
    .map = vhdx_map,
    .free = vhdx_free,
};

/* A structure with a CRC-32C at byte 4 over len bytes (the field as zero). */
static bool crc_ok(uint8_t *buf, size_t len)
{
    uint32_t want = get_le32(buf + 4);
    put_le32(buf + 4, 0);
    bool ok = vdisk_crc32c(0, buf, len) == want;
    put_le32(buf + 4, want);
    return ok;
}

static int read_header(blockdev *file, uint8_t hdr[HDR_SIZE], p2v_err *err)
{
    const char *path = bd_path(file);
    uint8_t h[2][HDR_SIZE];
    bool ok[2];
    int r;
    for (int i = 0; i < 2; i++) {
        if ((r = bd_pread(file, h[i], HDR_SIZE, i ? HDR2_OFF : HDR1_OFF, err)) < 0)
            return r;
        ok[i] = memcmp(h[i], "head", 4) == 0 && crc_ok(h[i], HDR_SIZE);
    }
    if (!ok[0] && !ok[1])
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: neither header (at 64 KiB, 128 KiB) is valid (signature or "
                        "CRC-32C)",
                        path);
    int cur = !ok[0] || (ok[1] && get_le64(h[1] + 8) > get_le64(h[0] + 8));
    memcpy(hdr, h[cur], HDR_SIZE);
    if (get_le16(hdr + 66) != 1 || get_le16(hdr + 64) != 0)
        return p2v_errf(err, -ENOTSUP, "%s: VHDX: version %u (log version %u) is not 1 (0)",
                        path, get_le16(hdr + 66), get_le16(hdr + 64));
    return 0;
}

/* Refuse a log that holds entries for this file (writes not yet applied). */
static int check_log(blockdev *file, const uint8_t *hdr, p2v_err *err)
{
    const char *path = bd_path(file);
    static const uint8_t zero[16];
    if (memcmp(hdr + 48, zero, 16) == 0)
        return 0; /* log GUID zero: the log is empty */
    uint64_t off = get_le64(hdr + 72), len = get_le32(hdr + 68), fsize = bd_size(file);
    if (off % MIB || len % MIB || off < MIB || off > fsize || len > fsize - off)
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: log of %llu bytes at offset %llu is out of bounds", path,
                        (unsigned long long)len, (unsigned long long)off);
    uint8_t sec[64];
    for (uint64_t p = 0; p < len; p += 4096) {
        int r = bd_pread(file, sec, sizeof sec, off + p, err);
        if (r < 0)
            return r;
        if (memcmp(sec, LOG_ENTRY_SIG, 4) == 0 && memcmp(sec + 32, hdr + 48, 16) == 0)
            return p2v_errf(err, -ENOTSUP,
                            "%s: VHDX: the log holds writes not yet applied (the file was not "
                            "closed cleanly by Hyper-V); p2v does not replay logs: attach the "
                            "file once in Windows or Hyper-V, or replay it with qemu-img check "
                            "-r all on a copy, first",
                            path);
    }
    return 0;
}

struct region {
    uint64_t off, len;
};

static int read_regions(blockdev *file, struct region *bat, struct region *meta, p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file);
    uint8_t *rt = malloc(RT_SIZE);
    int r = 0;
    if (!rt)
        return p2v_errf(err, -ENOMEM, "out of memory");
    bool ok = false;
    for (int i = 0; i < 2 && !ok; i++) {
        if ((r = bd_pread(file, rt, RT_SIZE, i ? RT2_OFF : RT1_OFF, err)) < 0)
            goto out;
        ok = memcmp(rt, "regi", 4) == 0 && crc_ok(rt, RT_SIZE);
    }
    if (!ok) {
        r = p2v_errf(err, -EINVAL, "%s: VHDX: no valid region table (signature or CRC-32C)", path);
        goto out;
    }
    uint32_t n = get_le32(rt + 8);
    if (n > RT_MAX_ENTRIES) {
        r = p2v_errf(err, -EINVAL, "%s: VHDX: region table has %u entries (at most %d)", path, n,
                     RT_MAX_ENTRIES);
        goto out;
    }
    bat->len = meta->len = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = rt + 16 + 32 * i;
        struct region g = { get_le64(e + 16), get_le32(e + 24) };
        bool is_bat = guid_is(e, BAT_GUID), is_meta = guid_is(e, META_GUID);
        if (!is_bat && !is_meta) {
            if (get_le32(e + 28) & 1) {
                r = p2v_errf(err, -ENOTSUP, "%s: VHDX: unknown required region %u", path, i);
                goto out;
            }
            continue;
        }
        if (g.off % MIB || g.len % MIB || g.off < MIB || g.len == 0 || g.off > fsize ||
            g.len > fsize - g.off) {
            r = p2v_errf(err, -EINVAL,
                         "%s: VHDX: %s region of %llu bytes at offset %llu is out of bounds or "
                         "not 1 MiB aligned (file %llu bytes)",
                         path, is_bat ? "BAT" : "metadata", (unsigned long long)g.len,
                         (unsigned long long)g.off, (unsigned long long)fsize);
            goto out;
        }
        *(is_bat ? bat : meta) = g;
    }
    if (!bat->len || !meta->len) {
        r = p2v_errf(err, -EINVAL, "%s: VHDX: region table has no %s region", path,
                     bat->len ? "metadata" : "BAT");
        goto out;
    }
    if (bat->off < meta->off + meta->len && meta->off < bat->off + bat->len)
        r = p2v_errf(err, -EINVAL, "%s: VHDX: BAT and metadata regions overlap", path);
out:
    free(rt);
    return r;
}

/* The metadata item of that GUID: its bytes (len of them, at most cap). */
struct md {
    uint8_t *region; /* the whole metadata region */
    uint64_t len;
    uint16_t count;
};

static const uint8_t *md_item(const struct md *m, const char *guid, uint32_t *len)
{
    for (uint16_t i = 0; i < m->count; i++) {
        const uint8_t *e = m->region + 32 + 32 * i;
        if (guid_is(e, guid)) {
            *len = get_le32(e + 20);
            return m->region + get_le32(e + 16);
        }
    }
    return NULL;
}

static int read_metadata(blockdev *file, const struct region *meta, struct md *m, p2v_err *err)
{
    const char *path = bd_path(file);
    if (meta->len > (64u << 20))
        return p2v_errf(err, -EINVAL, "%s: VHDX: metadata region of %llu bytes is too large",
                        path, (unsigned long long)meta->len);
    m->len = meta->len;
    m->region = malloc(meta->len);
    if (!m->region)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int r = bd_pread(file, m->region, meta->len, meta->off, err);
    if (r < 0)
        return r;
    if (memcmp(m->region, "metadata", 8) != 0)
        return p2v_errf(err, -EINVAL, "%s: VHDX: no metadata table (\"metadata\") at offset %llu",
                        path, (unsigned long long)meta->off);
    m->count = get_le16(m->region + 10);
    if (m->count > MD_MAX_ENTRIES)
        return p2v_errf(err, -EINVAL, "%s: VHDX: metadata table has %u entries (at most %d)",
                        path, m->count, MD_MAX_ENTRIES);
    for (uint16_t i = 0; i < m->count; i++) {
        const uint8_t *e = m->region + 32 + 32 * i;
        uint64_t off = get_le32(e + 16), len = get_le32(e + 20);
        uint32_t flags = get_le32(e + 24);
        if (len && (off < KIB64 || off > m->len || len > m->len - off))
            return p2v_errf(err, -EINVAL,
                            "%s: VHDX: metadata item %u (%llu bytes at %llu) is out of bounds",
                            path, i, (unsigned long long)len, (unsigned long long)off);
        bool known = guid_is(e, FILE_PARAMS_GUID) || guid_is(e, VSIZE_GUID) ||
                     guid_is(e, LSS_GUID) || guid_is(e, PSS_GUID) || guid_is(e, DISK_ID_GUID) ||
                     guid_is(e, PARENT_LOC_GUID);
        if (!known && (flags & 4) && !(flags & 1))
            return p2v_errf(err, -ENOTSUP, "%s: VHDX: unknown required metadata item %u", path, i);
    }
    return 0;
}

static int parse_params(blockdev *file, const struct md *m, struct vhdx *x, p2v_err *err)
{
    const char *path = bd_path(file);
    uint32_t l1, l2, l3;
    const uint8_t *fp = md_item(m, FILE_PARAMS_GUID, &l1), *vs = md_item(m, VSIZE_GUID, &l2),
                  *ls = md_item(m, LSS_GUID, &l3);
    if (!fp || l1 < 8 || !vs || l2 < 8 || !ls || l3 < 4)
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: metadata lacks file parameters, disk size or sector size", path);
    x->block_size = get_le32(fp);
    x->has_parent = get_le32(fp + 4) & 2;
    x->size = get_le64(vs);
    x->lss = get_le32(ls);
    if (x->block_size < MIB || x->block_size > 256 * MIB || (x->block_size & (x->block_size - 1)))
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: block size %u is not a power of two from 1 MiB to 256 MiB",
                        path, x->block_size);
    if (x->lss != 512 && x->lss != 4096)
        return p2v_errf(err, -EINVAL, "%s: VHDX: logical sector size %u is not 512 or 4096", path,
                        x->lss);
    if (x->size == 0 || x->size > MAX_VSIZE || x->size % x->lss)
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: disk size %llu bytes is zero, over 64 TiB or not whole %u-byte "
                        "sectors",
                        path, (unsigned long long)x->size, x->lss);
    x->chunk_ratio = (((uint64_t)1 << 23) * x->lss) / x->block_size;
    return 0;
}

struct span {
    uint64_t start, end, what; /* what: BAT index, or UINT64_MAX for metadata */
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Every present block (payload or sector bitmap) inside the file, past the
 * first MiB, clear of the log, the regions and every other block. */
static int check_bat(blockdev *file, const struct vhdx *x, const uint8_t *hdr,
                     const struct region *bat, const struct region *meta, p2v_err *err)
{
    const char *path = bd_path(file);
    uint64_t fsize = bd_size(file), n = 0, nblk = (x->size + x->block_size - 1) / x->block_size;
    struct span *s = malloc((x->nbat + 4) * sizeof *s);
    int r = 0;
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s[n++] = (struct span){ 0, MIB, UINT64_MAX };
    s[n++] = (struct span){ bat->off, bat->off + bat->len, UINT64_MAX };
    s[n++] = (struct span){ meta->off, meta->off + meta->len, UINT64_MAX };
    if (get_le32(hdr + 68))
        s[n++] = (struct span){ get_le64(hdr + 72), get_le64(hdr + 72) + get_le32(hdr + 68),
                                UINT64_MAX };
    for (uint64_t i = 0; i < x->nbat; i++) {
        uint64_t e = x->bat[i], state = e & 7, off = (e >> 20) * MIB, len;
        bool is_sb = i % (x->chunk_ratio + 1) == x->chunk_ratio;
        uint64_t blk = i - i / (x->chunk_ratio + 1);
        if (is_sb) {
            if (state == SB_NOT_PRESENT || !x->has_parent)
                continue;
            if (state != SB_PRESENT) {
                r = p2v_errf(err, -EINVAL, "%s: VHDX: BAT entry %llu: bad sector bitmap state %llu",
                             path, (unsigned long long)i, (unsigned long long)state);
                goto out;
            }
            len = MIB;
        } else {
            if (state == PB_PARTIAL && !x->has_parent) {
                r = p2v_errf(err, -EINVAL,
                             "%s: VHDX: block %llu is partially present in a disk without parent",
                             path, (unsigned long long)blk);
                goto out;
            }
            if (state == 4 || state == 5) {
                r = p2v_errf(err, -EINVAL, "%s: VHDX: BAT entry %llu: bad block state %llu", path,
                             (unsigned long long)i, (unsigned long long)state);
                goto out;
            }
            if (state != PB_FULL && state != PB_PARTIAL)
                continue;
            if (blk >= nblk)
                continue; /* past the disk: never read */
            uint64_t tail = x->size - blk * x->block_size;
            len = tail < x->block_size ? tail : x->block_size;
        }
        if (off > fsize || len > fsize - off) {
            r = p2v_errf(err, -EINVAL,
                         "%s: VHDX: BAT entry %llu: block at offset %llu goes past the end of "
                         "the file (%llu bytes)",
                         path, (unsigned long long)i, (unsigned long long)off,
                         (unsigned long long)fsize);
            goto out;
        }
        s[n++] = (struct span){ off, off + len, i };
    }
    qsort(s, n, sizeof *s, span_cmp);
    for (uint64_t k = 1; k < n; k++)
        if (s[k].start < s[k - 1].end) {
            const struct span *a = s[k - 1].what == UINT64_MAX ? &s[k] : &s[k - 1];
            const struct span *b = a == &s[k] ? &s[k - 1] : &s[k];
            if (a->what == UINT64_MAX)
                r = p2v_errf(err, -EINVAL, "%s: VHDX: regions overlap at offset %llu", path,
                             (unsigned long long)s[k].start);
            else if (b->what == UINT64_MAX)
                r = p2v_errf(err, -EINVAL,
                             "%s: VHDX: BAT entry %llu: block at offset %llu overlaps the "
                             "image's headers, log or regions",
                             path, (unsigned long long)a->what, (unsigned long long)a->start);
            else
                r = p2v_errf(err, -EINVAL,
                             "%s: VHDX: BAT entries %llu and %llu: blocks overlap at offset %llu",
                             path, (unsigned long long)b->what, (unsigned long long)a->what,
                             (unsigned long long)s[k].start);
            goto out;
        }
out:
    free(s);
    return r;
}

static int read_bat(blockdev *file, struct vhdx *x, const struct region *bat, p2v_err *err)
{
    uint64_t nblk = (x->size + x->block_size - 1) / x->block_size;
    uint64_t nsb = (nblk + x->chunk_ratio - 1) / x->chunk_ratio;
    x->nbat = x->has_parent ? nsb * (x->chunk_ratio + 1) : nblk + (nblk - 1) / x->chunk_ratio;
    if (x->nbat > bat->len / 8)
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: BAT region (%llu bytes) is too small for %llu entries",
                        bd_path(file), (unsigned long long)bat->len, (unsigned long long)x->nbat);
    uint8_t *raw = malloc(x->nbat * 8);
    x->bat = malloc(x->nbat * 8);
    int r = 0;
    if (!raw || !x->bat)
        r = p2v_errf(err, -ENOMEM, "out of memory");
    else
        r = bd_pread(file, raw, x->nbat * 8, bat->off, err);
    for (uint64_t i = 0; r == 0 && i < x->nbat; i++)
        x->bat[i] = get_le64(raw + 8 * i);
    free(raw);
    return r;
}

/* The parent locator's value for key (UTF-16LE keys and values), as UTF-8. */
static bool locator_value(const uint8_t *loc, uint32_t len, const char *key, char *out,
                          size_t outlen)
{
    uint16_t n = get_le16(loc + 18);
    for (uint32_t i = 0; i < n && 20 + 12 * (uint64_t)i + 12 <= len; i++) {
        const uint8_t *e = loc + 20 + 12 * i;
        uint64_t ko = get_le32(e), vo = get_le32(e + 4), kl = get_le16(e + 8), vl = get_le16(e + 10);
        if (ko > len || kl > len - ko || vo > len || vl > len - vo)
            continue;
        char k[64];
        if (vdisk_utf16_to_utf8(loc + ko, kl, false, k, sizeof k) < 0 || strcmp(k, key) != 0)
            continue;
        return vdisk_utf16_to_utf8(loc + vo, vl, false, out, outlen) == 0 && out[0];
    }
    return false;
}

static int open_parent(blockdev *file, const struct md *m, struct vdisk_chain *ch,
                       blockdev **out, p2v_err *err)
{
    const char *path = bd_path(file);
    uint32_t len;
    const uint8_t *loc = md_item(m, PARENT_LOC_GUID, &len);
    if (!loc || len < 20 || !guid_is(loc, VHDX_LOCATOR_TYPE))
        return p2v_errf(err, -EINVAL,
                        "%s: VHDX: differencing disk without a VHDX parent locator", path);
    static const char *const keys[] = { "relative_path", "absolute_win32_path" };
    char val[VDISK_PATH_MAX], cand[2][VDISK_PATH_MAX], tried[1024] = "";
    unsigned nc = 0;
    for (int i = 0; i < 2; i++) {
        if (!locator_value(loc, len, keys[i], val, sizeof val))
            continue;
        const char *use = val;
        if (i == 1 && val[0] && val[1] == ':') { /* a drive letter: look beside the child */
            const char *b = strrchr(val, '\\');
            use = b ? b + 1 : val + 2;
        }
        if (vdisk_resolve(path, use, cand[nc], sizeof cand[nc]) == 0)
            nc++;
    }
    if (nc == 0)
        return p2v_errf(err, -EINVAL, "%s: VHDX: parent locator names no parent path", path);
    char linkage[64];
    p2v_guid want;
    if (!locator_value(loc, len, "parent_linkage", linkage, sizeof linkage) ||
        guid_parse(linkage, &want) < 0)
        return p2v_errf(err, -EINVAL, "%s: VHDX: parent locator has no valid parent_linkage", path);
    for (unsigned i = 0; i < nc; i++) {
        int r = vdisk_open_parent(ch, path, cand[i], vhdx_open_chain, out, err);
        if (r == -ENOENT) {
            vdisk_list_add(tried, sizeof tried, cand[i]);
            continue;
        }
        if (r < 0)
            return r;
        const struct vhdx *px = ((const struct vdisk *)(*out)->priv)->fmt;
        if (memcmp(px->data_write_guid, want.b, 16) != 0) {
            p2v_guid got;
            char gs[P2V_GUID_STRLEN];
            memcpy(got.b, px->data_write_guid, 16);
            guid_format(&got, gs);
            r = p2v_errf(err, -EINVAL,
                         "%s: VHDX: parent %s has data write GUID %s, the differencing disk "
                         "expects %s (the parent was changed after the child was made)",
                         path, cand[i], gs, linkage);
            bd_close(*out);
            *out = NULL;
        }
        return r;
    }
    return p2v_errf(err, -ENOENT, "%s: VHDX: parent not found (looked for %s)", path, tried);
}

int vhdx_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err)
{
    const char *path = bd_path(file);
    uint8_t hdr[HDR_SIZE], id[8];
    struct region bat, meta;
    struct md m = { 0 };
    blockdev *parent = NULL;
    struct vhdx *x = calloc(1, sizeof *x);
    int r;
    if (!x) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (bd_size(file) < RT2_OFF + RT_SIZE) {
        r = p2v_errf(err, -EINVAL, "%s: VHDX: file of %llu bytes is too small for the headers",
                     path, (unsigned long long)bd_size(file));
        goto fail;
    }
    if ((r = bd_pread(file, id, 8, 0, err)) < 0)
        goto fail;
    if (memcmp(id, "vhdxfile", 8) != 0) {
        r = p2v_errf(err, -EINVAL, "%s: not a VHDX file (no \"vhdxfile\" at byte 0)", path);
        goto fail;
    }
    if ((r = read_header(file, hdr, err)) < 0 || (r = check_log(file, hdr, err)) < 0 ||
        (r = read_regions(file, &bat, &meta, err)) < 0 ||
        (r = read_metadata(file, &meta, &m, err)) < 0 || (r = parse_params(file, &m, x, err)) < 0 ||
        (r = read_bat(file, x, &bat, err)) < 0 || (r = check_bat(file, x, hdr, &bat, &meta, err)) < 0)
        goto fail;
    memcpy(x->data_write_guid, hdr + 32, 16);
    if (x->has_parent && (r = open_parent(file, &m, ch, &parent, err)) < 0)
        goto fail;
    if (parent && bd_sector_size(parent) != x->lss) {
        r = p2v_errf(err, -EINVAL, "%s: VHDX: parent %s has %u-byte sectors, the child %u",
                     path, bd_path(parent), bd_sector_size(parent), x->lss);
        bd_close(parent);
        goto fail;
    }
    free(m.region);
    return vdisk_make(&vhdx_ops, x, file, parent, x->size, x->lss, x->block_size, out, err);
fail:
    free(m.region);
    return vdisk_abandon(&vhdx_ops, x, file, r);
}
