/* The planner: from a selection of source partitions to the layout of the
 * new disk. This file checks the selection, picks the firmware and table
 * type, lists the target partitions in order (with the extra ones p2v
 * creates) and drives the steps of plan_types.c and plan_place.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/kind.h"
#include "plan/plan_impl.h"
#include "util/size.h"

const char *plan_firmware_str(enum plan_firmware fw)
{
    switch (fw) {
    case PLAN_FW_BIOS: return "bios";
    case PLAN_FW_UEFI: return "uefi";
    default: return "none";
    }
}

bool plan_is_windows_part(const ptable *pt, const ptable_part *pp, const char *fstype)
{
    if (fs_kind_of(fstype) == FS_NTFS)
        return true;
    if (pt->type == PTABLE_GPT)
        return guid_is(&pp->type_guid, GPT_TYPE_BASIC_DATA) ||
               guid_is(&pp->type_guid, GPT_TYPE_WINRE);
    return pp->mbr_type == MBR_TYPE_NTFS || pp->mbr_type == MBR_TYPE_WINRE;
}

/* ---- validation of the selection ---- */

static int check_selection(const plan_source *src, size_t nsrc, const plan_sel *sel, size_t nsel,
                           uint32_t *sector_size, p2v_err *err)
{
    if (nsel == 0)
        return p2v_errf(err, -EINVAL, "no partition selected");
    *sector_size = 0;
    for (size_t i = 0; i < nsel; i++) {
        if (sel[i].disk >= nsrc)
            return p2v_errf(err, -EINVAL, "selection %zu names an unknown disk", i + 1);
        const plan_source *s = &src[sel[i].disk];
        const ptable *pt = s->pt;
        if (pt->type == PTABLE_NONE)
            return p2v_errf(err, -ENOENT, "%s:%u: the disk has no partition table", s->name,
                            sel[i].number);
        const ptable_part *pp = ptable_find(pt, sel[i].number);
        if (!pp)
            return p2v_errf(err, -ENOENT, "%s:%u: the disk has no partition %u (it has %zu)",
                            s->name, sel[i].number, sel[i].number, pt->nparts);
        if (pp->container)
            return p2v_errf(err, -EINVAL,
                            "%s:%u is an extended partition (a container of logical partitions, "
                            "no data of its own); select the logical partitions in it (numbers 5 "
                            "and up) instead",
                            s->name, sel[i].number);
        if (pp->size == 0)
            return p2v_errf(err, -EINVAL, "%s:%u is empty (0 sectors)", s->name, sel[i].number);
        if (sel[i].bytes > PLAN_MAX_DISK_BYTES)
            return p2v_errf(err, -ERANGE, "%s:%u=%llu is larger than the %llu bytes p2v accepts",
                            s->name, sel[i].number, (unsigned long long)sel[i].bytes,
                            (unsigned long long)PLAN_MAX_DISK_BYTES);
        for (size_t j = 0; j < i; j++)
            if (sel[j].disk == sel[i].disk && sel[j].number == sel[i].number)
                return p2v_errf(err, -EINVAL, "%s:%u is selected twice (selections %zu and %zu)",
                                s->name, sel[i].number, j + 1, i + 1);
        uint64_t end, bytes;
        if (add_u64(pp->start, pp->size, &end) < 0 || mul_u64(end, pt->sector_size, &bytes) < 0 ||
            (s->bd && bytes > bd_size(s->bd)))
            return p2v_errf(err, -EINVAL,
                            "%s:%u: partition (sectors %llu..+%llu) goes past the end of the disk",
                            s->name, sel[i].number, (unsigned long long)pp->start,
                            (unsigned long long)pp->size);
        if (pp->problems & (PTABLE_PROBLEM_OVERLAP | PTABLE_PROBLEM_ON_TABLE | PTABLE_PROBLEM_OUTSIDE))
            return p2v_errf(err, -EINVAL,
                            "%s:%u: partition (sectors %llu..+%llu) %s; the table is inconsistent "
                            "there and p2v will not guess which bytes belong to it",
                            s->name, sel[i].number, (unsigned long long)pp->start,
                            (unsigned long long)pp->size,
                            (pp->problems & PTABLE_PROBLEM_OVERLAP)    ? "overlaps another partition"
                            : (pp->problems & PTABLE_PROBLEM_ON_TABLE) ? "covers the partition table"
                                                                        : "lies outside its container");
        if (*sector_size == 0) {
            *sector_size = pt->sector_size;
        } else if (pt->sector_size != *sector_size) {
            return p2v_errf(err, -EINVAL,
                            "%s has %u-byte sectors but %s has %u-byte sectors; partitions of "
                            "disks with different sector sizes cannot share one image",
                            src[sel[0].disk].name, *sector_size, s->name, pt->sector_size);
        }
    }
    if (*sector_size < 512 || (*sector_size & (*sector_size - 1)))
        return p2v_errf(err, -EINVAL, "unsupported sector size %u", *sector_size);
    return 0;
}

/* ---- firmware and table type ---- */

static enum plan_firmware source_firmware(const plan_source *src, const plan_sel *sel, size_t nsel)
{
    for (size_t i = 0; i < nsel; i++) {
        const ptable *pt = src[sel[i].disk].pt;
        if (part_is_esp(pt, ptable_find(pt, sel[i].number)))
            return PLAN_FW_UEFI;
    }
    for (size_t i = 0; i < nsel; i++) {
        const ptable *pt = src[sel[i].disk].pt;
        if (pt->type == PTABLE_MBR && ptable_find(pt, sel[i].number)->bootable)
            return PLAN_FW_BIOS;
    }
    const ptable *first = src[sel[0].disk].pt;
    for (size_t i = 0; i < first->nparts; i++) {
        if (first->type == PTABLE_GPT && part_is_esp(first, &first->parts[i]))
            return PLAN_FW_UEFI;
        if (first->type == PTABLE_MBR && first->parts[i].bootable)
            return PLAN_FW_BIOS;
    }
    return PLAN_FW_NONE;
}

/* ---- the ordered list of target partitions before placement ---- */

static int add_extra(plan *p, const plan_extra *x)
{
    plan_part *pp = &p->parts[p->nparts++];
    memset(pp, 0, sizeof *pp);
    pp->kind = x->kind;
    pp->role = x->role;
    pp->sel = SIZE_MAX;
    pp->disk = SIZE_MAX;
    pp->sectors = (x->bytes + p->sector_size - 1) / p->sector_size;
    pp->mbr_type = x->mbr_type;
    if (x->gpt_type && guid_parse(x->gpt_type, &pp->type_guid) < 0)
        return -EINVAL;
    snprintf(pp->name, sizeof pp->name, "%s", x->name ? x->name : "");
    return guid_generate(&pp->uuid);
}

static void add_copy(plan *p, const plan_source *src, const plan_sel *sel, size_t i)
{
    const ptable *pt = src[sel[i].disk].pt;
    const ptable_part *sp = ptable_find(pt, sel[i].number);
    plan_part *pp = &p->parts[p->nparts++];
    memset(pp, 0, sizeof *pp);
    pp->kind = PLAN_PART_COPY;
    pp->sel = i;
    pp->disk = sel[i].disk;
    pp->src = sp;
    pp->src_offset = sp->start * pt->sector_size;
    pp->src_bytes = sp->size * pt->sector_size;
    pp->sectors = sp->size;
    if (sel[i].bytes)
        pp->sectors = sel[i].bytes / pt->sector_size + (sel[i].bytes % pt->sector_size != 0);
    snprintf(pp->fstype, sizeof pp->fstype, "%s", sel[i].fstype);
    snprintf(pp->label, sizeof pp->label, "%s", sel[i].label);
}

static bool needs_msr(const plan *p, const plan_source *src, const plan_sel *sel, size_t nsel,
                      size_t *first_windows)
{
    bool any_from_non_gpt = false;
    *first_windows = SIZE_MAX;
    for (size_t i = 0; i < nsel; i++) {
        const ptable *pt = src[sel[i].disk].pt;
        const ptable_part *sp = ptable_find(pt, sel[i].number);
        if (pt->type == PTABLE_GPT && guid_is(&sp->type_guid, GPT_TYPE_MSR))
            return false; /* the user brings one */
        if (plan_is_windows_part(pt, sp, sel[i].fstype)) {
            if (*first_windows == SIZE_MAX)
                *first_windows = i;
            if (pt->type != PTABLE_GPT)
                any_from_non_gpt = true;
        }
    }
    return p->table == PTABLE_GPT && any_from_non_gpt;
}

static int build_order(plan *p, const plan_source *src, const plan_sel *sel, size_t nsel,
                       const plan_opts *o)
{
    size_t msr_before = SIZE_MAX;
    bool msr = !o->no_msr && needs_msr(p, src, sel, nsel, &msr_before);
    for (size_t i = 0; i <= nsel; i++) {
        for (size_t x = 0; x < o->nextra; x++)
            if (o->extra[x].before == i && add_extra(p, &o->extra[x]) < 0)
                return -EINVAL;
        if (msr && i == msr_before) {
            plan_extra m = { .kind = PLAN_PART_MSR, .bytes = PLAN_MSR_BYTES,
                             .gpt_type = GPT_TYPE_MSR, .mbr_type = 0,
                             .name = "Microsoft reserved partition" };
            if (add_extra(p, &m) < 0)
                return -EINVAL;
            p2v_warn(&p->notes, "a 16 MiB Microsoft Reserved partition is added before %s:%u "
                                "(the table becomes GPT; --no-msr leaves it out)",
                     src[sel[i].disk].name, sel[i].number);
        }
        if (i < nsel)
            add_copy(p, src, sel, i);
    }
    return 0;
}

/* Say when the chosen firmware will not find what it boots from. */
static void firmware_notes(plan *p, const plan_source *src)
{
    bool bios_boot = false;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY)
            continue;
        const ptable *pt = src[pp->disk].pt;
        bios_boot = bios_boot ||
                    (pt->type == PTABLE_GPT && guid_is(&pp->src->type_guid, GPT_TYPE_BIOS_BOOT));
    }
    if (p->firmware == PLAN_FW_BIOS && p->table == PTABLE_GPT && !bios_boot)
        p2v_warn(&p->notes, "firmware bios with a GPT table: BIOS boots a GPT disk only through a "
                            "boot loader that supports it (e.g. GRUB with a BIOS boot partition)");
}

void plan_free(plan *p)
{
    if (!p)
        return;
    p2v_warnings_free(&p->notes);
    free(p->parts);
    free(p);
}

int plan_build(const plan_source *src, size_t nsrc, const plan_sel *sel, size_t nsel,
               const plan_opts *o, plan **out, p2v_err *err)
{
    int r;
    uint32_t ss = 0;
    plan *p = NULL;
    if ((r = check_selection(src, nsrc, sel, nsel, &ss, err)) < 0)
        return r;
    p = calloc(1, sizeof *p);
    if (!p || !(p->parts = calloc(nsel + o->nextra + 1, sizeof *p->parts))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    p->sector_size = ss;
    p->align = o->align ? o->align : 1ULL << 20;
    if (p->align % ss) {
        r = p2v_errf(err, PLAN_EOPTION, "--align %llu is not a multiple of the %u-byte sector size",
                     (unsigned long long)p->align, ss);
        goto out;
    }
    if (p->align > PLAN_MAX_ALIGN) {
        r = p2v_errf(err, PLAN_EOPTION, "--align %llu is larger than the 1 GiB p2v accepts",
                     (unsigned long long)p->align);
        goto out;
    }
    if (o->size > PLAN_MAX_DISK_BYTES) {
        r = p2v_errf(err, PLAN_EOPTION, "--size %llu is larger than the %llu bytes (64 PiB) p2v "
                     "accepts", (unsigned long long)o->size,
                     (unsigned long long)PLAN_MAX_DISK_BYTES);
        goto out;
    }

    p->firmware = o->boot;
    if (p->firmware == PLAN_FW_NONE) {
        p->firmware = source_firmware(src, sel, nsel);
        p->firmware_from_source = true;
    }
    p->table = o->table;
    if (p->table == PTABLE_NONE) {
        if (o->boot == PLAN_FW_UEFI)
            p->table = PTABLE_GPT;
        else if (o->boot == PLAN_FW_BIOS)
            p->table = PTABLE_MBR;
        else
            p->table = src[sel[0].disk].pt->type;
    }

    if ((r = build_order(p, src, sel, nsel, o)) < 0) {
        r = p2v_errf(err, r, "cannot add a partition p2v creates (bad type)");
        goto out;
    }
    if ((r = pl_assign_types(p, src, err)) < 0)
        goto out;
    if ((r = pl_fresh_identity(p, src, nsrc)) < 0) {
        r = p2v_errf(err, r, "cannot generate a fresh disk identity: %s", strerror(-r));
        goto out;
    }

    if (o->active && (o->active > nsel || p->table != PTABLE_MBR)) {
        r = p2v_errf(err, -EINVAL, o->active > nsel
                                       ? "--active: selection %zu does not exist"
                                       : "--active applies to an MBR target; a GPT table has "
                                         "no active flag (selection %zu)",
                     o->active);
        goto out;
    }
    size_t active = p->table == PTABLE_MBR ? pl_choose_active(p, src, sel, o->active) : SIZE_MAX;
    size_t ls = SIZE_MAX, le = SIZE_MAX;
    if (p->table == PTABLE_MBR && p->nparts > 4 && !pl_choose_logical_run(p->nparts, active, &ls, &le)) {
        /* No run of logicals leaves the boot partition primary: it moves to the front. */
        plan_part b = p->parts[active];
        memmove(&p->parts[1], &p->parts[0], active * sizeof *p->parts);
        p->parts[0] = b;
        p2v_warn(&p->notes, "%s:%u moves to the front so that it stays a primary partition "
                            "(a boot partition cannot be logical)",
                 src[b.disk].name, b.src->number);
        active = 0;
        pl_choose_logical_run(p->nparts, active, &ls, &le);
    }
    if (active != SIZE_MAX)
        p->parts[active].bootable = true;
    if (p->table == PTABLE_MBR && p->nparts > 4 && ls != 3)
        p2v_warn(&p->notes, "partitions %zu to %zu become logical partitions so that the boot "
                            "partition stays primary", ls + 1, le + 1);
    p->has_extended = ls != SIZE_MAX;

    if (p->table == PTABLE_GPT) {
        /* 128 entries as usual; more partitions than that need a longer array
         * (as the serializer writes it: whole sectors of entries). */
        uint64_t n = p->nparts > PLAN_GPT_ENTRIES ? p->nparts : PLAN_GPT_ENTRIES;
        uint64_t per_sector = ss / PLAN_GPT_ENTRY_SIZE;
        p->gpt_array_sectors = (n + per_sector - 1) / per_sector;
        p->gpt_entries = (uint32_t)(p->gpt_array_sectors * per_sector);
        p->first_usable = 2 + p->gpt_array_sectors;
    } else {
        p->first_usable = 1;
    }
    pl_place(p, ls, le);
    pl_number_parts(p, ls);
    if ((r = pl_size_disk(p, o->size, err)) < 0)
        goto out;
    if (p->table == PTABLE_MBR && (r = pl_check_mbr_limits(p, err)) < 0)
        goto out;
    pl_choose_boot_code(p, src, active);
    firmware_notes(p, src);
    *out = p;
    return 0;
out:
    plan_free(p);
    return r;
}
