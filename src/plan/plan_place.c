/* The planner's placement: each partition aligned after the one before it
 * (logicals with their EBR gap), Linux numbering, the disk size (a larger
 * --size grows the last partition), the MBR's 32-bit limits, and the plan
 * as a ptable for the serializers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_impl.h"
#include "util/size.h"

/* ---- placement ---- */

int pl_check_mbr_limits(const plan *p, p2v_err *err)
{
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->start + pp->sectors > PLAN_MBR_MAX_SECTORS + 1 ||
            pp->sectors > PLAN_MBR_MAX_SECTORS)
            return p2v_errf(err, -ERANGE,
                            "an MBR table addresses at most %llu sectors (2 TiB with 512-byte "
                            "sectors) with 32-bit LBAs, but partition %zu would end at sector "
                            "%llu; use -t gpt",
                            PLAN_MBR_MAX_SECTORS, i + 1,
                            (unsigned long long)(pp->start + pp->sectors));
    }
    if (p->disk_sectors > PLAN_MBR_MAX_SECTORS + 1)
        return p2v_errf(err, -ERANGE,
                        "an MBR table addresses at most %llu sectors (2 TiB with 512-byte "
                        "sectors); a disk of %llu sectors needs -t gpt",
                        PLAN_MBR_MAX_SECTORS, (unsigned long long)p->disk_sectors);
    return 0;
}

void pl_place(plan *p, size_t ls, size_t le)
{
    uint64_t a = p->align / p->sector_size;
    uint64_t cur = p->first_usable;
    for (size_t i = 0; i < p->nparts; i++) {
        plan_part *pp = &p->parts[i];
        if (ls != SIZE_MAX && i >= ls && i <= le) {
            /* The EBR goes right where the previous partition ends (in the
             * gap alignment leaves, when there is one), so the partition is
             * at most one unit after it. The first EBR starts the extended
             * partition. */
            pp->logical = true;
            pp->ebr_lba = cur;
            pp->start = align_up_u64(cur + 1, a);
            if (i == ls)
                p->ext_start = pp->ebr_lba;
        } else {
            pp->start = align_up_u64(cur, a);
        }
        cur = pp->start + pp->sectors;
        if (i == le)
            p->ext_sectors = cur - p->ext_start;
    }
}

void pl_number_parts(plan *p, size_t ls)
{
    unsigned slot = 1, logical = 5;
    for (size_t i = 0; i < p->nparts; i++) {
        if (i == ls)
            p->ext_number = slot++;
        p->parts[i].number = p->parts[i].logical ? logical++ : slot++;
    }
}

int pl_size_disk(plan *p, uint64_t want_bytes, p2v_err *err)
{
    uint64_t a = p->align / p->sector_size;
    uint64_t backup = p->table == PTABLE_GPT ? 1 + p->gpt_array_sectors : 0;
    plan_part *last = &p->parts[p->nparts - 1];
    uint64_t need = last->start + last->sectors + backup;
    if (want_bytes) {
        uint64_t want = want_bytes / p->sector_size + (want_bytes % p->sector_size != 0);
        if (want < need) {
            char h1[32], h2[32];
            return p2v_errf(err, -ERANGE,
                            "--size %s is too small: the selected partitions need at least %llu "
                            "bytes (%s)",
                            size_human(want_bytes, h1, sizeof h1),
                            (unsigned long long)(need * p->sector_size),
                            size_human(need * p->sector_size, h2, sizeof h2));
        }
        p->disk_sectors = want;
    } else {
        p->disk_sectors = align_up_u64(need, a);
    }
    p->last_usable = p->disk_sectors - backup - 1;
    uint64_t grow = p->disk_sectors - need;
    last->sectors += grow;
    if (last->logical)
        p->ext_sectors += grow;
    if (grow && want_bytes && last->kind == PLAN_PART_COPY)
        p2v_warn(&p->notes, "the last partition grows by %llu sectors to fill the disk",
                 (unsigned long long)grow);
    return 0;
}

/* ---- the table to serialize ---- */

/* A partition's entry; everything else of the entry stays zero. */
static void fill_entry(ptable_part *e, const plan_part *pp)
{
    *e = (ptable_part){
        .number = pp->number,
        .start = pp->start,
        .size = pp->sectors,
        .mbr_type = pp->mbr_type,
        .bootable = pp->bootable,
        .logical = pp->logical,
        .ebr_lba = pp->ebr_lba,
        .type_guid = pp->type_guid,
        .uuid = pp->uuid,
        .attrs = pp->attrs,
    };
    snprintf(e->name, sizeof e->name, "%s", pp->name);
}

void plan_ptable_free(ptable *t)
{
    if (!t)
        return;
    free(t->parts);
    free(t);
}

int plan_to_ptable(const plan *p, ptable **out, p2v_err *err)
{
    ptable *t = calloc(1, sizeof *t);
    if (!t || !(t->parts = calloc(p->nparts + 1, sizeof *t->parts))) {
        free(t);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    t->type = p->table;
    t->sector_size = p->sector_size;
    t->disk_sectors = p->disk_sectors;
    t->mbr_signature = p->mbr_signature;
    t->disk_guid = p->disk_guid;
    t->first_usable_lba = p->first_usable;
    t->last_usable_lba = p->last_usable;
    t->gpt_entries = p->table == PTABLE_GPT ? p->gpt_entries : PLAN_GPT_ENTRIES;
    t->has_boot_code = p->has_boot_code;
    memcpy(t->boot_code, p->boot_code, sizeof t->boot_code);
    /* Primaries and the container in slot order, then the logicals. */
    for (size_t i = 0; i < p->nparts; i++) {
        if (p->has_extended && p->parts[i].logical && (i == 0 || !p->parts[i - 1].logical)) {
            ptable_part *c = &t->parts[t->nparts++];
            c->number = p->ext_number;
            c->start = p->ext_start;
            c->size = p->ext_sectors;
            c->mbr_type = MBR_TYPE_EXTENDED_LBA;
            c->container = true;
        }
        if (!p->parts[i].logical)
            fill_entry(&t->parts[t->nparts++], &p->parts[i]);
    }
    for (size_t i = 0; i < p->nparts; i++)
        if (p->parts[i].logical)
            fill_entry(&t->parts[t->nparts++], &p->parts[i]);
    *out = t;
    return 0;
}
