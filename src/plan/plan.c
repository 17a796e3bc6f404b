#include "plan/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "fs/kind.h"
#include "util/size.h"

#define GPT_ATTR_PLATFORM_REQUIRED 0x1ULL
#define GPT_ATTR_LEGACY_BIOS_BOOTABLE 0x4ULL
#define GPT_ATTR_NO_DRIVE_LETTER 0x8000000000000000ULL
#define MBR_TYPE_EXTENDED_LBA 0x0F
#define MBR_TYPE_ESP 0xEF
#define MBR_TYPE_NTFS 0x07
#define MBR_TYPE_WINRE 0x27

const char *plan_firmware_str(enum plan_firmware fw)
{
    switch (fw) {
    case PLAN_FW_BIOS: return "bios";
    case PLAN_FW_UEFI: return "uefi";
    default: return "none";
    }
}

static bool guid_is(const p2v_guid *g, const char *s)
{
    p2v_guid t;
    return guid_parse(s, &t) == 0 && guid_equal(g, &t);
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

static bool part_is_esp(const ptable *pt, const ptable_part *pp)
{
    if (pt->type == PTABLE_GPT)
        return guid_is(&pp->type_guid, GPT_TYPE_ESP);
    return pp->mbr_type == MBR_TYPE_ESP;
}

/* Active on an MBR source, or "legacy BIOS bootable" on a GPT source. */
static bool part_was_boot(const ptable *pt, const ptable_part *pp)
{
    if (pt->type == PTABLE_GPT)
        return (pp->attrs & GPT_ATTR_LEGACY_BIOS_BOOTABLE) != 0;
    return pp->bootable;
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

static int assign_types(plan *p, const plan_source *src, p2v_err *err)
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

static int fresh_identity(plan *p, const plan_source *src, size_t nsrc)
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
static size_t choose_active(plan *p, const plan_source *src, const plan_sel *sel, size_t want)
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

static void choose_boot_code(plan *p, const plan_source *src, size_t active)
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
static bool choose_logical_run(size_t k, size_t boot, size_t *ls, size_t *le)
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

/* ---- placement ---- */

static int check_mbr_limits(const plan *p, p2v_err *err)
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

static void place(plan *p, size_t ls, size_t le)
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

static void number_parts(plan *p, size_t ls)
{
    unsigned slot = 1, logical = 5;
    for (size_t i = 0; i < p->nparts; i++) {
        if (i == ls)
            p->ext_number = slot++;
        p->parts[i].number = p->parts[i].logical ? logical++ : slot++;
    }
}

static int size_disk(plan *p, uint64_t want_bytes, p2v_err *err)
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
    if ((r = assign_types(p, src, err)) < 0)
        goto out;
    if ((r = fresh_identity(p, src, nsrc)) < 0) {
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
    size_t active = p->table == PTABLE_MBR ? choose_active(p, src, sel, o->active) : SIZE_MAX;
    size_t ls = SIZE_MAX, le = SIZE_MAX;
    if (p->table == PTABLE_MBR && p->nparts > 4 && !choose_logical_run(p->nparts, active, &ls, &le)) {
        /* No run of logicals leaves the boot partition primary: it moves to the front. */
        plan_part b = p->parts[active];
        memmove(&p->parts[1], &p->parts[0], active * sizeof *p->parts);
        p->parts[0] = b;
        p2v_warn(&p->notes, "%s:%u moves to the front so that it stays a primary partition "
                            "(a boot partition cannot be logical)",
                 src[b.disk].name, b.src->number);
        active = 0;
        choose_logical_run(p->nparts, active, &ls, &le);
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
    place(p, ls, le);
    number_parts(p, ls);
    if ((r = size_disk(p, o->size, err)) < 0)
        goto out;
    if (p->table == PTABLE_MBR && (r = check_mbr_limits(p, err)) < 0)
        goto out;
    choose_boot_code(p, src, active);
    firmware_notes(p, src);
    *out = p;
    return 0;
out:
    plan_free(p);
    return r;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    p2v_warnings_free(&p->notes);
    free(p->parts);
    free(p);
}

/* ---- the table to serialize ---- */

static void fill_entry(ptable_part *e, const plan_part *pp)
{
    e->number = pp->number;
    e->start = pp->start;
    e->size = pp->sectors;
    e->mbr_type = pp->mbr_type;
    e->bootable = pp->bootable;
    e->logical = pp->logical;
    e->ebr_lba = pp->ebr_lba;
    e->type_guid = pp->type_guid;
    e->uuid = pp->uuid;
    e->attrs = pp->attrs;
    snprintf(e->name, sizeof e->name, "%s", pp->name);
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

void plan_ptable_free(ptable *t)
{
    if (!t)
        return;
    free(t->parts);
    free(t);
}
