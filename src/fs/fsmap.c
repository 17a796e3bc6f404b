/* Filesystem-aware used-block maps: probe the partition, hand it to the
 * builder for its filesystem, and make sure whatever comes back is either a
 * trustworthy extent list or "copy every sector" with a reason. */
#include "fs/fsmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fsmap_impl.h"
#include "util/endian.h"

int fsmap_read(const fsmap_src *s, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    uint64_t end;
    if (__builtin_add_overflow(off, (uint64_t)len, &end) || end > s->len)
        return p2v_errf(err, -EIO,
                        "%s: read of %zu bytes at partition offset %llu goes past the partition "
                        "end (%llu bytes)",
                        bd_path(s->bd), len, (unsigned long long)off, (unsigned long long)s->len);
    return bd_pread(s->bd, buf, len, s->off + off, err);
}

int fsmap_set_full(fsmap *m, const char *fmt, ...)
{
    va_list ap;
    extent_list_free(&m->used);
    memset(&m->skipped, 0, sizeof m->skipped); /* nothing is left out of a full copy */
    m->full = true;
    va_start(ap, fmt);
    vsnprintf(m->notice, sizeof m->notice, fmt, ap);
    va_end(ap);
    return 0;
}

int fsmap_add(fsmap *m, const fsmap_src *s, uint64_t start, uint64_t len, p2v_err *err)
{
    if (start >= s->len || len == 0)
        return 0;
    if (len > s->len - start)
        len = s->len - start;
    int r = extent_list_add(&m->used, start, len);
    if (r < 0)
        return p2v_errf(err, r, "%s: out of memory building the used-block map",
                        bd_path(s->bd));
    return 0;
}

bool fsmap_covers(const fsmap *m, uint64_t start, uint64_t len)
{
    size_t lo = 0, hi = m->used.count;
    if (len == 0)
        return true;
    /* The last extent starting at or before start. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->used.v[mid].start <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const extent *e = &m->used.v[lo - 1];
    return start - e->start <= e->len && len <= e->len - (start - e->start);
}

int fsmap_add_bitmap_runs(fsmap *m, const fsmap_src *s, const uint8_t *bits, uint64_t n,
                          uint64_t first_unit, uint64_t unit_size, uint64_t base,
                          uint64_t *set_bits, p2v_err *err)
{
    uint64_t i = 0, count = 0;
    while (i < n) {
        /* Skip whole free bytes quickly. */
        if ((i & 7) == 0 && n - i >= 8 && bits[i >> 3] == 0) {
            i += 8;
            continue;
        }
        if (!(bits[i >> 3] & (1u << (i & 7)))) {
            i++;
            continue;
        }
        uint64_t run = i;
        while (i < n) {
            if ((i & 7) == 0 && n - i >= 8 && bits[i >> 3] == 0xff) {
                i += 8;
                continue;
            }
            if (!(bits[i >> 3] & (1u << (i & 7))))
                break;
            i++;
        }
        count += i - run;
        uint64_t ustart, off, len;
        if (__builtin_add_overflow(first_unit, run, &ustart) ||
            __builtin_mul_overflow(ustart, unit_size, &off) ||
            __builtin_add_overflow(off, base, &off) ||
            __builtin_mul_overflow(i - run, unit_size, &len))
            return p2v_errf(err, -ERANGE, "%s: used-block map offset overflows",
                            bd_path(s->bd));
        int r = fsmap_add(m, s, off, len, err);
        if (r < 0)
            return r;
    }
    *set_bits = count;
    return 0;
}

/* Filesystems p2v recognises but cannot map: named in the notice. */
static const char *probe_unmappable(const uint8_t *b, size_t n)
{
    if (n >= 11 && !memcmp(b + 3, "-FVE-FS-", 8))
        return "BitLocker-encrypted volume";
    if (n >= 11 && !memcmp(b + 3, "EXFAT   ", 8))
        return "exFAT (not supported for used-block copying)";
    if (n >= 4 && !memcmp(b, "XFSB", 4))
        return "XFS (not supported for used-block copying)";
    if (n >= 6 && !memcmp(b, "LUKS\xba\xbe", 6))
        return "LUKS-encrypted volume";
    if (n >= 0x10048 && !memcmp(b + 0x10040, "_BHRfS_M", 8))
        return "btrfs (not supported for used-block copying)";
    if (n >= 0x218 + 8 && (!memcmp(b + 0x218, "LVM2 001", 8) || !memcmp(b + 0x18, "LVM2 001", 8)))
        return "LVM physical volume (not supported for used-block copying)";
    return NULL;
}

static bool probe_ext(const uint8_t *b, size_t n)
{
    return n >= 1024 + 58 && get_le16(b + 1024 + 56) == 0xEF53;
}

static bool probe_swap(const uint8_t *b, size_t n)
{
    for (size_t ps = 4096; ps <= 65536; ps *= 2) {
        if (n < ps)
            break;
        const uint8_t *sig = b + ps - 10;
        if (!memcmp(sig, "SWAPSPACE2", 10) || !memcmp(sig, "SWAP-SPACE", 10) ||
            !memcmp(sig, "S1SUSPEND", 9) || !memcmp(sig, "S2SUSPEND", 9) ||
            !memcmp(sig, "ULSUSPEND", 9) || !memcmp(sig, "LINHIB0001", 10))
            return true;
    }
    return false;
}

/* A FAT boot sector: jump instruction, sane BPB basics, 0x55AA. The full
 * validation is the builder's; this only decides whose job it is. */
static bool probe_fat(const uint8_t *b, size_t n)
{
    if (n < 512)
        return false;
    if (!(b[0] == 0xEB && b[2] == 0x90) && b[0] != 0xE9)
        return false;
    if (b[510] != 0x55 || b[511] != 0xAA)
        return false;
    uint16_t bps = get_le16(b + 11);
    uint8_t spc = b[13];
    if (bps < 512 || bps > 4096 || (bps & (bps - 1)) || spc == 0 || (spc & (spc - 1)))
        return false;
    return get_le16(b + 14) != 0 && b[16] != 0;
}

/* Enough to see every signature above: 64 KiB + btrfs superblock magic. */
#define PROBE_LEN (0x10000 + 0x1000)

int fsmap_build(blockdev *bd, uint64_t part_offset, uint64_t part_len, const fsmap_opts *opts,
                fsmap *out, p2v_err *err)
{
    static const fsmap_opts defaults = { .allow_dirty = false };
    fsmap_src s = { .bd = bd, .off = part_offset, .len = part_len };
    uint8_t *b = NULL;
    const char *what;
    int r = 0;

    memset(out, 0, sizeof *out);
    if (!opts)
        opts = &defaults;
    uint64_t end;
    if (__builtin_add_overflow(part_offset, part_len, &end) || end > bd_size(bd)) {
        r = p2v_errf(err, -EINVAL, "its %llu bytes go past the end of the disk (%llu bytes)",
                     (unsigned long long)part_len, (unsigned long long)bd_size(bd));
        goto out;
    }
    size_t n = part_len < PROBE_LEN ? (size_t)part_len : PROBE_LEN;
    if (n < 512)
        return fsmap_set_full(out, "partition smaller than one sector");
    b = malloc(n);
    if (!b) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    r = fsmap_read(&s, b, n, 0, err);
    if (r < 0)
        goto out;

    if ((what = probe_unmappable(b, n))) {
        fsmap_set_full(out, "%s", what);
    } else if (!memcmp(b + 3, "NTFS    ", 8)) {
        snprintf(out->fstype, sizeof out->fstype, "ntfs");
        r = fsmap_build_ntfs(&s, opts, out, err);
    } else if (probe_ext(b, n)) {
        snprintf(out->fstype, sizeof out->fstype, "ext2");
        r = fsmap_build_ext(&s, opts, out, err);
    } else if (probe_swap(b, n)) {
        snprintf(out->fstype, sizeof out->fstype, "swap");
        r = fsmap_build_swap(&s, opts, out, err);
    } else if (probe_fat(b, n)) {
        snprintf(out->fstype, sizeof out->fstype, "vfat");
        r = fsmap_build_fat(&s, opts, out, err);
    } else {
        fsmap_set_full(out, "no filesystem recognised");
    }
    if (r < 0)
        goto out;
    if (!out->full) {
        extent_list_normalize(&out->used);
        extent_list_clip(&out->used, part_len);
    } else {
        extent_list_free(&out->used);
    }
out:
    if (r < 0) {
        fsmap_free(out);
        fsmap_err_locate(err, bd_path(bd), part_offset);
    }
    free(b);
    return r;
}

void fsmap_err_locate(p2v_err *err, const char *path, uint64_t part_offset)
{
    if (!err)
        return;
    char where[64], rest[sizeof err->msg];
    int wl = snprintf(where, sizeof where, "partition at byte %llu: ",
                      (unsigned long long)part_offset);
    const char *m = err->msg;
    size_t pl = strlen(path);
    if (strncmp(m, path, pl) == 0 && strncmp(m + pl, ": ", 2) == 0)
        m += pl + 2;
    if (wl > 0 && strncmp(m, where, (size_t)wl) == 0)
        m += wl;
    size_t rl = strlen(m);
    memmove(rest, m, rl + 1);
    /* Truncation is acceptable (the message stays NUL-terminated). */
    int n = snprintf(err->msg, sizeof err->msg, "%s: %s", path, where);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    size_t room = sizeof err->msg - 1 - used;
    if (rl > room)
        rl = room;
    memcpy(err->msg + used, rest, rl);
    err->msg[used + rl] = '\0';
}

void fsmap_free(fsmap *m) { extent_list_free(&m->used); }
