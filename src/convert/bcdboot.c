/* Offline bcdboot: the firmware switches of the Windows step. A UEFI
 * Windows going to BIOS gets bootmgr, \Boot and a new \Boot\BCD on the
 * active partition (in its overlay); a BIOS Windows going to UEFI gets the
 * ESP p2v formats filled with \EFI\Microsoft\Boot, \EFI\Boot\bootx64.efi
 * and a new BCD (a fatbuild tree the run formats with the ESP). Before
 * planning, what each switch needs from the layout: an ESP, an active
 * partition. The two switches are job rows of the Windows fixes
 * (convert/winfix.h). See docs/windows.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boot/boot.h"
#include "convert/steps.h"
#include "convert/winfix.h"
#include "fs/fatbuild.h"
#include "util/array.h"

/* ---- firmware switch to BIOS ---- */

#define PCAT_MAX 64
#define PCAT_FILE_MAX ((size_t)16 << 20)

struct pcat {
    char *name[PCAT_MAX];
    size_t n;
};

static int pcat_add(void *ctx, const char *name, bool is_dir)
{
    struct pcat *p = ctx;
    if (!is_dir && p->n < PCAT_MAX && !(p->name[p->n] = strdup(name)))
        return -ENOMEM;
    p->n += !is_dir && p->n < PCAT_MAX;
    return 0;
}

static int copy_file(ntvol *from, ntvol *to, const char *src, const char *dst, p2v_err *err)
{
    uint8_t *d = NULL;
    size_t len = 0;
    int r = ntvol_read_file(from, src, PCAT_FILE_MAX, &d, &len, err);
    if (r == 0)
        r = ntvol_write_file(to, dst, d, len, err);
    free(d);
    return r;
}

/* A new boot store for the Windows of plan part wi, booting from plan part
 * boot: BCD-Template from that Windows' volume, filled by create (the BIOS
 * or the UEFI entries) and saved into *out (malloc'd, *olen bytes). what
 * names the store in messages. */
typedef int (*bcd_create_fn)(win_hive *bcd, const win_bcd_new *b, win_report *rep, p2v_err *err);

static int new_bcd(convert_job *job, size_t wi, size_t boot, ntvol *win, const char *what,
                   bcd_create_fn create, uint8_t **out, size_t *olen, p2v_err *err)
{
    const plan *p = job->plan;
    const convert_part *wcp = convert_part_source(job, &p->parts[wi]);
    uint8_t *tmpl = NULL;
    size_t tlen = 0;
    win_hive *h = NULL;
    int r = ntvol_read_file(win, "/Windows/System32/config/BCD-Template", CONVERT_HIVE_MAX, &tmpl,
                            &tlen, err);
    if (r == 0)
        r = win_hive_open(tmpl, tlen, true, what, &h, err);
    win_bcd_new b = { .boot = convert_win_target_id(p, &p->parts[boot]),
                      .os = convert_win_target_id(p, &p->parts[wi]),
                      .description = wcp->win.win.product[0] ? wcp->win.win.product : NULL };
    if (r == 0)
        r = create(h, &b, &job->win.rep, err);
    if (r == 0)
        r = win_hive_save(h, out, olen, err);
    win_hive_close(h);
    free(tmpl);
    return r;
}

/* bootmgr at the root and \Windows\Boot\PCAT's files in \Boot of the active
 * partition, and a \Boot\BCD made from BCD-Template. */
static int bios_boot_files(convert_job *job, size_t wi, size_t ai, ntvol *win, ntvol *act,
                           p2v_err *err)
{
    struct pcat pc = { 0 };
    uint8_t *out = NULL;
    size_t olen = 0;
    char path[600], name[300];
    convert_part_source_name(job, &job->plan->parts[ai], name, sizeof name);
    int r = ntvol_list(win, "/Windows/Boot/PCAT", pcat_add, &pc, err);
    if (r == 0)
        r = ntvol_mkdir(act, "/Boot", err);
    if (r == 0)
        r = copy_file(win, act, "/Windows/Boot/PCAT/bootmgr", "/bootmgr", err);
    for (size_t i = 0; r == 0 && i < pc.n && i < PCAT_MAX; i++) {
        snprintf(path, sizeof path, "/Windows/Boot/PCAT/%s", pc.name[i]);
        char dst[600];
        snprintf(dst, sizeof dst, "/Boot/%s", pc.name[i]);
        r = copy_file(win, act, path, dst, err);
    }
    snprintf(path, sizeof path, "%s \\Boot\\BCD", name);
    if (r == 0)
        r = new_bcd(job, wi, ai, win, path, win_bcd_create_bios, &out, &olen, err);
    if (r == 0)
        r = ntvol_write_file(act, "/Boot/BCD", out, olen, err);
    if (r == 0)
        p2v_warn(&job->win.rep.changes, "%s: firmware switch to BIOS: \\bootmgr and %zu files "
                 "in \\Boot from \\Windows\\Boot\\PCAT, a new \\Boot\\BCD from BCD-Template",
                 name, pc.n);
    for (size_t i = 0; i < pc.n && i < PCAT_MAX; i++)
        free(pc.name[i]);
    free(out);
    return r;
}

static int bios_switch(convert_job *job, size_t wi, size_t ai, p2v_err *err)
{
    const plan_part *ap = &job->plan->parts[ai];
    const convert_part *acp = convert_part_source(job, ap);
    char name[300];
    convert_part_source_name(job, ap, name, sizeof name);
    if (!acp || acp->fs.kind != FS_NTFS)
        return p2v_errf_at(err, -EINVAL, name, "the active partition must be NTFS to hold Windows' "
                           "BIOS boot files (bootmgr, \\Boot): choose an NTFS partition with "
                           "--active, or leave --active out and p2v makes System Reserved or "
                           "Windows' partition active");
    ntvol *win = NULL, *act = NULL;
    blockdev *aov = NULL;
    int r = convert_part_edit(job, ai, &aov, err);
    /* The Windows files are read first, from its overlay; the active
     * partition may be the same volume, so it is opened for writing after. */
    if (r == 0 && wi != ai)
        r = convert_part_ntvol(job, wi, false, &win, err);
    if (r == 0)
        r = ntvol_open(aov, 0, bd_size(aov), NTVOL_WRITE, &act, err);
    if (r == 0)
        r = bios_boot_files(job, wi, ai, win ? win : act, act, err);
    p2v_err e2;
    if (win)
        ntvol_close(win, &e2);
    int rc = act ? ntvol_close(act, r < 0 ? &e2 : err) : 0;
    r = r < 0 ? r : rc;
    if (r < 0) /* named here unless a lower layer named this partition */
        p2v_err_at(err, r, name, "firmware switch to BIOS");
    return r;
}

/* The first copied Windows with a BCD-Template (SIZE_MAX: none), and in
 * *store whether a copied partition already holds the boot store of the
 * target firmware (`efi`: \EFI\Microsoft\Boot\BCD, else \Boot\BCD), in which
 * case there is nothing to switch. *any: the first copied Windows at all. */
static size_t windows_to_switch(const convert_job *job, bool efi, bool *store, size_t *any)
{
    const plan *p = job->plan;
    size_t wi = SIZE_MAX;
    *store = false;
    *any = SIZE_MAX;
    for (size_t i = 0; i < p->nparts; i++) {
        const convert_part *cp = convert_part_source(job, &p->parts[i]);
        if (!cp || !cp->win_probed)
            continue;
        if (efi ? cp->win.bcd_efi : cp->win.bcd_bios)
            *store = true;
        if (cp->win.win.present && *any == SIZE_MAX)
            *any = i;
        if (cp->win.win.present && cp->win.win.bcd_template && wi == SIZE_MAX)
            wi = i;
    }
    return wi;
}

/* A firmware switch that cannot make the new firmware's boot store (no
 * selected partition holds one, the Windows has no BCD-Template to make one
 * from) would write an image that does not boot: refused before anything
 * is written, as a missing \Windows\Boot\EFI is. */
static int no_template(convert_job *job, size_t wi, bool efi, p2v_err *err)
{
    char name[300];
    convert_part_source_name(job, &job->plan->parts[wi], name, sizeof name);
    return p2v_errf(err, -ENOENT,
                    "%s: firmware switch to %s: Windows has no "
                    "\\Windows\\System32\\config\\BCD-Template to make %s from, and no selected "
                    "partition holds one: the image would not boot. Select the partition "
                    "that holds it, keep --boot %s, or pass --no-windows-fixups to copy "
                    "Windows unchanged",
                    name, efi ? "UEFI" : "BIOS",
                    efi ? "\\EFI\\Microsoft\\Boot\\BCD" : "\\Boot\\BCD", efi ? "bios" : "uefi");
}

/* Where a switch puts the boot files: to BIOS, the active partition (the
 * last one marked, as the planner keeps one); to UEFI, the ESP p2v makes.
 * SIZE_MAX: none. */
static size_t boot_files_part(const plan *p, enum plan_firmware fw)
{
    size_t t = SIZE_MAX;
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (fw == PLAN_FW_BIOS && pp->bootable)
            t = i;
        if (fw == PLAN_FW_UEFI && t == SIZE_MAX && pp->kind == PLAN_PART_SYNTHETIC &&
            pp->role == PLAN_ROLE_ESP)
            t = i;
    }
    return t;
}

/* What a switch to firmware fw works from: the Windows in *wi and where its
 * boot files go in *ti (boot_files_part). 1 when there is a Windows to
 * switch, 0 when there is nothing to do (the plan's firmware is another, no
 * Windows is copied, or a copied partition holds fw's boot store already),
 * negative when Windows cannot be switched. */
static int switch_from(convert_job *job, enum plan_firmware fw, size_t *wi, size_t *ti,
                       p2v_err *err)
{
    bool store;
    size_t any;
    if (job->plan->firmware != fw)
        return 0;
    *wi = windows_to_switch(job, fw == PLAN_FW_UEFI, &store, &any);
    if (store || any == SIZE_MAX)
        return 0;
    if (*wi == SIZE_MAX)
        return no_template(job, any, fw == PLAN_FW_UEFI, err);
    *ti = boot_files_part(job->plan, fw);
    return 1;
}

/* BIOS target, Windows selected, and no BIOS boot store among the
 * selection (it booted UEFI): make one. */
static int bcdboot_bios(convert_job *job, unsigned *changed, p2v_err *err)
{
    size_t wi = SIZE_MAX, ai = SIZE_MAX;
    int r = switch_from(job, PLAN_FW_BIOS, &wi, &ai, err);
    if (r <= 0)
        return r;
    if (ai == SIZE_MAX || job->plan->parts[ai].kind != PLAN_PART_COPY)
        return p2v_errf(err, -EINVAL, "firmware switch to BIOS: no selected partition is "
                        "active to hold Windows' boot files (--active DISK:N)");
    return bios_switch(job, wi, ai, err);
}

/* ---- firmware switch to UEFI: the new ESP ---- */

#define EFI_DEPTH_MAX 8
#define EFI_FILE_MAX ((size_t)64 << 20)
#define AUTO_ESP_BYTES ((uint64_t)100 << 20)

/* A directory's entries, as ntvol_list gives them. */
struct names {
    struct name {
        char *name;
        bool dir;
    } *v;
    size_t n, cap;
};

static int names_add(void *ctx, const char *name, bool is_dir)
{
    struct names *l = ctx;
    struct name *v = array_room(l->v, &l->cap, l->n, sizeof *v, 16);
    if (!v)
        return -ENOMEM;
    l->v = v;
    if (!(v[l->n].name = strdup(name)))
        return -ENOMEM;
    v[l->n++].dir = is_dir;
    return 0;
}

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Every file below src on the NTFS volume into dst of the ESP's tree,
 * directories (language folders, Fonts) included. */
struct tree_copy {
    ntvol *v;
    fatbuild *t;
    size_t files;
    uint64_t budget;          /* bytes the ESP can still hold */
};

static int copy_tree(struct tree_copy *tc, const char *src, const char *dst, int depth,
                     p2v_err *err)
{
    ntvol *v = tc->v;
    struct names l = { 0 };
    int r = ntvol_list(v, src, names_add, &l, err);
    if (r == -ENOMEM)
        r = p2v_errf(err, r, "out of memory");
    for (size_t i = 0; r == 0 && i < l.n; i++) {
        char s[1024], d[1024];
        int ns = snprintf(s, sizeof s, "%s/%s", src, l.v[i].name);
        int nd = snprintf(d, sizeof d, "%s/%s", dst, l.v[i].name);
        if (ns < 0 || nd < 0 || (size_t)ns >= sizeof s || (size_t)nd >= sizeof d) {
            r = p2v_errf(err, -ENAMETOOLONG, "%s/%s: path too long", src, l.v[i].name);
        } else if (l.v[i].dir && depth >= EFI_DEPTH_MAX) {
            r = p2v_errf(err, -ELOOP, "%s: more than %d directory levels", s, EFI_DEPTH_MAX);
        } else if (l.v[i].dir) {
            if ((r = fatbuild_mkdir(tc->t, d, err)) == 0)
                r = copy_tree(tc, s, d, depth + 1, err);
        } else if (depth > 0 || strcasecmp(l.v[i].name, "BCD")) { /* a stray BCD: made anew */
            uint8_t *data = NULL;
            size_t len = 0;
            if ((r = ntvol_read_file(v, s, EFI_FILE_MAX, &data, &len, err)) == 0 &&
                len > tc->budget)
                r = p2v_errf(err, -ENOSPC, "%s: the files of \\Windows\\Boot\\EFI do not fit "
                             "in the new ESP (--add-esp SIZE makes a larger one)", s);
            if (r == 0 && (r = fatbuild_add_file(tc->t, d, data, len, err)) == 0) {
                tc->files++;
                tc->budget -= len;
            }
            free(data);
        }
    }
    names_free(&l);
    return r;
}

/* The new ESP's tree: \EFI\Microsoft\Boot from \Windows\Boot\EFI, the
 * removable-media path \EFI\Boot\bootx64.efi, and a BCD from BCD-Template. */
static int efi_boot_files(convert_job *job, size_t wi, size_t ei, ntvol *win, fatbuild *t,
                          p2v_err *err)
{
    const plan *p = job->plan;
    uint8_t *boot = NULL, *out = NULL;
    size_t blen = 0, olen = 0;
    char wname[300];
    struct tree_copy tc = { .v = win, .t = t,
                            .budget = p->parts[ei].sectors * p->sector_size };
    convert_part_source_name(job, &p->parts[wi], wname, sizeof wname);
    int r = fatbuild_mkdir(t, "/EFI/Microsoft/Boot", err);
    if (r == 0)
        r = copy_tree(&tc, "/Windows/Boot/EFI", "/EFI/Microsoft/Boot", 0, err);
    if (r == 0)
        r = ntvol_read_file(win, "/Windows/Boot/EFI/bootmgfw.efi", EFI_FILE_MAX, &boot, &blen,
                            err);
    if (r == 0)
        r = fatbuild_add_file(t, "/EFI/Boot/bootx64.efi", boot, blen, err);
    if (r == 0)
        r = new_bcd(job, wi, ei, win, "(new ESP) \\EFI\\Microsoft\\Boot\\BCD", win_bcd_create_uefi,
                    &out, &olen, err);
    if (r == 0)
        r = fatbuild_add_file(t, "/EFI/Microsoft/Boot/BCD", out, olen, err);
    if (r == 0)
        p2v_warn(&job->win.rep.changes, "(new ESP): firmware switch to UEFI: %zu files in "
                 "\\EFI\\Microsoft\\Boot from %s \\Windows\\Boot\\EFI, \\EFI\\Boot\\bootx64.efi "
                 "(bootmgfw.efi), a new \\EFI\\Microsoft\\Boot\\BCD from BCD-Template", tc.files,
                 wname);
    free(boot);
    free(out);
    return r;
}

static int uefi_switch(convert_job *job, size_t wi, size_t ei, p2v_err *err)
{
    const plan_part *ep = &job->plan->parts[ei];
    char name[300];
    convert_part_source_name(job, &job->plan->parts[wi], name, sizeof name);
    ntvol *win = NULL;
    int r = fatbuild_new(&job->win.esp_tree, err);
    if (r == 0)
        r = convert_part_ntvol(job, wi, false, &win, err);
    if (r == 0)
        r = efi_boot_files(job, wi, ei, win, job->win.esp_tree, err);
    p2v_err e2;
    if (win)
        ntvol_close(win, &e2);
    /* the files must fit: the dry run says so, not the write */
    if (r == 0)
        r = boot_esp_fit(ep->sectors, job->plan->sector_size, job->win.esp_tree, err);
    if (r < 0) /* named here unless a lower layer named this partition */
        p2v_err_at(err, r, name, "firmware switch to UEFI");
    job->win.esp_part = ei;
    return r;
}

/* UEFI target, Windows selected, no EFI boot store among the selection (it
 * booted BIOS), and an ESP p2v makes (--add-esp, or the one made for it):
 * fill that ESP as bcdboot would. */
static int bcdboot_uefi(convert_job *job, unsigned *changed, p2v_err *err)
{
    size_t wi = SIZE_MAX, ei = SIZE_MAX;
    int r = switch_from(job, PLAN_FW_UEFI, &wi, &ei, err);
    if (r <= 0)
        return r;
    return ei == SIZE_MAX ? 0 : uefi_switch(job, wi, ei, err);
}

const convert_winfix convert_winfix_firmware_bios = {
    .name = "firmware switch to BIOS",
    .run_job = bcdboot_bios,
};

const convert_winfix convert_winfix_firmware_uefi = {
    .name = "firmware switch to UEFI",
    .run_job = bcdboot_uefi,
};

/* ---- before planning: what the switches need from the layout ---- */

/* Is selection i an EFI System Partition on its source, or does it hold an
 * EFI boot store? */
static bool sel_is_esp(const convert_job *job, size_t i)
{
    const convert_disk *d = job->src[job->psel[i].disk];
    const ptable_part *sp = ptable_find(d->pt, job->psel[i].number);
    const convert_part *cp = convert_disk_part(d, job->psel[i].number);
    p2v_guid esp;
    guid_parse(GPT_TYPE_ESP, &esp);
    if (cp && cp->win_probed && cp->win.bcd_efi)
        return true;
    return sp && (d->pt->type == PTABLE_GPT ? guid_equal(&sp->type_guid, &esp)
                                            : sp->mbr_type == 0xEF);
}

static void auto_esp(convert_job *job, const convert_events *ev)
{
    convert_request *rq = &job->rq;
    bool windows = false;
    if (rq->no_windows_fixups || rq->plan.boot != PLAN_FW_UEFI || rq->plan.nextra)
        return;
    for (size_t i = 0; i < rq->nsels; i++) {
        const convert_part *cp =
            convert_disk_part(job->src[job->psel[i].disk], job->psel[i].number);
        if (sel_is_esp(job, i))
            return;
        windows = windows || (cp && cp->win_probed && cp->win.win.present &&
                              cp->win.win.bcd_template);
    }
    if (!windows)
        return;
    uint32_t ss = rq->sector_size ? rq->sector_size
                                  : job->src[job->psel[0].disk]->pt->sector_size;
    uint64_t bytes = AUTO_ESP_BYTES, min = boot_esp_min_sectors(ss) * ss;
    if (bytes < min)
        bytes = (min + (1u << 20) - 1) / (1u << 20) * (1u << 20);
    job->win.auto_esp = (plan_extra){ .before = 0, .kind = PLAN_PART_SYNTHETIC,
                                      .role = PLAN_ROLE_ESP, .bytes = bytes,
                                      .gpt_type = GPT_TYPE_ESP, .mbr_type = 0xEF,
                                      .name = "EFI system partition" };
    rq->plan.extra = &job->win.auto_esp;
    rq->plan.nextra = 1;
    convert_say(ev, CONVERT_NOTICE, "an EFI System Partition of %llu MiB is made for Windows' "
                "UEFI boot files (--add-esp SIZE sets its size)",
                (unsigned long long)(bytes >> 20));
}

/* --boot bios from a UEFI Windows (no BIOS boot store selected) without
 * --active: the partition that gets bootmgr and \Boot is made active, a
 * System Reserved partition when one is selected, else Windows' own. */
static void auto_active(convert_job *job, const convert_events *ev)
{
    convert_request *rq = &job->rq;
    size_t wi = SIZE_MAX, si = SIZE_MAX;
    if (rq->no_windows_fixups || rq->plan.active || rq->plan.boot != PLAN_FW_BIOS ||
        rq->plan.table == PTABLE_GPT)
        return;
    for (size_t i = 0; i < rq->nsels; i++) {
        const convert_part *cp =
            convert_disk_part(job->src[job->psel[i].disk], job->psel[i].number);
        if (!cp || !cp->win_probed)
            continue;
        if (cp->win.bcd_bios)
            return; /* it boots BIOS already: the planner keeps its active partition */
        if (cp->win.win.present && cp->win.win.bcd_template && wi == SIZE_MAX)
            wi = i;
        if (cp->fs.kind == FS_NTFS && !strcasecmp(cp->fs.label, "System Reserved") &&
            si == SIZE_MAX)
            si = i;
    }
    if (wi == SIZE_MAX)
        return;
    size_t a = si != SIZE_MAX ? si : wi;
    rq->plan.active = a + 1;
    convert_say(ev, CONVERT_NOTICE, "%s:%u (%s) is made active to hold Windows' BIOS boot files "
                "(--active DISK:N chooses another NTFS partition)",
                job->src[job->psel[a].disk]->path, job->psel[a].number,
                a == si ? "System Reserved" : "Windows");
}

void convert_windows_plan_options(convert_job *job, const convert_events *ev)
{
    auto_esp(job, ev);
    auto_active(job, ev);
}

fatbuild *convert_windows_esp_tree(const convert_job *job, size_t part)
{
    return job->win.esp_tree && part == job->win.esp_part ? job->win.esp_tree : NULL;
}
