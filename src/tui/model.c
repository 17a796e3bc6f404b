/* The picking screen's model: disks, the ordered selection, target options,
 * and the planner's verdict on them. No terminal here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui.h"
#include "util/size.h"

int tui_state_init(tui_state *s, uint32_t sector_size)
{
    *s = (tui_state){ .sector_size = sector_size };
    snprintf(s->target.output, sizeof s->target.output, "p2v.qcow2");
    snprintf(s->status, sizeof s->status, "no partition selected");
    return 0;
}

static void free_disks(tui_disk *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        convert_disk_free(d[i].d);
        free(d[i].path);
    }
    free(d);
}

void tui_clear_picks(tui_state *s)
{
    for (size_t i = 0; i < s->npicks; i++)
        free(s->picks[i].disk);
    free(s->picks);
    s->picks = NULL;
    s->npicks = 0;
}

struct tui_request {
    convert_request rq;
    convert_sel *sels;
    convert_disk **pre;
    plan_extra esp;
    convert_sel active;
};

static void free_request(struct tui_request *b)
{
    if (!b)
        return;
    free(b->sels);
    free(b->pre);
    free(b);
}

static void drop_job(tui_state *s)
{
    convert_job_free(s->job);
    s->job = NULL;
    free_request(s->rq);
    s->rq = NULL;
    s->valid = false;
    p2v_warnings_free(&s->notes);
}

void tui_state_free(tui_state *s)
{
    free(s->target.active_disk);
    s->target.active_disk = NULL;
    drop_job(s);
    tui_clear_picks(s);
    free_disks(s->disks, s->ndisks);
    s->disks = NULL;
    s->ndisks = 0;
}

static const tui_disk *find_disk(const tui_state *s, const char *path, size_t *index)
{
    for (size_t i = 0; i < s->ndisks; i++)
        if (!strcmp(s->disks[i].path, path)) {
            if (index)
                *index = i;
            return &s->disks[i];
        }
    return NULL;
}

bool tui_part_refused(const convert_part *cp, char *why, size_t len)
{
    const ptable_part *p = cp->p;
    const char *r = NULL;
    if (p->container)
        r = "extended partition (its logical partitions are listed)";
    else if (p->problems & PTABLE_PROBLEM_PAST_END)
        r = "extends past the end of the disk";
    else if (p->problems & PTABLE_PROBLEM_OVERLAP)
        r = "overlaps another partition";
    else if (p->problems & PTABLE_PROBLEM_OUTSIDE)
        r = "outside its container or the usable area";
    else if (p->problems & PTABLE_PROBLEM_ON_TABLE)
        r = "covers the partition table";
    else if (cp->probe_error[0])
        r = cp->probe_error;
    if (why && len)
        snprintf(why, len, "%s", r ? r : "");
    return r != NULL;
}

/* Keep the picks whose disk and partition still exist. */
static size_t prune_picks(tui_state *s)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->npicks; i++) {
        const tui_disk *d = find_disk(s, s->picks[i].disk, NULL);
        const convert_part *cp = d && d->d ? convert_disk_part(d->d, s->picks[i].number) : NULL;
        if (!cp || tui_part_refused(cp, NULL, 0)) {
            free(s->picks[i].disk);
            dropped++;
            continue;
        }
        s->picks[kept++] = s->picks[i];
    }
    s->npicks = kept;
    return dropped;
}

int tui_open_disks(tui_state *s, char *const *paths, size_t n, size_t *dropped, p2v_err *err)
{
    tui_disk *nd = calloc(n ? n : 1, sizeof *nd);
    if (!nd)
        return p2v_errf(err, -ENOMEM, "out of memory");
    convert_disk_opts o = { .sector_size = s->sector_size, .used = true };
    for (size_t i = 0; i < n; i++) {
        p2v_err e;
        if (!(nd[i].path = strdup(paths[i]))) {
            free_disks(nd, i);
            return p2v_errf(err, -ENOMEM, "out of memory");
        }
        if (convert_disk_open(paths[i], &o, &nd[i].d, &e) < 0)
            snprintf(nd[i].error, sizeof nd[i].error, "%s", e.msg);
    }
    drop_job(s); /* it refers to the old disks */
    free_disks(s->disks, s->ndisks);
    s->disks = nd;
    s->ndisks = n;
    size_t k = prune_picks(s);
    if (dropped)
        *dropped = k;
    return 0;
}

int tui_add_disk(tui_state *s, convert_disk *d, p2v_err *err)
{
    tui_disk *nd = realloc(s->disks, (s->ndisks + 1) * sizeof *nd);
    char *path = strdup(d->path);
    if (!nd || !path) {
        free(path);
        if (nd)
            s->disks = nd;
        convert_disk_free(d);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    s->disks = nd;
    nd[s->ndisks++] = (tui_disk){ .path = path, .d = d };
    drop_job(s);
    return 0;
}

/* ---- selection and order ---- */

size_t tui_pick_pos(const tui_state *s, const char *disk, unsigned number)
{
    for (size_t i = 0; i < s->npicks; i++)
        if (s->picks[i].number == number && !strcmp(s->picks[i].disk, disk))
            return i + 1;
    return 0;
}

int tui_toggle(tui_state *s, size_t disk, unsigned number, p2v_err *err)
{
    if (disk >= s->ndisks || !s->disks[disk].d)
        return p2v_errf(err, -ENOENT, "no such disk");
    const char *path = s->disks[disk].path;
    size_t pos = tui_pick_pos(s, path, number);
    if (pos) {
        free(s->picks[pos - 1].disk);
        memmove(&s->picks[pos - 1], &s->picks[pos], (s->npicks - pos) * sizeof *s->picks);
        s->npicks--;
        return 0;
    }
    const convert_part *cp = convert_disk_part(s->disks[disk].d, number);
    char why[600];
    if (!cp)
        return p2v_errf(err, -ENOENT, "%s: no partition %u", path, number);
    if (tui_part_refused(cp, why, sizeof why))
        return p2v_errf(err, -EPERM, "%s:%u cannot be copied: %s", path, number, why);
    tui_pick *np = realloc(s->picks, (s->npicks + 1) * sizeof *np);
    if (!np)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s->picks = np;
    if (!(np[s->npicks].disk = strdup(path)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    np[s->npicks].number = number;
    np[s->npicks].size = 0;
    np[s->npicks++].size_min = false;
    return 0;
}

int tui_set_pick_size(tui_state *s, const char *disk, unsigned number, const char *text,
                      p2v_err *err)
{
    size_t pos = tui_pick_pos(s, disk, number);
    uint64_t size = 0;
    bool min = false;
    if (!pos)
        return p2v_errf(err, -ENOENT, "%s:%u is not picked: pick it first (Space)", disk,
                        number);
    if (text[0] && convert_parse_new_size(text, &size, &min) < 0)
        return p2v_errf(err, -EINVAL, "%s:%u: '%s' is not a size (bytes or K/M/G/T, or min)",
                        disk, number, text);
    s->picks[pos - 1].size = size;
    s->picks[pos - 1].size_min = min;
    return 0;
}

/* A size as the command line writes it: the largest exact K/M/G suffix. */
void tui_size_word(uint64_t v, char *num, size_t len)
{
    if (v == 0)
        snprintf(num, len, "0");
    else if (v % (1ULL << 30) == 0)
        snprintf(num, len, "%lluG", (unsigned long long)(v >> 30));
    else if (v % (1ULL << 20) == 0)
        snprintf(num, len, "%lluM", (unsigned long long)(v >> 20));
    else if (v % 1024 == 0)
        snprintf(num, len, "%lluK", (unsigned long long)(v >> 10));
    else
        snprintf(num, len, "%llu", (unsigned long long)v);
}

void tui_pick_word(const tui_state *s, size_t pick, char *out, size_t len)
{
    const tui_pick *p = &s->picks[pick];
    char num[32] = "";
    if (p->size_min)
        snprintf(num, sizeof num, "=min");
    else if (p->size) {
        num[0] = '=';
        tui_size_word(p->size, num + 1, sizeof num - 1);
    }
    snprintf(out, len, "%s:%u%s", p->disk, p->number, num);
}

uint64_t tui_pick_new_bytes(const tui_state *s, size_t pick)
{
    if (!s->valid || !s->job)
        return 0;
    const plan *p = convert_job_plan(s->job);
    for (size_t i = 0; i < p->nparts; i++)
        if (p->parts[i].kind == PLAN_PART_COPY && p->parts[i].sel == pick)
            return p->parts[i].sectors * p->sector_size;
    return 0;
}

size_t tui_move(tui_state *s, const char *disk, unsigned number, int delta)
{
    size_t pos = tui_pick_pos(s, disk, number);
    if (!pos)
        return 0;
    size_t i = pos - 1;
    while (delta < 0 && i > 0) {
        tui_pick t = s->picks[i - 1];
        s->picks[i - 1] = s->picks[i];
        s->picks[i] = t;
        i--;
        delta++;
    }
    while (delta > 0 && i + 1 < s->npicks) {
        tui_pick t = s->picks[i + 1];
        s->picks[i + 1] = s->picks[i];
        s->picks[i] = t;
        i++;
        delta--;
    }
    return i + 1;
}

/* ---- target options ---- */

static const char *const field_names[TUI_NFIELDS] = {
    [TUI_F_TABLE] = "table",   [TUI_F_BOOT] = "firmware", [TUI_F_ESP] = "add ESP",
    [TUI_F_SIZE] = "size",     [TUI_F_OUTPUT] = "output", [TUI_F_FORMAT] = "format",
    [TUI_F_COMPRESS] = "compress", [TUI_F_FORCE] = "overwrite", [TUI_F_VERIFY] = "verify",
    [TUI_F_VMDEF] = "VM definition",
};

const char *tui_field_name(enum tui_field f) { return f < TUI_NFIELDS ? field_names[f] : "?"; }

bool tui_field_is_text(enum tui_field f)
{
    return f == TUI_F_ESP || f == TUI_F_SIZE || f == TUI_F_OUTPUT || f == TUI_F_VMDEF;
}

static int cycle3(int v, int dir) { return ((v + (dir < 0 ? 2 : 1)) % 3); }

void tui_cycle(tui_state *s, enum tui_field f, int dir)
{
    tui_target *t = &s->target;
    switch (f) {
    case TUI_F_TABLE: {
        static const enum ptable_type order[3] = { PTABLE_NONE, PTABLE_MBR, PTABLE_GPT };
        int i = t->table == PTABLE_MBR ? 1 : t->table == PTABLE_GPT ? 2 : 0;
        t->table = order[cycle3(i, dir)];
        break;
    }
    case TUI_F_BOOT: {
        static const enum plan_firmware order[3] = { PLAN_FW_NONE, PLAN_FW_BIOS, PLAN_FW_UEFI };
        int i = t->boot == PLAN_FW_BIOS ? 1 : t->boot == PLAN_FW_UEFI ? 2 : 0;
        t->boot = order[cycle3(i, dir)];
        break;
    }
    case TUI_F_FORMAT:
        t->format = t->format == SINK_QCOW2 ? SINK_RAW : SINK_QCOW2;
        break;
    case TUI_F_COMPRESS:
        t->compression = (enum sink_compression)cycle3((int)t->compression, dir);
        break;
    case TUI_F_FORCE: t->force = !t->force; break;
    case TUI_F_VERIFY: t->verify = !t->verify; break;
    default: break;
    }
}

static int set_size(uint64_t *v, const char *text, const char *what, p2v_err *err)
{
    uint64_t x = 0;
    if (text[0] && strcmp(text, "0") && strcmp(text, "none") && strcmp(text, "auto") &&
        (size_parse(text, &x) < 0 || x == 0))
        return p2v_errf(err, -EINVAL, "%s: '%s' is not a size (bytes or K/M/G/T)", what, text);
    *v = x;
    return 0;
}

/* FORMAT[:FILE] as p2v convert --vm-def takes it; "" or "none": none. */
static int set_vmdef(tui_target *t, const char *text, p2v_err *err)
{
    if (!text[0] || !strcmp(text, "none")) {
        t->vmdef[0] = '\0';
        return 0;
    }
    int r = convert_vmdef_check(text, err);
    if (r < 0)
        return p2v_err_prefix(err, r, "VM definition");
    if (strlen(text) >= sizeof t->vmdef)
        return p2v_errf(err, -ENAMETOOLONG, "VM definition: too long");
    snprintf(t->vmdef, sizeof t->vmdef, "%s", text);
    return 0;
}

int tui_set_field(tui_state *s, enum tui_field f, const char *text, p2v_err *err)
{
    switch (f) {
    case TUI_F_ESP: return set_size(&s->target.add_esp, text, "add ESP", err);
    case TUI_F_SIZE: return set_size(&s->target.size, text, "size", err);
    case TUI_F_OUTPUT:
        if (!text[0])
            return p2v_errf(err, -EINVAL, "output: no file name given");
        struct sink_target_info ti;
        sink_target_info(text, &ti);
        if (ti.to_stdout)
            return p2v_errf(err, -EINVAL, "output: '-' (standard output) is this screen; "
                                          "stream with p2v convert -o - instead");
        if (strlen(text) >= sizeof s->target.output)
            return p2v_errf(err, -ENAMETOOLONG, "output: the name is too long");
        snprintf(s->target.output, sizeof s->target.output, "%s", text);
        return 0;
    case TUI_F_VMDEF: return set_vmdef(&s->target, text, err);
    default: return p2v_errf(err, -EINVAL, "%s is not a text field", tui_field_name(f));
    }
}

/* A size field's value: bytes as a size, or the word its 0 stands for. */
static void size_or_word(uint64_t bytes, const char *zero, char *out, size_t len)
{
    if (bytes)
        size_human(bytes, out, len);
    else
        snprintf(out, len, "%s", zero);
}

void tui_field_value(const tui_state *s, enum tui_field f, char *out, size_t len)
{
    const tui_target *t = &s->target;
    static const char *const comp[] = { "none", "zlib", "zstd" };
    switch (f) {
    case TUI_F_TABLE:
        snprintf(out, len, "%s", t->table == PTABLE_MBR ? "MBR" : t->table == PTABLE_GPT ? "GPT" : "auto");
        break;
    case TUI_F_BOOT:
        snprintf(out, len, "%s", t->boot == PLAN_FW_BIOS ? "BIOS" : t->boot == PLAN_FW_UEFI ? "UEFI" : "auto");
        break;
    case TUI_F_ESP: size_or_word(t->add_esp, "no", out, len); break;
    case TUI_F_SIZE: size_or_word(t->size, "smallest", out, len); break;
    case TUI_F_OUTPUT: snprintf(out, len, "%s", t->output); break;
    case TUI_F_FORMAT: snprintf(out, len, "%s", t->format == SINK_RAW ? "raw" : "qcow2"); break;
    case TUI_F_COMPRESS:
        snprintf(out, len, "%s", t->format == SINK_RAW ? "-" : comp[t->compression % 3]);
        break;
    case TUI_F_FORCE: snprintf(out, len, "%s", t->force ? "yes" : "no"); break;
    case TUI_F_VERIFY: snprintf(out, len, "%s", t->verify ? "yes" : "no"); break;
    case TUI_F_VMDEF: snprintf(out, len, "%s", t->vmdef[0] ? t->vmdef : "none"); break;
    default: snprintf(out, len, "?"); break;
    }
}

/* ---- rows of the disk view ---- */

int tui_rows(const tui_state *s, tui_row **rows, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < s->ndisks; i++)
        total += 1 + (s->disks[i].d ? s->disks[i].d->pt->nparts : 0);
    tui_row *v = calloc(total ? total : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->ndisks; i++) {
        v[k++] = (tui_row){ .disk = i };
        const convert_disk *d = s->disks[i].d;
        for (size_t j = 0; d && j < d->pt->nparts; j++)
            v[k++] = (tui_row){ .disk = i, .part = &d->parts[j] };
    }
    *rows = v;
    *n = k;
    return 0;
}

/* ---- validation ---- */

static int build_request(const tui_state *s, struct tui_request *b)
{
    const tui_target *t = &s->target;
    b->sels = calloc(s->npicks ? s->npicks : 1, sizeof *b->sels);
    b->pre = calloc(s->ndisks ? s->ndisks : 1, sizeof *b->pre);
    if (!b->sels || !b->pre)
        return -ENOMEM;
    for (size_t i = 0; i < s->npicks; i++)
        b->sels[i] = (convert_sel){ .disk = s->picks[i].disk, .number = s->picks[i].number,
                                    .size = s->picks[i].size,
                                    .size_min = s->picks[i].size_min };
    size_t np = 0;
    for (size_t i = 0; i < s->ndisks; i++)
        if (s->disks[i].d)
            b->pre[np++] = s->disks[i].d;
    b->rq = (convert_request){ .output = t->output, .sels = b->sels, .nsels = s->npicks,
                               .sector_size = s->sector_size, .verify = t->verify,
                               .force = t->force, .copy_all = t->copy_all,
                               .allow_dirty = t->allow_dirty, .preopened = b->pre,
                               .npreopened = np, .min_free = t->min_free,
                               .min_free_set = t->min_free_set };
    b->rq.sink = (sink_opts){ .format = t->format, .force = t->force,
                              .cluster_size = t->format == SINK_RAW ? 0 : t->cluster_size,
                              .compression = t->format == SINK_RAW ? SINK_COMPRESS_NONE
                                                                   : t->compression };
    /* the VM definition is written after the run (view_run.c); this machine
     * is read while planning, from P2V_MACHINE_ROOT in tests as for p2v convert */
    b->rq.vmdef = (convert_vmdef_opts){ .spec = t->vmdef[0] ? t->vmdef : NULL,
                                        .machine_root = getenv("P2V_MACHINE_ROOT") };
    b->rq.plan = (plan_opts){ .table = t->table, .boot = t->boot, .size = t->size,
                              .align = t->align, .no_msr = t->no_msr };
    if (t->active_disk && tui_pick_pos(s, t->active_disk, t->active_number)) {
        b->active = (convert_sel){ .disk = t->active_disk, .number = t->active_number };
        b->rq.active = &b->active;
    }
    if (t->add_esp) {
        b->esp = (plan_extra){ .before = 0, .kind = PLAN_PART_SYNTHETIC, .role = PLAN_ROLE_ESP,
                               .bytes = t->add_esp, .gpt_type = GPT_TYPE_ESP, .mbr_type = 0xEF,
                               .name = "EFI system partition" };
        b->rq.plan.extra = &b->esp;
        b->rq.plan.nextra = 1;
    }
    return 0;
}

static void on_note(void *ctx, enum convert_level level, const char *msg)
{
    p2v_warn(ctx, "%s%s", level == CONVERT_WARNING ? "warning: " : "", msg);
}

static void describe_plan(tui_state *s)
{
    const plan *p = convert_job_plan(s->job);
    char h[32];
    snprintf(s->status, sizeof s->status, "ok: %zu partition%s, %s table, %s, firmware %s%s",
             p->nparts, p->nparts == 1 ? "" : "s", p->table == PTABLE_MBR ? "MBR" : "GPT",
             size_human(plan_disk_bytes(p), h, sizeof h), plan_firmware_str(p->firmware),
             s->notes.count ? " (see notes)" : "");
}

int tui_validate(tui_state *s)
{
    p2v_err err = { { 0 } };
    int r;
    drop_job(s);
    if (s->npicks == 0) {
        snprintf(s->status, sizeof s->status, "no partition selected");
        return CONVERT_EUSAGE;
    }
    /* the job keeps pointers into its request: both live until drop_job */
    if (!(s->rq = calloc(1, sizeof *s->rq)) || (r = build_request(s, s->rq)) < 0) {
        r = -ENOMEM;
        snprintf(s->status, sizeof s->status, "out of memory");
    } else {
        convert_events ev = { .message = on_note, .ctx = &s->notes };
        r = convert_plan_from_request(&s->rq->rq, &ev, &s->job, &err);
        if (r < 0)
            snprintf(s->status, sizeof s->status, "%s", err.msg);
    }
    if (r < 0) {
        free_request(s->rq);
        s->rq = NULL;
    }
    if (r == 0) {
        s->valid = true;
        describe_plan(s);
    }
    return r;
}
