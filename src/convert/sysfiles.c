/* Windows' page, swap and hibernation files (docs/fsmap.md): which of them
 * each copied NTFS partition holds, looked up before the copy on the view
 * the copy reads (its Windows or resize overlay, else the source), so the dry
 * run and the JSON can say what will read as zeros. The copy itself leaves
 * them out through its used-block map (fsmap_opts.skip_system_files). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/layers.h"
#include "convert/steps.h"
#include "fs/kind.h"
#include "util/size.h"

static bool copies_them(const convert_job *job)
{
    return job->rq.copy_all || job->rq.copy_system_files;
}

/* The files of plan part i. A volume that cannot be read here gets a
 * warning and no list: the copy meets the same error and reports it. */
static void lookup_part(convert_job *job, size_t i, const convert_events *ev)
{
    convert_view v;
    p2v_err err;
    convert_part_view(job, i, &v);
    if (fs_ntfs_system_files(v.bd, v.off, v.len, &job->sysfiles[i], &err) < 0) {
        char name[300];
        convert_part_source_name(job, &job->plan->parts[i], name, sizeof name);
        convert_say(ev, CONVERT_WARNING, "%s: Windows' page and hibernation files not looked "
                    "up: %s", name, err.msg);
    }
}

int convert_sysfiles_prepare(convert_job *job, const convert_events *ev, p2v_err *err)
{
    job->sysfiles = calloc(job->plan->nparts ? job->plan->nparts : 1, sizeof *job->sysfiles);
    if (!job->sysfiles)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < job->plan->nparts; i++) {
        const plan_part *pp = &job->plan->parts[i];
        if (pp->kind == PLAN_PART_COPY && fs_kind_of(pp->fstype) == FS_NTFS)
            lookup_part(job, i, ev);
    }
    return 0;
}

void convert_sysfiles_text(const convert_job *job, FILE *f)
{
    bool any = false;
    char name[300], h1[32], h2[32];
    for (size_t i = 0; job->sysfiles && i < job->plan->nparts; i++) {
        const fs_sysfiles *sf = &job->sysfiles[i];
        for (size_t k = 0; k < sf->n; k++) {
            if (!any)
                fprintf(f, copies_them(job)
                               ? "\nWindows page/swap/hibernation files (copied: %s):\n"
                               : "\nWindows page/swap/hibernation files (%s):\n",
                        copies_them(job) ? (job->rq.copy_all ? "--copy all"
                                                             : "--copy-system-files")
                                         : "not copied: they read as zeros and Windows "
                                           "recreates them; `p2v disks` counts them as used");
            any = true;
            convert_part_source_name(job, &job->plan->parts[i], name, sizeof name);
            fprintf(f, "  %s: %s, %s (%s of clusters%s)\n", name, sf->v[k].name,
                    size_human(sf->v[k].size, h1, sizeof h1),
                    size_human(sf->v[k].bytes, h2, sizeof h2), copies_them(job) ? "" : " saved");
        }
    }
}

void convert_sysfiles_json(const convert_job *job, json_writer *j, size_t part)
{
    const fs_sysfiles *sf = job->sysfiles ? &job->sysfiles[part] : NULL;
    json_key(j, "system_files");
    json_arr_begin(j);
    for (size_t k = 0; sf && k < sf->n; k++) {
        json_obj_begin(j);
        json_kstr(j, "name", sf->v[k].name);
        json_ku64(j, "size", sf->v[k].size);
        json_ku64(j, "bytes", sf->v[k].bytes);
        json_kbool(j, "copied", copies_them(job));
        json_obj_end(j);
    }
    json_arr_end(j);
}

void convert_sysfiles_free(convert_job *job)
{
    free(job->sysfiles);
    job->sysfiles = NULL;
}
