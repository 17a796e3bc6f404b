/* GPT: header and entry-array validation, primary/backup choice, writing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptable/ptable_impl.h"
#include "util/endian.h"
#include "util/size.h"
#include "util/utf8.h"

/* A validated header and its entry array. */
struct gpt_hdr {
    uint64_t my_lba, alternate_lba, first_usable, last_usable, entries_lba;
    uint32_t nentries, entry_size, entries_crc;
    p2v_guid disk_guid;
    uint8_t *entries; /* nentries * entry_size bytes */
};

static void gpt_hdr_free(struct gpt_hdr *h)
{
    free(h->entries);
    h->entries = NULL;
}

static uint64_t div_round_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

/* The header sector at lba, its signature, revision, size and CRC checked
 * (s: ss bytes, the header CRC field zeroed by the check). */
static int gpt_header_read(blockdev *bd, uint32_t ss, uint64_t disk_sectors, uint64_t lba,
                           uint8_t *s, p2v_err *w)
{
    if (lba >= disk_sectors)
        return p2v_errf(w, -EINVAL, "it lies past the end of the disk (%llu sectors)",
                        (unsigned long long)disk_sectors);
    if (bd_pread(bd, s, ss, lba * ss, w) < 0)
        return -EIO;
    if (memcmp(s + GPTH_SIGNATURE, GPT_SIGNATURE, 8) != 0)
        return p2v_errf(w, -EINVAL, "no \"EFI PART\" signature");
    uint32_t rev = get_le32(s + GPTH_REVISION);
    if (rev != GPT_REVISION_1_0)
        return p2v_errf(w, -EINVAL, "revision 0x%08x, expected 0x%08x", rev, GPT_REVISION_1_0);
    uint32_t hsize = get_le32(s + GPTH_HEADER_SIZE);
    if (hsize < GPT_HEADER_SIZE || hsize > ss)
        return p2v_errf(w, -EINVAL, "header size %u, must be %d to %u", hsize, GPT_HEADER_SIZE,
                        ss);
    uint32_t stored = get_le32(s + GPTH_HEADER_CRC);
    put_le32(s + GPTH_HEADER_CRC, 0);
    uint32_t computed = ptable_crc32(s, hsize);
    if (stored != computed)
        return p2v_errf(w, -EINVAL, "bad header CRC (stored 0x%08x, computed 0x%08x)", stored,
                        computed);
    return 0;
}

static void gpt_header_parse(const uint8_t *s, struct gpt_hdr *h)
{
    h->my_lba = get_le64(s + GPTH_MY_LBA);
    h->alternate_lba = get_le64(s + GPTH_ALTERNATE_LBA);
    h->first_usable = get_le64(s + GPTH_FIRST_USABLE);
    h->last_usable = get_le64(s + GPTH_LAST_USABLE);
    h->entries_lba = get_le64(s + GPTH_ENTRIES_LBA);
    h->nentries = get_le32(s + GPTH_NUM_ENTRIES);
    h->entry_size = get_le32(s + GPTH_ENTRY_SIZE);
    h->entries_crc = get_le32(s + GPTH_ENTRIES_CRC);
    memcpy(h->disk_guid.b, s + GPTH_DISK_GUID, 16);
}

/* The header's own fields: where it says it is, where its twin is, the
 * usable area and the entry array's shape. */
static int gpt_header_check_fields(const struct gpt_hdr *h, uint64_t lba, p2v_err *w)
{
    if (h->my_lba != lba)
        return p2v_errf(w, -EINVAL, "my_lba is %llu, expected %llu",
                        (unsigned long long)h->my_lba, (unsigned long long)lba);
    if (h->alternate_lba == lba)
        return p2v_errf(w, -EINVAL, "alternate_lba points at the header itself (%llu)",
                        (unsigned long long)lba);
    if (h->first_usable <= h->last_usable && h->alternate_lba >= h->first_usable &&
        h->alternate_lba <= h->last_usable)
        return p2v_errf(w, -EINVAL, "alternate_lba %llu lies inside the usable area LBA %llu-%llu",
                        (unsigned long long)h->alternate_lba,
                        (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
    if (h->entry_size < GPT_ENTRY_SIZE || (h->entry_size & (h->entry_size - 1)) != 0)
        return p2v_errf(w, -EINVAL, "entry size %u, must be 128 times a power of two",
                        h->entry_size);
    uint64_t array_bytes = (uint64_t)h->nentries * h->entry_size;
    if (h->nentries == 0 || array_bytes > GPT_MAX_ARRAY_BYTES)
        return p2v_errf(w, -EINVAL,
                        "%u entries of %u bytes: the entry array must be 1 byte to %u MiB",
                        h->nentries, h->entry_size, GPT_MAX_ARRAY_BYTES >> 20);
    if (h->first_usable > h->last_usable)
        return p2v_errf(w, -EINVAL, "first usable LBA %llu is after last usable LBA %llu",
                        (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
    return 0;
}

/* The headers and arrays must sit outside the usable area and on the disk. */
static int gpt_header_check_places(const struct gpt_hdr *h, uint32_t ss, uint64_t disk_sectors,
                                   p2v_err *w)
{
    uint64_t array_bytes = (uint64_t)h->nentries * h->entry_size;
    uint64_t array_sectors = div_round_up(array_bytes, ss), array_end;
    if (__builtin_add_overflow(h->entries_lba, array_sectors, &array_end) || h->entries_lba < 1 ||
        (h->entries_lba <= h->my_lba && array_end > h->my_lba) ||
        (h->entries_lba <= h->last_usable && array_end > h->first_usable) ||
        (h->my_lba >= h->first_usable && h->my_lba <= h->last_usable))
        return p2v_errf(w, -EINVAL,
                        "header at LBA %llu, entry array at LBA %llu-%llu and usable area LBA "
                        "%llu-%llu overlap",
                        (unsigned long long)h->my_lba, (unsigned long long)h->entries_lba,
                        (unsigned long long)(array_end - 1), (unsigned long long)h->first_usable,
                        (unsigned long long)h->last_usable);
    if (array_end > disk_sectors)
        return p2v_errf(w, -EINVAL,
                        "entry array at LBA %llu-%llu runs past the end of the disk (%llu "
                        "sectors)",
                        (unsigned long long)h->entries_lba, (unsigned long long)(array_end - 1),
                        (unsigned long long)disk_sectors);
    return 0;
}

/* The entry array the header names, read into h->entries and its CRC checked. */
static int gpt_entries_read(blockdev *bd, uint32_t ss, struct gpt_hdr *h, p2v_err *w)
{
    uint64_t array_bytes = (uint64_t)h->nentries * h->entry_size;
    if (!(h->entries = malloc(array_bytes)))
        return p2v_errf(w, -ENOMEM, "out of memory for %llu bytes of entries",
                        (unsigned long long)array_bytes);
    if (bd_pread(bd, h->entries, array_bytes, h->entries_lba * ss, w) < 0)
        return -EIO;
    uint32_t computed = ptable_crc32(h->entries, array_bytes);
    if (computed != h->entries_crc)
        return p2v_errf(w, -EINVAL, "bad entry array CRC (stored 0x%08x, computed 0x%08x)",
                        h->entries_crc, computed);
    return 0;
}

/* Read and validate the header at lba and its entry array. On failure,
 * return -EINVAL with the reason in w->msg (no path, no LBA: the caller
 * says). */
static int gpt_load(blockdev *bd, uint32_t ss, uint64_t disk_sectors, uint64_t lba,
                    struct gpt_hdr *h, p2v_err *w)
{
    memset(h, 0, sizeof *h);
    uint8_t *s = lba < disk_sectors ? malloc(ss) : NULL;
    if (lba < disk_sectors && !s)
        return p2v_errf(w, -ENOMEM, "out of memory");
    int r = gpt_header_read(bd, ss, disk_sectors, lba, s, w);
    if (r == 0) {
        gpt_header_parse(s, h);
        r = gpt_header_check_fields(h, lba, w);
    }
    if (r == 0)
        r = gpt_header_check_places(h, ss, disk_sectors, w);
    if (r == 0)
        r = gpt_entries_read(bd, ss, h, w);
    free(s);
    if (r < 0)
        gpt_hdr_free(h);
    return r;
}

/* UTF-16LE name (up to 36 units, NUL-terminated or full) to UTF-8. */
static void gpt_name_decode(const uint8_t *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (unsigned i = 0; i < PTABLE_GPT_NAME_MAX; i++) {
        uint32_t cp = get_le16(in + 2 * i);
        if (cp == 0)
            break;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < PTABLE_GPT_NAME_MAX) {
            uint32_t lo = get_le16(in + 2 * (i + 1));
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i++;
            } else {
                cp = 0xfffd;
            }
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }
        char u[4];
        size_t n = utf8_encode(cp, u);
        if (o + n >= outlen)
            break;
        memcpy(out + o, u, n);
        o += n;
    }
    out[o] = '\0';
}

/* UTF-8 to UTF-16LE in 72 zeroed bytes; invalid bytes become U+FFFD. */
static void gpt_name_encode(const char *in, uint8_t *out)
{
    const uint8_t *s = (const uint8_t *)in;
    unsigned units = 0;
    while (*s && units < PTABLE_GPT_NAME_MAX) {
        uint32_t cp;
        size_t n;
        if (s[0] < 0x80) {
            cp = s[0];
            n = 1;
        } else if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
            cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
            n = 2;
        } else if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
            cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
            n = 3;
        } else if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
                   (s[3] & 0xc0) == 0x80) {
            cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
                 ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
            n = 4;
        } else {
            cp = 0xfffd;
            n = 1;
        }
        s += n;
        if (cp >= 0x10000 && cp <= 0x10ffff) {
            if (units + 2 > PTABLE_GPT_NAME_MAX)
                break;
            cp -= 0x10000;
            put_le16(out + 2 * units++, (uint16_t)(0xd800 + (cp >> 10)));
            put_le16(out + 2 * units++, (uint16_t)(0xdc00 + (cp & 0x3ff)));
        } else {
            put_le16(out + 2 * units++, (uint16_t)(cp > 0x10ffff ? 0xfffd : cp));
        }
    }
}

static int gpt_parts_from(blockdev *bd, ptable *t, const struct gpt_hdr *h, p2v_err *err)
{
    const char *path = bd_path(bd);
    t->disk_guid = h->disk_guid;
    t->first_usable_lba = h->first_usable;
    t->last_usable_lba = h->last_usable;
    t->gpt_entries = h->nentries;
    for (uint32_t i = 0; i < h->nentries; i++) {
        const uint8_t *e = h->entries + (size_t)i * h->entry_size;
        ptable_part p = { 0 };
        memcpy(p.type_guid.b, e + GPTE_TYPE, 16);
        if (guid_is_zero(&p.type_guid))
            continue;
        p.number = i + 1;
        memcpy(p.uuid.b, e + GPTE_UUID, 16);
        uint64_t first = get_le64(e + GPTE_FIRST_LBA), last = get_le64(e + GPTE_LAST_LBA);
        if (last < first || last - first == UINT64_MAX) {
            ptable_warn(t,
                     "%s: GPT entry %u ends (LBA %llu) before it starts (LBA %llu); ignored",
                     path, p.number, (unsigned long long)last, (unsigned long long)first);
            continue;
        }
        p.start = first;
        p.size = last - first + 1;
        p.attrs = get_le64(e + GPTE_ATTRS);
        p.bootable = (p.attrs & GPT_ATTR_LEGACY_BOOT) != 0;
        gpt_name_decode(e + GPTE_NAME, p.name, sizeof p.name);
        if (ptable_gpt_to_mbr_type(&p.type_guid, &p.mbr_type) < 0)
            p.mbr_type = 0;
        if (first < h->first_usable || last > h->last_usable) {
            p.problems |= PTABLE_PROBLEM_OUTSIDE;
            ptable_warn(t,
                     "%s: partition %u (LBA %llu-%llu) lies outside the GPT usable area "
                     "(LBA %llu-%llu)",
                     path, p.number, (unsigned long long)first, (unsigned long long)last,
                     (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
        }
        int r = ptable_add_part(t, &p, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Primary and backup both valid: say where they disagree. */
static void gpt_compare(const char *path, ptable *t, const struct gpt_hdr *p, const struct gpt_hdr *b)
{
    if (!guid_equal(&p->disk_guid, &b->disk_guid) || p->entries_crc != b->entries_crc ||
        p->nentries != b->nentries || p->first_usable != b->first_usable ||
        p->last_usable != b->last_usable)
        ptable_warn(t,
                 "%s: the primary GPT (LBA 1) and the backup (LBA %llu) differ; using the primary",
                 path, (unsigned long long)b->my_lba);
}

/* Where the backup header is looked for, from a valid primary: where the
 * primary says, unless that is past the end (*truncated: not looked for);
 * either case other than the last LBA gets a warning. */
static uint64_t gpt_backup_lba(const char *path, ptable *t, const struct gpt_hdr *ph,
                               bool *truncated)
{
    const uint64_t last = t->disk_sectors ? t->disk_sectors - 1 : 0;
    if (ph->alternate_lba == last)
        return last;
    if (ph->alternate_lba > last) {
        *truncated = true;
        ptable_warn(t,
                 "%s: the GPT places its backup header at LBA %llu but the disk has only "
                 "%llu sectors: the image looks truncated",
                 path, (unsigned long long)ph->alternate_lba,
                 (unsigned long long)t->disk_sectors);
        return last;
    }
    ptable_warn(t,
             "%s: the backup GPT header is at LBA %llu, not at the last LBA %llu (was "
             "the disk enlarged?)",
             path, (unsigned long long)ph->alternate_lba, (unsigned long long)last);
    return ph->alternate_lba;
}

/* A protective MBR that also lists other partitions (a hybrid MBR): noted. */
static void gpt_note_hybrid(const char *path, ptable *t, const uint8_t s0[MBR_SIZE])
{
    unsigned others = 0;
    for (int i = 0; i < 4; i++) {
        const uint8_t *e = s0 + MBR_ENTRIES_OFF + i * MBR_ENTRY_SIZE;
        if (e[MBRE_TYPE] != 0 && e[MBRE_TYPE] != 0xee)
            others++;
    }
    if (others) {
        t->hybrid_mbr = true;
        p2v_warn(&t->notices, "%s: hybrid MBR: the MBR also lists %u partition%s; the GPT is used",
                 path, others, others == 1 ? "" : "s");
    }
}

int gpt_read(blockdev *bd, ptable *t, const uint8_t s0[MBR_SIZE], p2v_err *err)
{
    const char *path = bd_path(bd);
    const uint32_t ss = t->sector_size;
    const uint64_t last = t->disk_sectors ? t->disk_sectors - 1 : 0;
    struct gpt_hdr ph, bh;
    p2v_err pwhy, bwhy; /* why each header was refused */
    int r;

    ptable_sector0(t, PTABLE_GPT, s0);

    int rp = gpt_load(bd, ss, t->disk_sectors, 1, &ph, &pwhy);
    if (rp == -ENOMEM)
        return p2v_errf(err, rp, "%s: primary GPT: %s", path, pwhy.msg);
    bool truncated = false;
    uint64_t blba = rp == 0 ? gpt_backup_lba(path, t, &ph, &truncated) : last;
    int rb = -EINVAL;
    if (!truncated)
        rb = gpt_load(bd, ss, t->disk_sectors, blba, &bh, &bwhy);
    if (rb == -ENOMEM) {
        gpt_hdr_free(&ph);
        return p2v_errf(err, rb, "%s: backup GPT: %s", path, bwhy.msg);
    }
    if (rp < 0 && rb < 0)
        return p2v_errf(err, -EINVAL,
                        "%s: no usable GPT: primary header at LBA 1: %s; backup header at LBA "
                        "%llu: %s",
                        path, pwhy.msg, (unsigned long long)blba,
                        truncated ? "past the end of the disk" : bwhy.msg);
    if (rp == 0 && rb < 0 && !truncated)
        ptable_warn(t, "%s: backup GPT header at LBA %llu is bad: %s; using the primary "
                 "at LBA 1", path, (unsigned long long)blba, bwhy.msg);
    if (rp < 0) {
        t->gpt_from_backup = true;
        ptable_warn(t, "%s: primary GPT header at LBA 1 is bad: %s; using the backup at "
                 "LBA %llu", path, pwhy.msg, (unsigned long long)blba);
    }
    if (rp == 0 && rb == 0)
        gpt_compare(path, t, &ph, &bh);

    r = gpt_parts_from(bd, t, rp == 0 ? &ph : &bh, err);

    gpt_note_hybrid(path, t, s0);
    if (rp == 0)
        gpt_hdr_free(&ph);
    if (rb == 0)
        gpt_hdr_free(&bh);
    return r;
}

/* ---- writing ---- */

/* Entries in the array written for at least nentries: 128 or more, whole sectors. */
static uint64_t gpt_array_entries(uint32_t ss, uint32_t nentries)
{
    uint64_t n = nentries < GPT_DEFAULT_ENTRIES ? GPT_DEFAULT_ENTRIES : nentries;
    return align_up_u64(n, ss / GPT_ENTRY_SIZE);
}

int ptable_gpt_usable_range(uint32_t ss, uint64_t disk_sectors, uint32_t nentries,
                            uint64_t *first, uint64_t *last)
{
    if (!bd_sector_size_valid(ss))
        return -EINVAL;
    uint64_t array_sectors = gpt_array_entries(ss, nentries) * GPT_ENTRY_SIZE / ss;
    uint64_t f = 2 + array_sectors;
    /* MBR, two headers, two arrays and at least one usable sector. */
    if (disk_sectors < 2 * f + 1)
        return -EINVAL;
    *first = f;
    *last = disk_sectors - 2 - array_sectors;
    return 0;
}

static void gpt_header_build(uint8_t *s, const ptable *t, uint64_t my, uint64_t alt,
                             uint64_t entries_lba, uint64_t first_usable, uint64_t last_usable,
                             uint32_t nentries, uint32_t entries_crc)
{
    memcpy(s + GPTH_SIGNATURE, GPT_SIGNATURE, 8);
    put_le32(s + GPTH_REVISION, GPT_REVISION_1_0);
    put_le32(s + GPTH_HEADER_SIZE, GPT_HEADER_SIZE);
    put_le64(s + GPTH_MY_LBA, my);
    put_le64(s + GPTH_ALTERNATE_LBA, alt);
    put_le64(s + GPTH_FIRST_USABLE, first_usable);
    put_le64(s + GPTH_LAST_USABLE, last_usable);
    memcpy(s + GPTH_DISK_GUID, t->disk_guid.b, 16);
    put_le64(s + GPTH_ENTRIES_LBA, entries_lba);
    put_le32(s + GPTH_NUM_ENTRIES, nentries);
    put_le32(s + GPTH_ENTRY_SIZE, GPT_ENTRY_SIZE);
    put_le32(s + GPTH_ENTRIES_CRC, entries_crc);
    put_le32(s + GPTH_HEADER_CRC, 0);
    put_le32(s + GPTH_HEADER_CRC, ptable_crc32(s, GPT_HEADER_SIZE));
}

int gpt_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err)
{
    const uint32_t ss = t->sector_size;
    const uint32_t per_sector = ss / GPT_ENTRY_SIZE;
    uint8_t *entries = NULL, *s = NULL;
    int r;

    uint64_t n = t->gpt_entries;
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].number > n)
            n = t->parts[i].number;
    if (n * GPT_ENTRY_SIZE > GPT_MAX_ARRAY_BYTES)
        return p2v_errf(err, -EINVAL, "GPT: %llu entries are too many", (unsigned long long)n);
    uint64_t first_usable, last_usable;
    if ((r = ptable_gpt_usable_range(ss, t->disk_sectors, (uint32_t)n, &first_usable,
                                     &last_usable)) < 0)
        return p2v_errf(err, r, "GPT: a disk of %llu sectors cannot hold a GPT",
                        (unsigned long long)t->disk_sectors);
    n = gpt_array_entries(ss, (uint32_t)n);
    const uint64_t array_sectors = n / per_sector;
    const uint64_t last_lba = t->disk_sectors - 1;
    const uint64_t backup_entries_lba = last_usable + 1;

    if (!(entries = calloc(array_sectors, ss)) || !(s = calloc(1, ss))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = &t->parts[i];
        uint64_t end;
        if (p->number == 0 || p->container) {
            r = p2v_errf(err, -EINVAL, "GPT: partition %u cannot go in a GPT%s", p->number,
                         p->container ? " (an MBR extended partition)" : " (number 0)");
            goto out;
        }
        if (p->size == 0 || __builtin_add_overflow(p->start, p->size - 1, &end) ||
            p->start < first_usable || end > last_usable) {
            r = p2v_errf(err, -EINVAL,
                         "GPT: partition %u (start %llu, %llu sectors) is outside the usable "
                         "area LBA %llu-%llu",
                         p->number, (unsigned long long)p->start, (unsigned long long)p->size,
                         (unsigned long long)first_usable, (unsigned long long)last_usable);
            goto out;
        }
        uint8_t *e = entries + (size_t)(p->number - 1) * GPT_ENTRY_SIZE;
        p2v_guid used;
        memcpy(used.b, e + GPTE_TYPE, 16);
        if (!guid_is_zero(&used)) {
            r = p2v_errf(err, -EINVAL, "GPT: two partitions numbered %u", p->number);
            goto out;
        }
        p2v_guid type = p->type_guid;
        if (guid_is_zero(&type) && ptable_mbr_to_gpt_type(p->mbr_type, &type) < 0) {
            r = p2v_errf(err, -EINVAL, "GPT: partition %u has no type GUID and MBR type 0x%02x "
                         "has no GPT equivalent", p->number, p->mbr_type);
            goto out;
        }
        memcpy(e + GPTE_TYPE, type.b, 16);
        memcpy(e + GPTE_UUID, p->uuid.b, 16);
        put_le64(e + GPTE_FIRST_LBA, p->start);
        put_le64(e + GPTE_LAST_LBA, end);
        put_le64(e + GPTE_ATTRS, p->attrs);
        gpt_name_encode(p->name, e + GPTE_NAME);
    }
    uint32_t entries_crc = ptable_crc32(entries, n * GPT_ENTRY_SIZE);

    /* Protective MBR: one 0xEE entry over the whole disk (capped at 2^32-1). */
    if (t->has_boot_code)
        memcpy(s, t->boot_code, MBR_BOOT_CODE_SIZE);
    put_le32(s + MBR_SIGNATURE_OFF, t->mbr_signature);
    mbr_entry_put(s + MBR_ENTRIES_OFF, 0, 0xee, 1, last_lba > UINT32_MAX ? UINT32_MAX : last_lba);
    s[MBR_MAGIC_OFF] = 0x55;
    s[MBR_MAGIC_OFF + 1] = 0xaa;
    if ((r = write(ctx, 0, s, ss, err)) < 0)
        goto out;

    memset(s, 0, ss);
    gpt_header_build(s, t, 1, last_lba, 2, first_usable, last_usable, (uint32_t)n, entries_crc);
    if ((r = write(ctx, ss, s, ss, err)) < 0 ||
        (r = write(ctx, 2 * (uint64_t)ss, entries, array_sectors * ss, err)) < 0)
        goto out;
    memset(s, 0, ss);
    gpt_header_build(s, t, last_lba, 1, backup_entries_lba, first_usable, last_usable,
                     (uint32_t)n, entries_crc);
    if ((r = write(ctx, backup_entries_lba * ss, entries, array_sectors * ss, err)) < 0 ||
        (r = write(ctx, last_lba * ss, s, ss, err)) < 0)
        goto out;
    r = 0;
out:
    free(entries);
    free(s);
    return r;
}
