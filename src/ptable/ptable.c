/* Which table a disk has (the MBR/GPT dispatch), the sector-size guesses
 * for image files, and the layout checks common to MBR and GPT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/probe.h"
#include "ptable/ptable_impl.h"
#include "util/endian.h"

/* ---- checks common to both labels ---- */

static int cmp_by_start(const void *a, const void *b, void *ctx)
{
    const ptable *t = ctx;
    const ptable_part *x = &t->parts[*(const size_t *)a];
    const ptable_part *y = &t->parts[*(const size_t *)b];
    return (x->start > y->start) - (x->start < y->start);
}

/* Sweep the parts chosen by `want` in order of start; mark and report every
 * part that begins before the furthest end seen so far. */
static void check_overlaps(const char *path, ptable *t, size_t *idx, bool (*want)(const ptable_part *))
{
    size_t n = 0;
    for (size_t i = 0; i < t->nparts; i++)
        if (want(&t->parts[i]))
            idx[n++] = i;
    qsort_r(idx, n, sizeof *idx, cmp_by_start, t);
    size_t far = SIZE_MAX; /* index of the part reaching furthest so far */
    for (size_t k = 0; k < n; k++) {
        ptable_part *p = &t->parts[idx[k]];
        if (far != SIZE_MAX && p->start <= ptable_part_end(&t->parts[far])) {
            ptable_part *q = &t->parts[far];
            p->problems |= PTABLE_PROBLEM_OVERLAP;
            q->problems |= PTABLE_PROBLEM_OVERLAP;
            ptable_warn(t, "%s: partitions %u (LBA %llu-%llu) and %u (LBA %llu-%llu) overlap",
                     path, q->number, (unsigned long long)q->start,
                     (unsigned long long)ptable_part_end(q), p->number,
                     (unsigned long long)p->start, (unsigned long long)ptable_part_end(p));
        }
        if (far == SIZE_MAX || ptable_part_end(p) > ptable_part_end(&t->parts[far]))
            far = idx[k];
    }
}

static bool is_data_part(const ptable_part *p) { return !p->container; }
static bool is_primary(const ptable_part *p) { return !p->logical; }

/* Past-the-end and overlap checks. -EINVAL when no partition stays usable. */
static int ptable_check_layout(const char *path, ptable *t, p2v_err *err)
{
    size_t first_layout_warning = t->warnings.count;
    for (size_t i = 0; i < t->nparts; i++) {
        ptable_part *p = &t->parts[i];
        uint64_t end;
        if (__builtin_add_overflow(p->start, p->size, &end) || end > t->disk_sectors) {
            p->problems |= PTABLE_PROBLEM_PAST_END;
            ptable_warn(t,
                     "%s: partition %u (LBA %llu-%llu) extends past the end of the disk "
                     "(%llu sectors)",
                     path, p->number, (unsigned long long)p->start,
                     (unsigned long long)ptable_part_end(p), (unsigned long long)t->disk_sectors);
        }
    }
    if (t->nparts > 1) {
        size_t *idx = calloc(t->nparts, sizeof *idx);
        if (!idx)
            return p2v_errf(err, -ENOMEM, "out of memory");
        check_overlaps(path, t, idx, is_data_part); /* primaries, logicals, GPT parts */
        if (t->type == PTABLE_MBR)
            check_overlaps(path, t, idx, is_primary); /* the container against primaries */
        free(idx);
    }
    size_t data = 0, usable = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].container)
            continue;
        data++;
        usable += t->parts[i].problems == 0;
    }
    if (data > 0 && usable == 0) {
        /* Name the problem that made the last partition unusable: the first
         * one found by this check, else the first of the parser's. */
        size_t w = first_layout_warning < t->warnings.count ? first_layout_warning : 0;
        return p2v_errf(err, -EINVAL, "%s; no usable partition remains",
                        t->warnings.count ? t->warnings.msgs[w] : path);
    }
    return 0;
}

/* ---- reading ---- */

static bool has_gpt_signature_at(blockdev *bd, uint64_t off)
{
    uint8_t sig[8];
    return off + 8 <= bd_size(bd) && bd_pread(bd, sig, 8, off, NULL) == 0 &&
           memcmp(sig, GPT_SIGNATURE, 8) == 0;
}

/* Explain a GPT that cannot be read with this sector size but would be with
 * the other common one. */
static void gpt_sector_size_hint(blockdev *bd, uint32_t ss, p2v_err *err)
{
    uint32_t other = ss == 512 ? 4096 : 512;
    if (!err || !has_gpt_signature_at(bd, other))
        return;
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len,
             "; sector-size mismatch: a GPT header sits at byte %u, so the table was written for "
             "%u-byte sectors but the disk is read with %u-byte sectors",
             other, other, ss);
    len = strlen(err->msg);
    /* Only p2v disks has --sector-size: say so rather than advise an option
     * a convert command may lack. */
    if (!bd_is_block_device(bd))
        snprintf(err->msg + len, sizeof err->msg - len,
                 " (for an image file, --sector-size %u reads it that way, in p2v disks and p2v convert)", other);
}


/* ---- 4Kn MBR images ---- */

static bool volume_at(blockdev *bd, uint64_t lba, uint32_t ss)
{
    uint8_t b[4096];
    uint64_t off;
    if (__builtin_mul_overflow(lba, (uint64_t)ss, &off) || off >= bd_size(bd))
        return false;
    size_t n = bd_size(bd) - off < sizeof b ? (size_t)(bd_size(bd) - off) : sizeof b;
    return bd_pread(bd, b, n, off, NULL) == 0 && fs_laid_out_for(b, n, ss);
}

/* An image file with a plain MBR and the 512-byte default: were its
 * partitions written for 4096-byte sectors? Yes only when no primary holds a
 * recognisable volume read with 512-byte sectors, at least one does read with
 * 4096, and every entry fits the disk at 4096. Volumes at both sizes, or
 * entries that do not fit: stay at 512 and warn. Returns the sector size. */
static uint32_t mbr_guess_sector_size(blockdev *bd, ptable *t, const uint8_t s0[MBR_SIZE])
{
    unsigned at512 = 0, at4k = 0;
    bool fit4k = true;
    uint64_t sectors4k = bd_size(bd) / 4096;
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *e = s0 + MBR_ENTRIES_OFF + i * MBR_ENTRY_SIZE;
        uint64_t start = get_le32(e + MBRE_LBA), size = get_le32(e + MBRE_SECTORS);
        if (e[MBRE_TYPE] == 0 || size == 0)
            continue;
        if (start + size > sectors4k)
            fit4k = false;
        if (start == 0 || ptable_mbr_is_extended(e[MBRE_TYPE]))
            continue;
        at512 += volume_at(bd, start, 512);
        at4k += volume_at(bd, start, 4096);
    }
    if (at4k == 0)
        return 512;
    const char *path = bd_path(bd);
    if (at512 == 0 && fit4k) {
        t->sector_size_detected = true;
        p2v_warn(&t->notices,
                 "%s: the MBR's partitions hold filesystems laid out for 4096-byte sectors "
                 "(none read with 512-byte sectors): reading with 4096-byte sectors",
                 path);
        return 4096;
    }
    ptable_warn(t,
                "%s: sector size unclear: %u MBR partition%s hold%s a filesystem when read with "
                "512-byte sectors and %u when read with 4096-byte sectors%s; reading with 512 "
                "(--sector-size 4096, in p2v disks and p2v convert, reads it the other way)",
                path, at512, at512 == 1 ? "" : "s", at512 == 1 ? "s" : "", at4k,
                fit4k ? "" : ", but the partitions do not fit the disk at 4096");
    return 512;
}

int ptable_read(blockdev *bd, ptable **out, p2v_err *err)
{
    const char *path = bd_path(bd);
    uint8_t s0[MBR_SIZE];
    int r;
    ptable *t = calloc(1, sizeof *t);
    if (!t)
        return p2v_errf(err, -ENOMEM, "out of memory");

    uint32_t ss = bd_sector_size(bd);
    uint64_t size = bd_size(bd);
    if (!bd_sector_size_valid(ss)) {
        r = p2v_errf(err, -EINVAL, "%s: unsupported sector size %u", path, ss);
        goto out;
    }
    /* An image file of a 4Kn disk: its GPT header is at byte 4096. */
    if (bd_sector_size_is_default(bd) && ss == 512 && !has_gpt_signature_at(bd, 512) &&
        has_gpt_signature_at(bd, 4096)) {
        ss = 4096;
        bd_set_sector_size(bd, ss);
        t->sector_size_detected = true;
        p2v_warn(&t->notices,
                 "%s: GPT header found at byte 4096, not 512: reading with 4096-byte sectors",
                 path);
    }
    t->sector_size = ss;
    t->disk_sectors = size / ss;
    t->type = PTABLE_NONE;
    if (size % ss)
        ptable_warn(t,
                 "%s: size %llu bytes is not a multiple of the %u-byte sector size; the last %llu "
                 "bytes are ignored",
                 path, (unsigned long long)size, ss, (unsigned long long)(size % ss));
    if (size < MBR_SIZE || t->disk_sectors == 0) {
        if (size > 0)
            ptable_warn(t, "%s: only %llu bytes, smaller than one sector: no partition "
                     "table", path, (unsigned long long)size);
        r = 0;
        goto done;
    }
    if ((r = bd_pread(bd, s0, sizeof s0, 0, err)) < 0)
        goto out;

    struct mbr_info mi;
    mbr_inspect(s0, &mi);
    /* An image file of a 4Kn disk with an MBR: only the partitions' contents tell. */
    if (bd_sector_size_is_default(bd) && ss == 512 && mi.magic && mi.valid_status &&
        !mi.protective && !mi.fs_boot && mbr_guess_sector_size(bd, t, s0) == 4096) {
        ss = 4096;
        bd_set_sector_size(bd, ss);
        t->sector_size = ss;
        t->disk_sectors = size / ss;
        if (size % ss)
            ptable_warn(t,
                        "%s: size %llu bytes is not a multiple of the %u-byte sector size; the "
                        "last %llu bytes are ignored",
                        path, (unsigned long long)size, ss, (unsigned long long)(size % ss));
    }
    bool gpt_sig = has_gpt_signature_at(bd, ss);
    if (mi.magic && mi.valid_status && mi.protective) {
        if ((r = gpt_read(bd, t, s0, err)) < 0) {
            gpt_sector_size_hint(bd, ss, err);
            if (r != -EINVAL || mi.nonempty < 2)
                goto out;
            /* A hybrid MBR still describes partitions: fall back to them. */
            ptable_warn(t, "%s; using the partitions of the hybrid MBR instead", err->msg);
            if ((r = mbr_read(bd, t, s0, err)) < 0)
                goto out;
        }
    } else if (mi.magic && mi.valid_status && !mi.fs_boot) {
        if ((r = mbr_read(bd, t, s0, err)) < 0)
            goto out;
        if (gpt_sig)
            ptable_warn(t, "%s: a GPT header at LBA 1 is ignored: the MBR has no "
                     "protective (0xEE) entry", path);
    } else if (gpt_sig) {
        /* A GPT whose protective MBR was wiped: still a GPT, if it validates. */
        if ((r = gpt_read(bd, t, s0, err)) < 0)
            goto out;
        ptable_warn(t, "%s: GPT without a protective MBR at LBA 0", path);
    } else if (mi.fs_boot) {
        p2v_warn(&t->notices, "%s: no partition table: a filesystem starts at LBA 0", path);
    }
    if ((r = ptable_check_layout(path, t, err)) < 0)
        goto out;
    if (t->warnings_dropped)
        p2v_warn(&t->warnings, "%s: %zu more warnings not shown", path, t->warnings_dropped);
done:
    *out = t;
    return 0;
out:
    ptable_free(t);
    return r;
}

int ptable_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err)
{
    if (!bd_sector_size_valid(t->sector_size))
        return p2v_errf(err, -EINVAL, "unsupported sector size %u", t->sector_size);
    switch (t->type) {
    case PTABLE_MBR:
        return mbr_serialize(t, write, ctx, err);
    case PTABLE_GPT:
        return gpt_serialize(t, write, ctx, err);
    default:
        return p2v_errf(err, -EINVAL, "no partition table type to write");
    }
}
