/* Plan files, schema 2: resolving a role plan on the disks at hand — what
 * detection found of each partition, as roles (plan/roles.c) take it, then
 * the picks turned into the disks and selections of a version 1 plan, so
 * the request is built the same way. How it resolved, as text and JSON
 * (`p2v plan show`, `convert --plan --dry-run`). docs/plan-files.md. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "convert/planfile_impl.h"
#include "fs/kind.h"
#include "util/size.h"

/* Vendor recovery and tool partitions: the MBR types vendors use (0x12
 * Compaq/diagnostics, 0x84 hibernation, 0xA0 laptop diagnostics, 0xDE
 * Dell utility), or a label or GPT name vendors give them. */
static bool oem_part(const ptable_part *p, const char *label)
{
    static const char *const names[] = { "*utility*", "hp_tools", "hp_recovery", "lenovo*",
                                         "oem*", "*_oem", "*tools*" };
    if (p->mbr_type == 0x12 || p->mbr_type == 0x84 || p->mbr_type == 0xa0 ||
        p->mbr_type == 0xde)
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*label && !fnmatch(names[i], label, FNM_CASEFOLD)) ||
            (p->name[0] && !fnmatch(names[i], p->name, FNM_CASEFOLD)))
            return true;
    return false;
}

/* Windows' NT version ("10.0.19045") from its build number, which every
 * release has in the SOFTWARE hive: builds from 10240 are 10.0 (Windows 10
 * and 11, Server 2016 on), 9600 is 6.3, 9200 6.2, 7600-7601 6.1, 6000-6003 6.0. */
static void nt_version(const win_install *w, char *out, size_t len)
{
    char *end;
    unsigned long b = strtoul(w->build, &end, 10);
    const char *v = !w->build[0] || *end ? NULL
                    : b >= 10240         ? "10.0"
                    : b >= 9600          ? "6.3"
                    : b >= 9200          ? "6.2"
                    : b >= 7600          ? "6.1"
                    : b >= 6000          ? "6.0"
                                         : NULL;
    if (v)
        snprintf(out, len, "%s.%lu", v, b);
    else
        snprintf(out, len, "%s", w->build);
}

/* Does loc (from a ReAgent.xml) name partition p of d? */
static bool names_part(const win_part_id *loc, const convert_disk *d, const ptable_part *p)
{
    const ptable *pt = d->pt;
    if (loc->mbr_offset != p->start * pt->sector_size)
        return false;
    if (loc->gpt)
        return pt->type == PTABLE_GPT && guid_equal(&loc->disk_guid, &pt->disk_guid);
    return pt->type == PTABLE_MBR && loc->mbr_signature == pt->mbr_signature;
}

bool planfile_winre_named(const convert_disk *const *all, size_t nall, const convert_disk *d,
                          const ptable_part *p)
{
    const convert_part *self = NULL;
    for (size_t k = 0; k < d->pt->nparts; k++)
        if (d->parts[k].p == p)
            self = &d->parts[k];
    if (!self || (self->win_probed && self->win.win.present))
        return false;
    for (size_t di = 0; di < nall; di++)
        for (size_t k = 0; k < all[di]->pt->nparts; k++) {
            const convert_part *w = &all[di]->parts[k];
            if (w->win_probed && w->win.win.present && w->win.winre_named &&
                names_part(&w->win.winre, d, p))
                return true;
        }
    return false;
}

void planfile_role_part(const convert_disk *const *all, size_t nall, const convert_disk *d,
                        size_t i, unsigned disk_index, const char *what, char *version,
                        size_t vlen, struct role_part *rp)
{
    const convert_part *cp = &d->parts[i];
    const ptable_part *p = cp->p;
    const char *label = cp->probed ? cp->fs.label : "";
    enum fs_kind k = cp->probed ? cp->fs.kind : FS_UNKNOWN;
    bool win = cp->win_probed && cp->win.win.present;
    *rp = (struct role_part){ .disk = disk_index, .number = p->number, .what = what,
                              .fs = cp->probed ? cp->fs.type : "", .label = label,
                              .size = p->size * d->pt->sector_size };
    rp->esp = p->mbr_type == 0xef;
    rp->active = p->bootable;
    rp->boot_store = cp->win_probed && (cp->win.bcd_bios || cp->win.bcd_efi || cp->win.bootmgr);
    rp->windows = win;
    rp->winre = p->mbr_type == 0x27 || planfile_winre_named(all, nall, d, p);
    rp->oem = !rp->esp && !rp->winre && !win && oem_part(p, label);
    rp->swap = k == FS_SWAP || (p->mbr_type == 0x82 && k == FS_UNKNOWN);
    rp->linux_fs = k == FS_EXT || (k == FS_OTHER && p->mbr_type == 0x83);
    rp->has_files = k == FS_NTFS || k == FS_FAT || k == FS_EXT || k == FS_OTHER;
    version[0] = '\0';
    if (win)
        nt_version(&cp->win.win, version, vlen);
    rp->win_version = win ? version : NULL;
}

/* The disks at hand, opened, with every partition's facts. */
struct at_hand {
    convert_disk **disks;
    size_t ndisks;
    struct role_part *parts;
    size_t nparts;
    char (*what)[4200];
    char (*version)[48];
    size_t *pidx;               /* parts[k] is partition pidx[k] of its disk */
};

static void at_hand_free(struct at_hand *h)
{
    for (size_t i = 0; i < h->ndisks; i++)
        convert_disk_free(h->disks[i]);
    free(h->disks);
    free(h->parts);
    free(h->what);
    free(h->version);
    free(h->pidx);
}

/* A disk of the machine holding a mounted filesystem is the system p2v runs
 * on: the live medium, the stick the image goes to, a running system's own
 * disk. Left out of the machine's disks, with a notice. */
static bool in_use(const convert_disk *d, const convert_events *ev)
{
    bd_mountinfo hit;
    p2v_err e;
    if (bd_find_mount(d->bd, 0, bd_size(d->bd), &hit, &e) != 1)
        return false;
    convert_say(ev, CONVERT_NOTICE, "plan: %s left out: it holds %s, mounted (name it as DISK "
                                    "to look on it)", d->path, hit.point);
    return true;
}

/* Open the disks; with the machine's own (no DISK given) one that cannot
 * be opened (a card reader without a card) or that is in use is left out. */
static int open_disks(const char *const *paths, size_t n, bool machine, uint32_t ssz,
                      const convert_events *ev, struct at_hand *h, p2v_err *err)
{
    convert_disk_opts o = { .sector_size = ssz };
    size_t total = 0;
    if (!(h->disks = calloc(n ? n : 1, sizeof *h->disks)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        convert_disk *d;
        int r = convert_disk_open(paths[i], &o, &d, err);
        if (r < 0 && machine)
            continue;
        if (r < 0)
            return r;
        if (machine && in_use(d, ev)) {
            convert_disk_free(d);
            continue;
        }
        h->disks[h->ndisks++] = d;
        total += d->pt->nparts;
    }
    h->parts = calloc(total ? total : 1, sizeof *h->parts);
    h->what = calloc(total ? total : 1, sizeof *h->what);
    h->version = calloc(total ? total : 1, sizeof *h->version);
    h->pidx = calloc(total ? total : 1, sizeof *h->pidx);
    if (!h->parts || !h->what || !h->version || !h->pidx)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t di = 0; di < h->ndisks; di++) {
        const convert_disk *d = h->disks[di];
        for (size_t i = 0; i < d->pt->nparts; i++) {
            const ptable_part *p = d->parts[i].p;
            if (p->container || p->problems)
                continue;   /* never copied: not a candidate */
            size_t k = h->nparts++;
            snprintf(h->what[k], sizeof h->what[k], "%s:%u", d->path, p->number);
            planfile_role_part((const convert_disk *const *)h->disks, h->ndisks, d, i,
                               (unsigned)di, h->what[k], h->version[k], sizeof h->version[k],
                               &h->parts[k]);
            h->pidx[k] = i;
        }
    }
    return 0;
}

/* The plan's disk index of d, added on first use. */
static int plan_disk(convert_planfile *pf, const convert_disk *d, size_t *out, p2v_err *err)
{
    for (size_t i = 0; i < pf->ndisks; i++)
        if (!strcmp(pf->disks[i].path, d->path))
            return *out = i, 0;
    size_t i = pf->ndisks;
    planfile_disk_identity(d, &pf->disks[i]);
    if (!(pf->disks[i].path = strdup(d->path)) || !(pf->resolved[i] = strdup(d->path)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    pf->ndisks++;
    return *out = i, 0;
}

/* One pick into a selection (and the record `plan show` prints). */
static int add_pick(convert_planfile *pf, const struct at_hand *h, const struct role_pick *rp,
                    p2v_err *err)
{
    const struct role_part *part = &h->parts[rp->part];
    const convert_disk *d = h->disks[part->disk];
    const convert_part *cp = &d->parts[h->pidx[rp->part]];
    const convert_planfile_role *e = &pf->roles[rp->sel];
    size_t di = 0;
    int r = plan_disk(pf, d, &di, err);
    if (r < 0)
        return r;
    convert_planfile_sel *s = &pf->sels[pf->nsels++];
    *s = (convert_planfile_sel){ .disk = di, .number = part->number, .start = cp->p->start,
                                 .size = cp->p->size, .new_size = e->new_size,
                                 .new_size_min = e->new_size_min };
    planfile_part_type(d->pt, cp->p, s->type, sizeof s->type);
    convert_planfile_pick *pk = &pf->picks[pf->npicks++];
    *pk = (convert_planfile_pick){ .entry = rp->sel, .number = part->number,
                                   .size = part->size };
    snprintf(pk->fs, sizeof pk->fs, "%s", part->fs);
    snprintf(pk->label, sizeof pk->label, "%s", part->label);
    if (!(pk->disk = strdup(d->path)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

/* "grow" grows the last partition only (the planner's --size rule). */
static int check_grow(const convert_planfile *pf, p2v_err *err)
{
    for (size_t i = 0; i + 1 < pf->npicks; i++)
        if (pf->roles[pf->picks[i].entry].grow)
            return p2v_errf(err, -EINVAL, "select entry %zu (%s): \"size\": \"grow\", but it "
                            "picked %s:%u, which is not the last partition (only the last grows)",
                            pf->picks[i].entry + 1,
                            role_name(pf->roles[pf->picks[i].entry].sel.role),
                            pf->picks[i].disk, pf->picks[i].number);
    return 0;
}

static void reset(convert_planfile *pf)
{
    for (size_t i = 0; i < pf->ndisks; i++) {
        free(pf->disks[i].path);
        free(pf->resolved ? pf->resolved[i] : NULL);
    }
    for (size_t i = 0; i < pf->npicks; i++)
        free(pf->picks[i].disk);
    free(pf->disks), free(pf->resolved), free(pf->sels), free(pf->picks), free(pf->rq_sels);
    pf->disks = NULL, pf->resolved = NULL, pf->sels = NULL, pf->picks = NULL;
    pf->rq_sels = NULL;
    pf->ndisks = pf->nsels = pf->npicks = 0;
}

static int apply_picks(convert_planfile *pf, const struct at_hand *h, const struct role_pick *picks,
                       size_t n, p2v_err *err)
{
    pf->disks = calloc(h->ndisks, sizeof *pf->disks);
    pf->resolved = calloc(h->ndisks, sizeof *pf->resolved);
    pf->sels = calloc(n, sizeof *pf->sels);
    pf->picks = calloc(n, sizeof *pf->picks);
    if (!pf->disks || !pf->resolved || !pf->sels || !pf->picks)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int r = add_pick(pf, h, &picks[i], err);
        if (r < 0)
            return r;
    }
    return check_grow(pf, err);
}

int convert_planfile_resolve_roles(convert_planfile *pf, const char *const *candidates,
                                   size_t ncandidates, const convert_events *ev, p2v_err *err)
{
    struct at_hand h = { 0 };
    char **machine = NULL;
    size_t nmachine = 0;
    struct role_sel sel[PLANFILE_ROLES_MAX];
    struct role_pick *picks = NULL;
    size_t npicks = 0;
    int r;
    reset(pf);
    if (!candidates) {
        if ((r = convert_machine_disks(&machine, &nmachine, err)) < 0)
            return r;
        candidates = (const char *const *)machine;
        ncandidates = nmachine;
    }
    if ((r = open_disks(candidates, ncandidates, machine != NULL, pf->rq.sector_size, ev, &h,
                        err)) < 0)
        goto out;
    for (size_t i = 0; i < pf->nroles && i < PLANFILE_ROLES_MAX; i++)
        sel[i] = pf->roles[i].sel;
    if (!(picks = calloc(h.nparts ? h.nparts : 1, sizeof *picks))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = roles_resolve(sel, pf->nroles, h.parts, h.nparts, pf->keep_order, picks, &npicks,
                           err)) < 0) {
        r = p2v_err_prefix(err, r, "plan: on %s%s", h.ndisks ? h.disks[0]->path : "no disk",
                           h.ndisks > 1 ? " and the other disks" : "");
        goto out;
    }
    r = apply_picks(pf, &h, picks, npicks, err);
out:
    free(picks);
    at_hand_free(&h);
    convert_machine_disks_free(machine, nmachine);
    return r;
}

/* ---- how it resolved ---- */

static void entry_text(const convert_planfile_role *e, char *out, size_t len)
{
    const struct role_sel *s = &e->sel;
    int n = snprintf(out, len, "%s", role_name(s->role));
    if (s->label)
        n += snprintf(out + n, len - (size_t)n, ", label %s", s->label);
    if (s->fs)
        n += snprintf(out + n, len - (size_t)n, ", fs %s", s->fs);
    if (s->version)
        n += snprintf(out + n, len - (size_t)n, ", version %s", s->version);
    if (e->size_text || e->new_size)
        n += snprintf(out + n, len - (size_t)n, ", size %s", e->size_text ? e->size_text : "");
    if (e->new_size && !e->size_text)
        n += snprintf(out + n, len - (size_t)n, "%llu", (unsigned long long)e->new_size);
    if (s->optional)
        snprintf(out + n, len - (size_t)n, ", optional");
}

static void pick_text(const convert_planfile_pick *p, FILE *f)
{
    char h[32];
    fprintf(f, "%s:%u  %s  %s%s%s  %s\n", p->disk, p->number, p->fs[0] ? p->fs : "-",
            p->label[0] ? "\"" : "", p->label[0] ? p->label : "(no label)",
            p->label[0] ? "\"" : "", size_human(p->size, h, sizeof h));
}

static void roles_text(const convert_planfile *pf, FILE *f)
{
    fprintf(f, "plan by role, %zu entr%s%s:\n", pf->nroles, pf->nroles == 1 ? "y" : "ies",
            pf->keep_order ? " (in the plan's order)" : " (windows last)");
    for (size_t i = 0; i < pf->nroles; i++) {
        char what[600];
        size_t n = 0;
        entry_text(&pf->roles[i], what, sizeof what);
        for (size_t k = 0; k < pf->npicks; k++)
            if (pf->picks[k].entry == i) {
                fprintf(f, "  %zu. %-32s -> ", i + 1, what);
                pick_text(&pf->picks[k], f);
                n++;
            }
        if (!n)
            fprintf(f, "  %zu. %-32s -> %s\n", i + 1, what,
                    pf->roles[i].sel.optional ? "optional, nothing matched"
                                              : "nothing more (already selected)");
    }
}

void convert_planfile_resolution_text(const convert_planfile *pf, FILE *f)
{
    if (pf->version == CONVERT_PLANFILE_ROLES)
        roles_text(pf, f);
    else
        for (size_t i = 0; i < pf->ndisks; i++)
            fprintf(f, "plan disk %zu (%s %s) -> %s\n", i + 1, ptable_type_str(pf->disks[i].table),
                    pf->disks[i].id, pf->resolved && pf->resolved[i] ? pf->resolved[i] : "?");
    fprintf(f, "selection (target order):");
    for (size_t i = 0; i < pf->nsels; i++) {
        size_t d = pf->sels[i].disk;
        fprintf(f, " %s:%u", pf->resolved && pf->resolved[d] ? pf->resolved[d]
                                                             : pf->disks[d].path,
                pf->sels[i].number);
    }
    fputc('\n', f);
}

static void pick_json(const convert_planfile_pick *p, json_writer *j)
{
    char sel[4200];
    snprintf(sel, sizeof sel, "%s:%u", p->disk, p->number);
    json_obj_begin(j);
    json_kstr(j, "selection", sel);
    json_kstr(j, "disk", p->disk);
    json_ku64(j, "number", p->number);
    json_kstr(j, "fstype", p->fs);
    json_kstr(j, "label", p->label);
    json_ku64(j, "size", p->size);
    json_obj_end(j);
}

static void entries_json(const convert_planfile *pf, json_writer *j)
{
    json_key(j, "entries");
    json_arr_begin(j);
    for (size_t i = 0; i < pf->nroles; i++) {
        const convert_planfile_role *e = &pf->roles[i];
        json_obj_begin(j);
        json_kstr(j, "role", role_name(e->sel.role));
        json_kbool(j, "optional", e->sel.optional);
        json_key(j, "picked");
        json_arr_begin(j);
        for (size_t k = 0; k < pf->npicks; k++)
            if (pf->picks[k].entry == i)
                pick_json(&pf->picks[k], j);
        json_arr_end(j);
        json_obj_end(j);
    }
    json_arr_end(j);
}

void convert_planfile_resolution_json(const convert_planfile *pf, json_writer *j)
{
    json_obj_begin(j);
    json_ku64(j, "plan", pf->version);
    if (pf->version == CONVERT_PLANFILE_ROLES) {
        json_kbool(j, "keep_order", pf->keep_order);
        entries_json(pf, j);
    }
    json_key(j, "selection");
    json_arr_begin(j);
    for (size_t i = 0; i < pf->nsels; i++) {
        char sel[4200];
        size_t d = pf->sels[i].disk;
        snprintf(sel, sizeof sel, "%s:%u", pf->resolved && pf->resolved[d] ? pf->resolved[d]
                                                                          : pf->disks[d].path,
                 pf->sels[i].number);
        json_str(j, sel);
    }
    json_arr_end(j);
    json_obj_end(j);
}
