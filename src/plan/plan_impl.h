/* The planner's private parts, shared by its files:
 *
 *   plan.c        plan_build: the selection checked, firmware and table type,
 *                 the ordered list of target partitions, notes
 *   plan_types.c  partition types and fresh identities, the active
 *                 partition and the boot code of an MBR target
 *   plan_place.c  placement, numbering, the disk size, MBR limits, and the
 *                 table to serialize */
#ifndef P2V_PLAN_IMPL_H
#define P2V_PLAN_IMPL_H

#include <string.h>

#include "plan/plan.h"

#define GPT_ATTR_PLATFORM_REQUIRED 0x1ULL
#define GPT_ATTR_LEGACY_BIOS_BOOTABLE 0x4ULL
#define GPT_ATTR_NO_DRIVE_LETTER 0x8000000000000000ULL
#define MBR_TYPE_EXTENDED_LBA 0x0F
#define MBR_TYPE_ESP 0xEF
#define MBR_TYPE_NTFS 0x07
#define MBR_TYPE_WINRE 0x27

static inline bool guid_is(const p2v_guid *g, const char *s)
{
    p2v_guid t;
    return guid_parse(s, &t) == 0 && guid_equal(g, &t);
}

static inline bool part_is_esp(const ptable *pt, const ptable_part *pp)
{
    if (pt->type == PTABLE_GPT)
        return guid_is(&pp->type_guid, GPT_TYPE_ESP);
    return pp->mbr_type == MBR_TYPE_ESP;
}

/* Active on an MBR source, or "legacy BIOS bootable" on a GPT source. */
static inline bool part_was_boot(const ptable *pt, const ptable_part *pp)
{
    if (pt->type == PTABLE_GPT)
        return (pp->attrs & GPT_ATTR_LEGACY_BIOS_BOOTABLE) != 0;
    return pp->bootable;
}


/* ---- plan_types.c ---- */

/* Each target partition's GPT type or MBR type byte, or why it has none. */
int pl_assign_types(plan *p, const plan_source *src, p2v_err *err);
/* A new disk signature or GUID and new partition GUIDs, unlike every source's. */
int pl_fresh_identity(plan *p, const plan_source *src, size_t nsrc);
size_t pl_choose_active(plan *p, const plan_source *src, const plan_sel *sel, size_t want);
void pl_choose_boot_code(plan *p, const plan_source *src, size_t active);
/* The partitions [*ls, *le] that become logical so that `boot` stays primary. */
bool pl_choose_logical_run(size_t k, size_t boot, size_t *ls, size_t *le);

/* ---- plan_place.c ---- */

void pl_place(plan *p, size_t ls, size_t le);
void pl_number_parts(plan *p, size_t ls);
int pl_size_disk(plan *p, uint64_t want_bytes, p2v_err *err);
int pl_check_mbr_limits(const plan *p, p2v_err *err);

#endif
