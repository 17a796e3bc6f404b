/* The planner's types and identities: each target partition's GPT type or
 * MBR type byte (refusing what cannot be copied on its own), fresh disk and
 * partition identities, and for an MBR target the active partition, the
 * boot code and which partitions become logical. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "plan/plan_impl.h"

/* ---- types and identities ---- */

/* Partitions whose content is not usable on its own: the volume layout
 * lives outside the partition (FACTS.md, "offline copy unsafe"). */
static int refuse_unsafe(const ptable *pt, const ptable_part *sp, const char *what, p2v_err *err)
{
    bool ldm = pt->type == PTABLE_GPT ? guid_is(&sp->type_guid, GPT_TYPE_LDM_META) ||
                                            guid_is(&sp->type_guid, GPT_TYPE_LDM_DATA)
                                      : sp->mbr_type == 0x42;
    if (ldm)
        return p2v_errf(err, -EINVAL,
                        "%s is a Windows dynamic disk (LDM) partition: its volumes are described "
                        "by the LDM database at the end of the disk, outside the partition, so "
                        "an offline copy of the partition is not usable; convert the disk to a "
                        "basic disk in Windows first, or leave this partition out", what);
    if (pt->type == PTABLE_GPT && guid_is(&sp->type_guid, GPT_TYPE_STORAGE_SPACES))
        return p2v_errf(err, -EINVAL,
                        "%s is a Storage Spaces partition: the pool's metadata and its "
                        "volumes' layout span the pool's disks, outside this partition, so an "
                        "offline copy of it is not usable; leave it out (copy the data from "
                        "the running system instead)", what);
    return 0;
}

/* A type with no equivalent in the target table: refused rather than guessed
 * (a guess may give a diagnostics or OEM partition a drive letter, or hide a
 * data partition). */
static int refuse_no_gpt_type(const ptable_part *sp, const char *what, p2v_err *err)
{
    return p2v_errf(err, -EINVAL,
                    "%s: MBR type 0x%02x (%s) has no GPT equivalent; keep an MBR table with "
                    "-t mbr, or leave this partition out", what, sp->mbr_type,
                    ptable_mbr_type_name(sp->mbr_type));
}

static int refuse_no_mbr_type(const ptable_part *sp, const char *what, p2v_err *err)
{
    char g[P2V_GUID_STRLEN];
    guid_format(&sp->type_guid, g);
    if (guid_is(&sp->type_guid, GPT_TYPE_BIOS_BOOT))
        return p2v_errf(err, -EINVAL,
                        "%s is a BIOS boot partition (name \"%s\"): it holds GRUB's core image "
                        "for booting a GPT disk with BIOS and has no meaning on an MBR disk, "
                        "where the boot loader sits after the MBR; leave it out (reinstall the "
                        "boot loader on the new disk), or keep GPT with -t gpt", what, sp->name);
    return p2v_errf(err, -EINVAL,
                    "%s: GPT type %s (%s, name \"%s\") has no MBR equivalent; keep a GPT table "
                    "with -t gpt, or leave this partition out", what, g,
                    ptable_gpt_type_name(&sp->type_guid), sp->name);
}

int pl_assign_types(plan *p, const plan_source *src, p2v_err *err)
{
    int r;
    for (size_t i = 0; i < p->nparts; i++) {
        plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY)
            continue;
        const ptable *pt = src[pp->disk].pt;
        char what[96];
        snprintf(what, sizeof what, "%s:%u", src[pp->disk].name, pp->src->number);
        if ((r = refuse_unsafe(pt, pp->src, what, err)) < 0)
            return r;
        if (p->table == PTABLE_MBR && pt->type == PTABLE_GPT &&
            guid_is(&pp->src->type_guid, GPT_TYPE_MSR))
            return p2v_errf(err, -EINVAL,
                            "%s is a Microsoft Reserved partition, which has no MBR form; leave "
                            "it out of an MBR target", what);
        if (p->table == PTABLE_GPT) {
            if (pt->type == PTABLE_GPT) {
                pp->type_guid = pp->src->type_guid;
                pp->uuid = pp->src->uuid;
                pp->attrs = pp->src->attrs;
                snprintf(pp->name, sizeof pp->name, "%s", pp->src->name);
            } else {
                if (ptable_mbr_to_gpt_type(pp->src->mbr_type, &pp->type_guid) < 0)
                    return refuse_no_gpt_type(pp->src, what, err);
                if ((r = guid_generate(&pp->uuid)) < 0)
                    return p2v_errf(err, r, "cannot generate a GUID: %s", strerror(-r));
                if (guid_is(&pp->type_guid, GPT_TYPE_WINRE))
                    pp->attrs = GPT_ATTR_NO_DRIVE_LETTER | GPT_ATTR_PLATFORM_REQUIRED;
                if (pp->src->bootable)
                    pp->attrs |= GPT_ATTR_LEGACY_BIOS_BOOTABLE;
            }
        } else {
            if (pt->type == PTABLE_MBR)
                pp->mbr_type = pp->src->mbr_type;
            else if (ptable_gpt_to_mbr_type_fs(&pp->src->type_guid, pp->fstype, &pp->mbr_type) < 0)
                return refuse_no_mbr_type(pp->src, what, err);
        }
    }
    /* Two selected GPT partitions with one unique GUID (cloned disks): the
     * second gets a new one, or Windows would see one volume twice. */
    if (p->table == PTABLE_GPT)
        for (size_t i = 0; i < p->nparts; i++)
            for (size_t j = 0; j < i; j++)
                if (guid_equal(&p->parts[i].uuid, &p->parts[j].uuid)) {
                    if ((r = guid_generate(&p->parts[i].uuid)) < 0)
                        return p2v_errf(err, r, "cannot generate a GUID: %s", strerror(-r));
                    p2v_warn(&p->notes, "partition %zu had the same unique GUID as partition "
                                        "%zu; it gets a new one", i + 1, j + 1);
                }
    return 0;
}

int pl_fresh_identity(plan *p, const plan_source *src, size_t nsrc)
{
    int r;
    for (int tries = 0; tries < 64; tries++) {
        uint32_t sig;
        if ((r = p2v_random_bytes(&sig, sizeof sig)) < 0)
            return r;
        bool clash = sig == 0;
        for (size_t i = 0; i < nsrc && !clash; i++)
            clash = src[i].pt->mbr_signature == sig;
        if (!clash) {
            p->mbr_signature = sig;
            break;
        }
    }
    if (p->mbr_signature == 0)
        return -EAGAIN;
    for (int tries = 0; tries < 64; tries++) {
        if ((r = guid_generate(&p->disk_guid)) < 0)
            return r;
        bool clash = false;
        for (size_t i = 0; i < nsrc && !clash; i++)
            clash = guid_equal(&src[i].pt->disk_guid, &p->disk_guid);
        if (!clash)
            return 0;
    }
    return -EAGAIN;
}

/* ---- the active partition and boot code (MBR target) ---- */

/* The active partition: the one chosen with --active, else the one that held
 * the flag on its disk; with firmware bios and none, a selected partition
 * whose boot sector has BIOS boot code, else the first. */
size_t pl_choose_active(plan *p, const plan_source *src, const plan_sel *sel, size_t want)
{
    size_t active = SIZE_MAX;
    if (want) {
        for (size_t i = 0; i < p->nparts; i++)
            if (p->parts[i].kind == PLAN_PART_COPY && p->parts[i].sel == want - 1)
                active = i;
        for (size_t i = 0; i < p->nparts; i++) {
            const plan_part *pp = &p->parts[i];
            if (i != active && pp->kind == PLAN_PART_COPY && part_was_boot(src[pp->disk].pt, pp->src))
                p2v_warn(&p->notes, "%s:%u was active on its disk; %s:%u is made active instead "
                                    "(--active)", src[pp->disk].name, pp->src->number,
                         src[p->parts[active].disk].name, p->parts[active].src->number);
        }
        return active;
    }
    for (size_t i = 0; i < p->nparts; i++) {
        plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY || !part_was_boot(src[pp->disk].pt, pp->src))
            continue;
        if (active == SIZE_MAX) {
            active = i;
        } else {
            p2v_warn(&p->notes, "%s:%u was also active on its disk; only %s:%u stays active "
                                "(--active DISK:N chooses another)",
                     src[pp->disk].name, pp->src->number, src[p->parts[active].disk].name,
                     p->parts[active].src->number);
        }
    }
    if (active == SIZE_MAX && p->firmware == PLAN_FW_BIOS) {
        const char *why = "the first selected partition; none has a BIOS boot sector";
        for (size_t i = 0; i < p->nparts && active == SIZE_MAX; i++)
            if (p->parts[i].kind == PLAN_PART_COPY && sel[p->parts[i].sel].bios_boot_code) {
                active = i;
                why = "its boot sector has BIOS boot code";
            }
        for (size_t i = 0; i < p->nparts && active == SIZE_MAX; i++)
            if (p->parts[i].kind == PLAN_PART_COPY)
                active = i;
        if (active != SIZE_MAX)
            p2v_warn(&p->notes, "no selected partition was active on its disk; %s:%u is made "
                                "active for BIOS boot (%s); --active DISK:N chooses another",
                     src[p->parts[active].disk].name, p->parts[active].src->number, why);
    }
    return active;
}

void pl_choose_boot_code(plan *p, const plan_source *src, size_t active)
{
    if (p->table != PTABLE_MBR || p->firmware != PLAN_FW_BIOS)
        return;
    if (active != SIZE_MAX) {
        const plan_source *s = &src[p->parts[active].disk];
        if (s->pt->type == PTABLE_MBR && s->pt->has_boot_code) {
            memcpy(p->boot_code, s->pt->boot_code, sizeof p->boot_code);
            p->has_boot_code = true;
            snprintf(p->boot_code_from, sizeof p->boot_code_from, "%s", s->name);
            return;
        }
    }
    if (boot_mbr_program(p->boot_code) == 0) {
        p->has_boot_code = true;
        snprintf(p->boot_code_from, sizeof p->boot_code_from, "p2v");
        return;
    }
    p2v_warn(&p->notes, "the source has no MBR boot code and this p2v has none of its own: the "
                        "image has no boot code and will not boot with BIOS as it is");
}

/* MBR with more than four partitions: which contiguous run [*ls, *le] becomes
 * logical. The first three stay primary when the boot partition allows it. */
bool pl_choose_logical_run(size_t k, size_t boot, size_t *ls, size_t *le)
{
    for (size_t s = 4; s-- > 0;) {
        size_t e = s + (k - 3) - 1;
        if (e >= k)
            continue;
        if (boot != SIZE_MAX && boot >= s && boot <= e)
            continue;
        *ls = s;
        *le = e;
        return true;
    }
    return false;
}

