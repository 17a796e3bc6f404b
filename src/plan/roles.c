#include "plan/roles.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[ROLE_NROLES] = {
    "boot", "windows", "recovery", "data", "oem", "swap", "linux",
};

const char *role_name(enum role_kind r) { return r < ROLE_NROLES ? role_names[r] : "?"; }

int role_parse(const char *name, enum role_kind *r)
{
    for (int i = 0; i < ROLE_NROLES; i++)
        if (!strcmp(name, role_names[i])) {
            *r = (enum role_kind)i;
            return 0;
        }
    return -EINVAL;
}

unsigned roles_of(const struct role_part *p)
{
    unsigned m = 0;
    if (p->esp || (p->active && p->boot_store))
        m |= 1u << ROLE_BOOT;
    if (p->windows)
        m |= 1u << ROLE_WINDOWS;
    if (p->winre)
        m |= 1u << ROLE_RECOVERY;
    if (p->oem)
        m |= 1u << ROLE_OEM;
    if (p->swap)
        m |= 1u << ROLE_SWAP;
    if (p->linux_fs && !p->windows)
        m |= 1u << ROLE_LINUX;
    /* data: a filesystem with files that is none of the special ones */
    if (!m && p->has_files && p->fs && *p->fs)
        m |= 1u << ROLE_DATA;
    return m;
}

static bool one_only(enum role_kind r)
{
    return r == ROLE_BOOT || r == ROLE_WINDOWS || r == ROLE_RECOVERY;
}

/* The disk holding the boot partition (the first one found), or -1. */
static int system_disk(const struct role_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (roles_of(&parts[i]) & (1u << ROLE_BOOT))
            return (int)parts[i].disk;
    for (size_t i = 0; i < n; i++)
        if (parts[i].windows)
            return (int)parts[i].disk;
    return -1;
}

static bool matches(const struct role_sel *s, const struct role_part *p, int sysdisk)
{
    if (!(roles_of(p) & (1u << s->role)))
        return false;
    if (s->label && fnmatch(s->label, p->label ? p->label : "", FNM_CASEFOLD))
        return false;
    if (s->fs && strcmp(s->fs, p->fs ? p->fs : ""))
        return false;
    if ((s->min_size && p->size < s->min_size) || (s->max_size && p->size > s->max_size))
        return false;
    if (s->disk == ROLE_DISK_SYSTEM && (int)p->disk != sysdisk)
        return false;
    if (s->disk == ROLE_DISK_OTHER && (int)p->disk == sysdisk)
        return false;
    if (s->disk >= 0 && (int)p->disk != s->disk)
        return false;
    if (s->version && (!p->win_version || fnmatch(s->version, p->win_version, 0)))
        return false;
    return true;
}

/* "entry 2 (windows)" */
static void entry_name(const struct role_sel *s, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "select entry %zu (%s%s%s)", i + 1, role_name(s->role),
             s->label ? ", label " : "", s->label ? s->label : "");
}

static bool picked(const struct role_pick *picks, size_t n, size_t part)
{
    for (size_t i = 0; i < n; i++)
        if (picks[i].part == part)
            return true;
    return false;
}

static int resolve_one(const struct role_sel *sel, size_t si, const struct role_part *parts,
                       size_t nparts, int sysdisk, struct role_pick *picks, size_t *np,
                       p2v_err *err)
{
    const struct role_sel *s = &sel[si];
    size_t found[2] = { 0, 0 }, nf = 0; /* the first two matches name a refusal */
    char name[128];
    for (size_t i = 0; i < nparts; i++)
        if (matches(s, &parts[i], sysdisk) && nf++ < 2)
            found[nf - 1] = i;
    entry_name(s, si, name, sizeof name);
    if (nf == 0)
        return s->optional ? 0 : p2v_errf(err, -ENOENT, "%s matches no partition on this PC",
                                          name);
    if (one_only(s->role) && nf > 1)
        return p2v_errf(err, -EEXIST, "%s matches %zu partitions where one is meant: %s and %s%s "
                                      "(add a label, disk or version filter)", name, nf,
                        parts[found[0]].what, parts[found[1]].what, nf > 2 ? " and more" : "");
    for (size_t i = 0; i < nparts; i++) {
        if (!matches(s, &parts[i], sysdisk) || picked(picks, *np, i))
            continue; /* an earlier entry took it: a boot store on the Windows volume */
        picks[(*np)++] = (struct role_pick){ i, si };
    }
    return 0;
}

int roles_resolve(const struct role_sel *sel, size_t nsel, const struct role_part *parts,
                  size_t nparts, bool keep_order, struct role_pick *picks, size_t *npicks,
                  p2v_err *err)
{
    int sysdisk = system_disk(parts, nparts);
    size_t order[128], no = 0;
    *npicks = 0;
    if (nsel > 128)
        return p2v_errf(err, -E2BIG, "a plan selects at most 128 entries, not %zu", nsel);
    for (size_t i = 0; i < nsel; i++) /* Windows last unless the plan keeps its order */
        if (keep_order || sel[i].role != ROLE_WINDOWS)
            order[no++] = i;
    for (size_t i = 0; i < nsel && !keep_order; i++)
        if (sel[i].role == ROLE_WINDOWS)
            order[no++] = i;
    for (size_t k = 0; k < no; k++) {
        int r = resolve_one(sel, order[k], parts, nparts, sysdisk, picks, npicks, err);
        if (r < 0)
            return r;
    }
    if (*npicks == 0)
        return p2v_errf(err, -ENOENT, "the plan selects no partition on this PC");
    return 0;
}
