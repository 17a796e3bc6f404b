/* MBR partition tables: primaries, one extended container, its EBR chain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/bpb.h"
#include "ptable/ptable_impl.h"
#include "util/endian.h"

void mbr_inspect(const uint8_t s[MBR_SIZE], struct mbr_info *info)
{
    memset(info, 0, sizeof *info);
    info->magic = s[MBR_MAGIC_OFF] == 0x55 && s[MBR_MAGIC_OFF + 1] == 0xaa;
    info->valid_status = true;
    for (int i = 0; i < 4; i++) {
        const uint8_t *e = s + MBR_ENTRIES_OFF + i * MBR_ENTRY_SIZE;
        if (e[MBRE_STATUS] != 0x00 && e[MBRE_STATUS] != 0x80)
            info->valid_status = false;
        if (e[MBRE_TYPE] != 0)
            info->nonempty++;
        if (e[MBRE_TYPE] == 0xee)
            info->protective = true;
    }
    /* A filesystem written over the whole disk: the jump instruction and the
     * OEM name (NTFS, exFAT) or the FAT type string of a FAT12/16/32 BPB. */
    info->fs_boot = bpb_has_jump(s, false) &&
                    (bpb_oem_is(s, BPB_OEM_NTFS) || bpb_oem_is(s, BPB_OEM_EXFAT) ||
                     bpb_has_fat_type(s, false));
}

void mbr_chs_encode(uint64_t lba, uint8_t out[3])
{
    uint64_t c = lba / (255 * 63), h = (lba / 63) % 255, sec = lba % 63 + 1;
    if (c > 1023) {
        c = 1023;
        h = 254;
        sec = 63;
    }
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(sec | ((c >> 2) & 0xc0));
    out[2] = (uint8_t)(c & 0xff);
}

void mbr_entry_put(uint8_t *e, uint8_t status, uint8_t type, uint64_t lba, uint64_t sectors)
{
    e[MBRE_STATUS] = status;
    mbr_chs_encode(lba, e + MBRE_CHS_FIRST);
    e[MBRE_TYPE] = type;
    mbr_chs_encode(sectors ? lba + sectors - 1 : lba, e + MBRE_CHS_LAST);
    put_le32(e + MBRE_LBA, (uint32_t)lba);
    put_le32(e + MBRE_SECTORS, (uint32_t)sectors);
}

/* ---- reading ---- */

struct ebr_walk {
    blockdev *bd;
    ptable *t;
    uint64_t ext_start, ext_end; /* container, end exclusive */
    uint64_t visited[MBR_MAX_LOGICALS];
    size_t nvisited;
    unsigned next_number;
};

static bool ebr_seen(const struct ebr_walk *w, uint64_t lba)
{
    for (size_t i = 0; i < w->nvisited; i++)
        if (w->visited[i] == lba)
            return true;
    return false;
}

/* Add the logical partition described by entry 0 of the EBR at ebr_lba. */
static int ebr_add_logical(struct ebr_walk *w, const uint8_t *e, uint64_t ebr_lba, p2v_err *err)
{
    const char *path = bd_path(w->bd);
    ptable_part p = { 0 };
    p.number = w->next_number++;
    p.logical = true;
    p.ebr_lba = ebr_lba;
    p.start = ebr_lba + get_le32(e + MBRE_LBA);
    p.size = get_le32(e + MBRE_SECTORS);
    p.mbr_type = e[MBRE_TYPE];
    p.bootable = e[MBRE_STATUS] == 0x80;
    ptable_mbr_to_gpt_type(p.mbr_type, &p.type_guid);
    if (p.start == ebr_lba) {
        p.problems |= PTABLE_PROBLEM_ON_TABLE;
        ptable_warn(w->t, "%s: partition %u starts on its own EBR at LBA %llu", path,
                 p.number, (unsigned long long)ebr_lba);
    }
    if (p.start + p.size > w->ext_end) {
        p.problems |= PTABLE_PROBLEM_OUTSIDE;
        ptable_warn(w->t,
                 "%s: partition %u (LBA %llu-%llu) reaches outside its extended partition "
                 "(LBA %llu-%llu)",
                 path, p.number, (unsigned long long)p.start,
                 (unsigned long long)(p.start + p.size - 1), (unsigned long long)w->ext_start,
                 (unsigned long long)(w->ext_end - 1));
    }
    return ptable_add_part(w->t, &p, err);
}

/* Follow the EBR chain of the container. Problems in the chain end the walk
 * with a warning: the logical partitions found before stay usable. */
static int ebr_walk(struct ebr_walk *w, p2v_err *err)
{
    const char *path = bd_path(w->bd);
    uint32_t ss = w->t->sector_size;
    uint64_t cur = w->ext_start, from = 0;
    uint8_t s[MBR_SIZE];

    for (;;) {
        if (cur >= w->t->disk_sectors) {
            ptable_warn(w->t,
                     "%s: EBR at LBA %llu lies past the end of the disk (%llu sectors); "
                     "logical partitions from %u on are missing",
                     path, (unsigned long long)cur, (unsigned long long)w->t->disk_sectors,
                     w->next_number);
            return 0;
        }
        if (ebr_seen(w, cur)) {
            ptable_warn(w->t,
                     "%s: EBR chain loops: the EBR at LBA %llu links back to LBA %llu; "
                     "logical partitions from %u on are ignored",
                     path, (unsigned long long)from, (unsigned long long)cur, w->next_number);
            return 0;
        }
        if (w->nvisited == MBR_MAX_LOGICALS) {
            ptable_warn(w->t, "%s: EBR chain longer than %d links; the rest is ignored",
                     path, MBR_MAX_LOGICALS);
            return 0;
        }
        w->visited[w->nvisited++] = cur;
        p2v_err rerr;
        if (bd_pread(w->bd, s, sizeof s, cur * ss, &rerr) < 0) {
            ptable_warn(w->t, "%s: cannot read the EBR at LBA %llu (%s)", path,
                     (unsigned long long)cur, rerr.msg);
            return 0;
        }
        if (s[MBR_MAGIC_OFF] != 0x55 || s[MBR_MAGIC_OFF + 1] != 0xaa) {
            /* An empty container holds a zeroed sector: nothing to warn about. */
            bool zero = true;
            for (size_t i = MBR_ENTRIES_OFF; i < MBR_SIZE && zero; i++)
                zero = s[i] == 0;
            if (!(zero && cur == w->ext_start))
                ptable_warn(w->t,
                         "%s: EBR at LBA %llu has no 0x55AA signature; logical partitions from "
                         "%u on are ignored",
                         path, (unsigned long long)cur, w->next_number);
            return 0;
        }
        const uint8_t *e0 = s + MBR_ENTRIES_OFF, *e1 = e0 + MBR_ENTRY_SIZE;
        if (e0[MBRE_TYPE] != 0 && get_le32(e0 + MBRE_SECTORS) != 0) {
            int r = ebr_add_logical(w, e0, cur, err);
            if (r < 0)
                return r;
        }
        if (e1[MBRE_TYPE] == 0 || get_le32(e1 + MBRE_SECTORS) == 0)
            return 0;
        if (!ptable_mbr_is_extended(e1[MBRE_TYPE])) {
            ptable_warn(w->t,
                     "%s: EBR at LBA %llu links with type 0x%02x, not an extended type; "
                     "the chain ends there",
                     path, (unsigned long long)cur, e1[MBRE_TYPE]);
            return 0;
        }
        uint64_t next = w->ext_start + get_le32(e1 + MBRE_LBA);
        if (next >= w->ext_end) {
            ptable_warn(w->t,
                     "%s: EBR at LBA %llu links to LBA %llu, outside the extended partition "
                     "(LBA %llu-%llu); logical partitions from %u on are ignored",
                     path, (unsigned long long)cur, (unsigned long long)next,
                     (unsigned long long)w->ext_start, (unsigned long long)(w->ext_end - 1),
                     w->next_number);
            return 0;
        }
        from = cur;
        cur = next;
    }
}

int mbr_read(blockdev *bd, ptable *t, const uint8_t s[MBR_SIZE], p2v_err *err)
{
    const char *path = bd_path(bd);
    int r;
    ptable_sector0(t, PTABLE_MBR, s);

    int container = -1;
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *e = s + MBR_ENTRIES_OFF + i * MBR_ENTRY_SIZE;
        if (e[MBRE_TYPE] == 0 || e[MBRE_TYPE] == 0xee) /* 0xEE only guards a GPT */
            continue;
        ptable_part p = { 0 };
        p.number = i + 1;
        p.start = get_le32(e + MBRE_LBA);
        p.size = get_le32(e + MBRE_SECTORS);
        p.mbr_type = e[MBRE_TYPE];
        p.bootable = e[MBRE_STATUS] == 0x80;
        p.container = ptable_mbr_is_extended(p.mbr_type);
        if (p.size == 0) {
            ptable_warn(t, "%s: MBR entry %u has type 0x%02x but no sectors; ignored",
                     path, p.number, p.mbr_type);
            continue;
        }
        ptable_mbr_to_gpt_type(p.mbr_type, &p.type_guid);
        if (p.start == 0) {
            p.problems |= PTABLE_PROBLEM_ON_TABLE;
            ptable_warn(t, "%s: partition %u starts at LBA 0, on the MBR itself", path,
                     p.number);
        }
        if (p.container) {
            if (container >= 0) {
                ptable_warn(t,
                         "%s: more than one extended partition (%d and %u); only the logical "
                         "partitions of the first are read",
                         path, container + 1, p.number);
            } else {
                container = (int)i;
            }
        }
        if ((r = ptable_add_part(t, &p, err)) < 0)
            return r;
    }
    if (container < 0)
        return 0;

    const uint8_t *ce = s + MBR_ENTRIES_OFF + container * MBR_ENTRY_SIZE;
    struct ebr_walk *w = calloc(1, sizeof *w);
    if (!w)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", path);
    w->bd = bd;
    w->t = t;
    w->ext_start = get_le32(ce + MBRE_LBA);
    w->ext_end = w->ext_start + get_le32(ce + MBRE_SECTORS);
    w->next_number = 5;
    r = w->ext_start == 0 ? 0 : ebr_walk(w, err);
    free(w);
    return r;
}

/* ---- writing ---- */

static int cmp_part_number(const void *a, const void *b)
{
    const ptable_part *x = *(const ptable_part *const *)a, *y = *(const ptable_part *const *)b;
    return (x->number > y->number) - (x->number < y->number);
}

static int mbr_check_range(const ptable *t, const ptable_part *p, p2v_err *err)
{
    uint64_t end;
    if (p->size == 0 || p->start == 0 || __builtin_add_overflow(p->start, p->size, &end) ||
        end > t->disk_sectors)
        return p2v_errf(err, -EINVAL,
                        "MBR: partition %u (start %llu, %llu sectors) does not fit a disk of "
                        "%llu sectors",
                        p->number, (unsigned long long)p->start, (unsigned long long)p->size,
                        (unsigned long long)t->disk_sectors);
    if (end - 1 > UINT32_MAX)
        return p2v_errf(err, -ERANGE,
                        "MBR: partition %u ends at LBA %llu, beyond the 2^32-sector reach of an "
                        "MBR (use GPT)",
                        p->number, (unsigned long long)(end - 1));
    return 0;
}

/* Primaries take the slot of their number (1-4), or the next free one;
 * logical partitions are gathered for the EBR chain. */
static int mbr_place_primaries(const ptable *t, const ptable_part *slot[4],
                               const ptable_part **container, const ptable_part **logicals,
                               size_t *nlog, p2v_err *err)
{
    int r;
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = &t->parts[i];
        if ((r = mbr_check_range(t, p, err)) < 0)
            return r;
        if (p->logical) {
            logicals[(*nlog)++] = p;
            continue;
        }
        if (p->container) {
            if (*container)
                return p2v_errf(err, -EINVAL, "MBR: more than one extended partition (%u and %u)",
                                (*container)->number, p->number);
            *container = p;
        }
        if (p->number >= 1 && p->number <= 4 && !slot[p->number - 1]) {
            slot[p->number - 1] = p;
            continue;
        }
        int free_slot = -1;
        for (int k = 0; k < 4 && free_slot < 0; k++)
            if (!slot[k])
                free_slot = k;
        if (free_slot < 0)
            return p2v_errf(err, -EINVAL,
                            "MBR: more than 4 primary partitions; put the others in an extended "
                            "partition");
        slot[free_slot] = p;
    }
    for (int k = 0; k < 4; k++) /* a numbered primary may have been pushed to a later slot */
        for (int m = k + 1; m < 4; m++)
            if (slot[k] && slot[m] && slot[k]->number == slot[m]->number)
                return p2v_errf(err, -EINVAL, "MBR: two primary partitions numbered %u",
                                slot[k]->number);
    return 0;
}

/* Logical partitions, in number order, each after its EBR and after the
 * previous one, all inside the container. */
static int mbr_check_logicals(const ptable_part *container, const ptable_part **logicals,
                              size_t nlog, p2v_err *err)
{
    if (nlog && !container)
        return p2v_errf(err, -EINVAL, "MBR: %zu logical partitions but no extended partition",
                        nlog);
    if (nlog)
        qsort(logicals, nlog, sizeof *logicals, cmp_part_number);
    for (size_t i = 0; i < nlog; i++) {
        const ptable_part *p = logicals[i];
        if (p->ebr_lba < container->start || p->ebr_lba >= p->start ||
            p->start + p->size > container->start + container->size ||
            (i > 0 && p->ebr_lba < logicals[i - 1]->start + logicals[i - 1]->size))
            return p2v_errf(err, -EINVAL,
                            "MBR: logical partition %u (EBR at LBA %llu, LBA %llu-%llu) does not "
                            "fit in order inside the extended partition (LBA %llu-%llu)",
                            p->number, (unsigned long long)p->ebr_lba,
                            (unsigned long long)p->start,
                            (unsigned long long)(p->start + p->size - 1),
                            (unsigned long long)container->start,
                            (unsigned long long)(container->start + container->size - 1));
    }
    return 0;
}

/* One EBR per logical partition: entry 0 relative to the EBR, entry 1 the
 * next EBR relative to the container; CHS fields are absolute. */
static int mbr_write_ebrs(const ptable *t, const ptable_part *container,
                          const ptable_part **logicals, size_t nlog, uint8_t *buf,
                          p2v_write_fn write, void *ctx, p2v_err *err)
{
    const uint32_t ss = t->sector_size;
    int r;
    if (container && nlog == 0) {
        /* An empty chain: one EBR with no entries, as fdisk leaves it. */
        memset(buf, 0, ss);
        buf[MBR_MAGIC_OFF] = 0x55;
        buf[MBR_MAGIC_OFF + 1] = 0xaa;
        return write(ctx, container->start * ss, buf, ss, err);
    }
    for (size_t i = 0; i < nlog; i++) {
        const ptable_part *p = logicals[i];
        memset(buf, 0, ss);
        uint8_t *e0 = buf + MBR_ENTRIES_OFF, *e1 = e0 + MBR_ENTRY_SIZE;
        mbr_entry_put(e0, p->bootable ? 0x80 : 0, p->mbr_type, p->start - p->ebr_lba, p->size);
        mbr_chs_encode(p->start, e0 + MBRE_CHS_FIRST);
        mbr_chs_encode(p->start + p->size - 1, e0 + MBRE_CHS_LAST);
        if (i + 1 < nlog) {
            const ptable_part *n = logicals[i + 1];
            mbr_entry_put(e1, 0, 0x05, n->ebr_lba - container->start,
                          n->start + n->size - n->ebr_lba);
            mbr_chs_encode(n->ebr_lba, e1 + MBRE_CHS_FIRST);
            mbr_chs_encode(n->start + n->size - 1, e1 + MBRE_CHS_LAST);
        }
        buf[MBR_MAGIC_OFF] = 0x55;
        buf[MBR_MAGIC_OFF + 1] = 0xaa;
        if ((r = write(ctx, p->ebr_lba * ss, buf, ss, err)) < 0)
            return r;
    }
    return 0;
}

int mbr_serialize(const ptable *t, p2v_write_fn write, void *ctx, p2v_err *err)
{
    const uint32_t ss = t->sector_size;
    const ptable_part *slot[4] = { NULL };
    const ptable_part *container = NULL;
    const ptable_part **logicals = NULL;
    size_t nlog = 0;
    uint8_t *buf = NULL;
    int r = 0;

    if (t->nparts && !(logicals = calloc(t->nparts, sizeof *logicals)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    if ((r = mbr_place_primaries(t, slot, &container, logicals, &nlog, err)) < 0 ||
        (r = mbr_check_logicals(container, logicals, nlog, err)) < 0)
        goto out;
    if (!(buf = calloc(1, ss))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (t->has_boot_code)
        memcpy(buf, t->boot_code, MBR_BOOT_CODE_SIZE);
    put_le32(buf + MBR_SIGNATURE_OFF, t->mbr_signature);
    for (int k = 0; k < 4; k++)
        if (slot[k])
            mbr_entry_put(buf + MBR_ENTRIES_OFF + k * MBR_ENTRY_SIZE, slot[k]->bootable ? 0x80 : 0,
                          slot[k]->mbr_type, slot[k]->start, slot[k]->size);
    buf[MBR_MAGIC_OFF] = 0x55;
    buf[MBR_MAGIC_OFF + 1] = 0xaa;
    if ((r = write(ctx, 0, buf, ss, err)) < 0)
        goto out;
    r = mbr_write_ebrs(t, container, logicals, nlog, buf, write, ctx, err);
out:
    free(buf);
    free(logicals);
    return r < 0 ? r : 0;
}
