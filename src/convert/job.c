/* From a request to a planned job: the selected disks opened once each,
 * OUTPUT checked against every source, the layout planned and checked, then
 * the steps (convert/steps.h) run in order. This file only orchestrates:
 * no step calls back into it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "convert/layers.h"
#include "convert/steps.h"
#include "sink/guard.h"
#include "sink/sink.h"
#include "util/size.h"

static bool same_disk(const convert_disk *d, const char *path, const struct stat *st)
{
    if (d->has_st && st)
        return sink_same_file(st, &d->st);
    return !strcmp(d->path, path);
}

static convert_disk *find_preopened(const convert_request *rq, const char *path)
{
    for (size_t i = 0; i < rq->npreopened; i++)
        if (!strcmp(rq->preopened[i]->path, path))
            return rq->preopened[i];
    return NULL;
}

static void say_table_messages(const convert_disk *d, const convert_events *ev)
{
    for (size_t w = 0; w < d->pt->warnings.count; w++)
        convert_say(ev, CONVERT_WARNING, "%s", d->pt->warnings.msgs[w]);
    for (size_t w = 0; w < d->pt->notices.count; w++)
        convert_say(ev, CONVERT_NOTICE, "%s", d->pt->notices.msgs[w]);
}

/* The index of the source disk PATH, opening it the first time it is named. */
static int job_source(convert_job *job, const char *path, const convert_events *ev,
                      size_t *index, p2v_err *err)
{
    struct stat st;
    bool have_st = stat(path, &st) == 0;
    for (size_t i = 0; i < job->nsrc; i++)
        if (same_disk(job->src[i], path, have_st ? &st : NULL)) {
            *index = i;
            return 0;
        }
    convert_disk *d = find_preopened(&job->rq, path);
    if (d) {
        job->owned[job->nsrc] = false;
    } else {
        convert_disk_opts o = { .sector_size = job->rq.sector_size,
                                .io_timeout = job->rq.io_timeout };
        int r = convert_disk_open(path, &o, &d, err);
        if (r < 0)
            return r;
        job->owned[job->nsrc] = true;
    }
    job->src[job->nsrc] = d;
    *index = job->nsrc++;
    say_table_messages(d, ev);
    return 0;
}

/* A selected partition (or its whole disk) with a filesystem mounted on it:
 * read-write is refused unless allow_mounted, read-only gets a notice. */
static int check_mounted(const convert_job *job, const convert_disk *d, const convert_part *cp,
                         const convert_events *ev, p2v_err *err)
{
    bd_mountinfo m;
    uint64_t ss = d->pt->sector_size;
    p2v_err e;
    int r = bd_find_mount(d->bd, cp->p->start * ss, cp->p->size * ss, &m, &e);
    if (r < 0)
        convert_say(ev, CONVERT_WARNING, "%s:%u: cannot tell whether it is mounted: %s",
                    d->path, cp->p->number, e.msg);
    if (r <= 0)
        return 0;
    if (m.ro) {
        convert_say(ev, CONVERT_NOTICE, "%s:%u: mounted read-only on %s (%s); copying it as it is",
                    d->path, cp->p->number, m.point, m.fstype);
        return 0;
    }
    if (!job->rq.allow_mounted)
        return p2v_errf(err, -EBUSY,
                        "%s:%u: mounted read-write on %s (%s, %s); unmount it or remount it "
                        "read-only, or pass --allow-mounted to copy it anyway",
                        d->path, cp->p->number, m.point, m.fstype, m.source);
    convert_say(ev, CONVERT_WARNING,
                "%s:%u: mounted read-write on %s (%s); copying it anyway (--allow-mounted): "
                "files changing meanwhile may be inconsistent in the copy",
                d->path, cp->p->number, m.point, m.fstype);
    return 0;
}

/* Two selections on different disks that are the same bytes (a loop device
 * and its backing file, a partition device and its disk) are one partition
 * selected twice; plan_build sees only disks opened under one name. */
static int check_distinct(const convert_job *job, p2v_err *err)
{
    for (size_t i = 0; i < job->rq.nsels; i++) {
        const convert_disk *di = job->src[job->psel[i].disk];
        const convert_part *pi = convert_disk_part(di, job->psel[i].number);
        bd_place a;
        if (!pi)
            continue;
        bd_place_of(di->bd, &a);
        if (!a.is_blk && !a.dev && !a.ino)
            continue; /* a memory disk (tests): nothing else is the same */
        for (size_t j = i + 1; j < job->rq.nsels; j++) {
            const convert_disk *dj = job->src[job->psel[j].disk];
            const convert_part *pj = convert_disk_part(dj, job->psel[j].number);
            bd_place b;
            if (!pj || dj == di)
                continue;
            bd_place_of(dj->bd, &b);
            uint64_t ssi = di->pt->sector_size, ssj = dj->pt->sector_size;
            if (bd_place_overlap(&a, pi->p->start * ssi, pi->p->size * ssi, &b,
                                 pj->p->start * ssj, pj->p->size * ssj))
                return p2v_errf(err, -EINVAL,
                                "%s:%u and %s:%u are the same partition, selected twice "
                                "(selections %zu and %zu: one disk is a loop device over the "
                                "other, or the same device under two names)",
                                di->path, job->psel[i].number, dj->path, job->psel[j].number,
                                i + 1, j + 1);
        }
    }
    return 0;
}

static int open_sources(convert_job *job, const convert_events *ev, p2v_err *err)
{
    size_t n = job->rq.nsels;
    job->src = calloc(n, sizeof *job->src);
    job->owned = calloc(n, sizeof *job->owned);
    job->psel = calloc(n, sizeof *job->psel);
    job->psrc = calloc(n, sizeof *job->psrc);
    if (!job->src || !job->owned || !job->psel || !job->psrc)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const convert_sel *sel = &job->rq.sels[i];
        int r = job_source(job, sel->disk, ev, &job->psel[i].disk, err);
        if (r < 0)
            return r;
        job->psel[i].number = sel->number;
        const convert_part *cp = convert_disk_part(job->src[job->psel[i].disk], sel->number);
        if (cp && (r = check_mounted(job, job->src[job->psel[i].disk], cp, ev, err)) < 0)
            return r;
        if (cp && cp->probed) {
            snprintf(job->psel[i].fstype, sizeof job->psel[i].fstype, "%s", cp->fs.type);
            snprintf(job->psel[i].label, sizeof job->psel[i].label, "%s", cp->fs.label);
            job->psel[i].bios_boot_code = cp->bios_boot_code;
        }
    }
    int rc = check_distinct(job, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < job->nsrc; i++)
        job->psrc[i] = (plan_source){ .bd = job->src[i]->bd, .pt = job->src[i]->pt,
                                      .name = job->src[i]->path };
    return 0;
}

/* Standard output and NBD exports: what they can and cannot do. An NBD
 * export's size becomes the disk size. */
static int check_direct_output(convert_job *job, p2v_err *err)
{
    convert_request *rq = &job->rq;
    const char *o = rq->output;
    struct sink_target_info ti;
    sink_target_info(o, &ti);
    if (rq->verify && !ti.readback)
        return p2v_errf(err, CONVERT_EUSAGE, "--verify cannot read a stream back (-o -); "
                                             "compare the received file with p2v img compare");
    if (ti.in_order && rq->sink.compression && rq->sink.format == SINK_QCOW2)
        return p2v_errf(err, CONVERT_EUSAGE, "-c: a compressed qcow2 cannot be streamed "
                                             "(-o -): its layout is not known in advance");
    if (ti.raw_only && (rq->sink.format != SINK_RAW || rq->sink.compression))
        return p2v_errf(err, CONVERT_EUSAGE, "%s: an %s receives the disk itself: use -O raw "
                                             "(the platform's storage behind it provides its "
                                             "format)", o, ti.what);
    if (!ti.sized)
        return 0;
    uint64_t size;
    sink_opts so = rq->sink;
    so.io_timeout = rq->io_timeout;
    int r = sink_target_size(o, &so, &size, err);
    if (r < 0)
        return r;
    if (rq->plan.size && rq->plan.size != size)
        return p2v_errf(err, CONVERT_EUSAGE, "--size %llu: the NBD export %s is %llu bytes; "
                                             "the disk takes the export's size",
                        (unsigned long long)rq->plan.size, o, (unsigned long long)size);
    rq->plan.size = size;
    job->nbd_size = size;
    return 0;
}

/* OUTPUT must not be a source by any name; an existing OUTPUT needs force;
 * its directory must take a new file; temporary files of interrupted runs
 * to the same OUTPUT are named, or removed with force. Standard output and
 * NBD exports have checks of their own. */
static int check_output(convert_job *job, const convert_events *ev, p2v_err *err)
{
    const char *out = job->rq.output;
    struct sink_target_info ti;
    sink_target_info(out, &ti);
    if (ti.direct)
        return check_direct_output(job, err);
    p2v_warnings said = { 0 };
    int rc = sink_guard_output_dir(out, err);
    if (rc < 0)
        return rc;
    sink_guard_stale_temps(out, job->rq.force, &said, err);
    for (size_t i = 0; i < said.count; i++)
        convert_say(ev, CONVERT_NOTICE, "%s", said.msgs[i]);
    p2v_warnings_free(&said);
    sink_source *ss = calloc(job->nsrc ? job->nsrc : 1, sizeof *ss);
    if (!ss)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < job->nsrc; i++)
        ss[i] = (sink_source){ .path = job->src[i]->path, .st = job->src[i]->st,
                               .bd = job->src[i]->bd };
    int r = sink_guard_output(job->rq.output, ss, job->nsrc, job->rq.force, &job->write_path,
                              err);
    free(ss);
    return r < 0 ? -EEXIST : 0;
}

/* The selection `active` names (1-based), 0 if it is not one of them. */
static size_t find_active(const convert_job *job)
{
    const convert_sel *a = job->rq.active;
    struct stat st;
    bool have_st = stat(a->disk, &st) == 0;
    for (size_t i = 0; i < job->rq.nsels; i++)
        if (job->psel[i].number == a->number &&
            same_disk(job->src[job->psel[i].disk], a->disk, have_st ? &st : NULL))
            return i + 1;
    return 0;
}

/* A p2v-made ESP must be big enough for FAT32; under UEFI without any ESP
 * the image cannot boot, which the user hears before anything is written. */
static int check_esp(convert_job *job, const convert_events *ev, p2v_err *err)
{
    plan *p = job->plan;
    bool has_esp = false, copied_esp = false;
    p2v_guid esp_type;
    guid_parse(GPT_TYPE_ESP, &esp_type);
    for (size_t i = 0; i < p->nparts; i++) {
        plan_part *pp = &p->parts[i];
        if (pp->kind == PLAN_PART_SYNTHETIC && pp->role == PLAN_ROLE_ESP) {
            /* what the layout table and JSON show for it */
            snprintf(pp->fstype, sizeof pp->fstype, "%s", fs_kind_name(FS_FAT));
            snprintf(pp->label, sizeof pp->label, "EFI");
            uint64_t min = boot_esp_min_sectors(p->sector_size);
            if (pp->sectors < min) {
                char h[32];
                return p2v_errf(err, CONVERT_EUSAGE,
                                "--add-esp: %llu bytes is too small for a FAT32 ESP on "
                                "%u-byte sectors (at least %s)",
                                (unsigned long long)(pp->sectors * p->sector_size),
                                p->sector_size, size_human(min * p->sector_size, h, sizeof h));
            }
        }
        if (p->table == PTABLE_GPT ? guid_equal(&pp->type_guid, &esp_type) : pp->mbr_type == 0xEF) {
            has_esp = true;
            if (pp->kind == PLAN_PART_COPY)
                copied_esp = true;
        }
    }
    if (copied_esp && job->rq.plan.nextra)
        convert_say(ev, CONVERT_WARNING,
                    "--add-esp adds a second EFI System Partition: one is already selected");
    if (p->firmware == PLAN_FW_UEFI && !has_esp)
        convert_say(ev, CONVERT_WARNING,
                    "no EFI System Partition is selected: the image will not boot under UEFI "
                    "until one is made (--add-esp SIZE adds an empty one)");
    return 0;
}

int convert_plan_from_request(const convert_request *rq, const convert_events *ev,
                              convert_job **out, p2v_err *err)
{
    convert_job *job = calloc(1, sizeof *job);
    int r;
    *out = NULL;
    if (!job)
        return p2v_errf(err, -ENOMEM, "out of memory");
    job->rq = *rq;
    if (rq->nsels == 0) {
        r = p2v_errf(err, CONVERT_EUSAGE, "no partition selected");
        goto fail;
    }
    if ((r = open_sources(job, ev, err)) < 0 || (r = convert_resize_sizes(job, ev, err)) < 0)
        goto fail;
    /* A dry run refuses what the real run would refuse; it writes nothing. */
    if ((r = convert_badmap_prepare(job, err)) < 0 ||
        (rq->output && (r = check_output(job, ev, err)) < 0))
        goto fail;
    if (rq->active && !(job->rq.plan.active = find_active(job))) {
        r = p2v_errf(err, CONVERT_EUSAGE, "--active %s:%u: not one of the selected partitions",
                     rq->active->disk, rq->active->number);
        goto fail;
    }
    convert_windows_plan_options(job, ev);
    if ((r = plan_build(job->psrc, job->nsrc, job->psel, rq->nsels, &job->rq.plan, &job->plan,
                        err)) < 0) {
        if (job->nbd_size)
            p2v_err_prefix(err, r, "NBD export %s (%llu bytes)", rq->output,
                           (unsigned long long)job->nbd_size);
        goto fail;
    }
    for (size_t i = 0; i < job->plan->notes.count; i++)
        convert_say(ev, CONVERT_NOTICE, "%s", job->plan->notes.msgs[i]);
    if ((r = check_esp(job, ev, err)) < 0 || (r = convert_resize_prepare(job, ev, err)) < 0 ||
        (r = convert_windows_prepare(job, ev, err)) < 0)
        goto fail;
    if ((r = convert_vmdef_prepare(job, ev, err)) < 0 ||
        (r = convert_drivers_prepare(job, ev, err)) < 0 ||
        (r = convert_sysfiles_prepare(job, ev, err)) < 0)
        goto fail;
    *out = job;
    return 0;
fail:
    convert_job_free(job);
    return r;
}

const plan *convert_job_plan(const convert_job *job) { return job->plan; }

const convert_request *convert_job_request(const convert_job *job) { return &job->rq; }

const win_report *convert_job_windows(const convert_job *job) { return &job->win.rep; }

const convert_disk *convert_job_disk(const convert_job *job, const plan_part *pp)
{
    return pp->kind == PLAN_PART_COPY ? job->src[pp->disk] : NULL;
}

void convert_job_free(convert_job *job)
{
    if (!job)
        return;
    convert_drivers_free(job);
    convert_sysfiles_free(job);
    convert_vmdef_free(job);
    convert_winstate_free(&job->win);
    convert_layers_free(job); /* overlays read the sources: first */
    convert_resize_free(&job->rs);
    plan_free(job->plan);
    for (size_t i = 0; i < job->nsrc; i++)
        if (job->owned[i])
            convert_disk_free(job->src[i]);
    free(job->src);
    free(job->owned);
    free(job->psrc);
    free(job->psel);
    free(job->write_path);
    free(job);
}
