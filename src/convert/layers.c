/* The one place that decides what a copied partition is read from and
 * edited in: source -> resize overlay -> edit overlay (convert/layers.h).
 * Before, the copy, the Windows fixes, the firmware switches and the
 * drivers each spelled the rule out themselves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "convert/layers.h"
#include "convert/steps.h"

const convert_part *convert_part_source(const convert_job *job, const plan_part *pp)
{
    if (pp->kind != PLAN_PART_COPY)
        return NULL;
    return convert_disk_part(job->src[pp->disk], pp->src->number);
}

/* The edit layer's own overlay of part i, or NULL (none yet, or the part
 * is edited in its resize overlay). */
static blockdev *own_edit(const convert_job *job, size_t i)
{
    return i < job->layers.n ? job->layers.edit[i] : NULL;
}

void convert_part_view(const convert_job *job, size_t i, convert_view *v)
{
    const plan_part *pp = &job->plan->parts[i];
    blockdev *top = own_edit(job, i);
    if (!top)
        top = convert_resize_overlay(job, i);
    if (top)
        *v = (convert_view){ .bd = top, .off = 0, .len = bd_size(top), .overlay = true };
    else
        *v = (convert_view){ .bd = job->src[pp->disk]->bd, .off = pp->src_offset,
                             .len = pp->src_bytes };
}

int convert_part_edit(convert_job *job, size_t i, blockdev **ov, p2v_err *err)
{
    const plan_part *pp = &job->plan->parts[i];
    if ((*ov = convert_resize_overlay(job, i)))
        return 0;
    if (!job->layers.edit) {
        size_t n = job->plan->nparts;
        if (!(job->layers.edit = calloc(n ? n : 1, sizeof *job->layers.edit)))
            return p2v_errf(err, -ENOMEM, "out of memory");
        job->layers.n = n;
    }
    if (i >= job->layers.n)
        return p2v_errf(err, -EINVAL, "internal: no plan part %zu", i);
    int r = job->layers.edit[i] ? 0
                                : bd_overlay_open(job->src[pp->disk]->bd, pp->src_offset,
                                                  pp->src_bytes, NULL, &job->layers.edit[i], err);
    *ov = job->layers.edit[i];
    return r;
}

int convert_part_ntvol(convert_job *job, size_t i, bool write, ntvol **v, p2v_err *err)
{
    if (write) {
        blockdev *ov = NULL;
        int r = convert_part_edit(job, i, &ov, err);
        return r < 0 ? r : ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, v, err);
    }
    convert_view view;
    convert_part_view(job, i, &view);
    return ntvol_open(view.bd, view.off, view.len, 0, v, err);
}

void convert_layers_free(convert_job *job)
{
    for (size_t i = 0; job->layers.edit && i < job->layers.n; i++)
        bd_close(job->layers.edit[i]);
    free(job->layers.edit);
    memset(&job->layers, 0, sizeof job->layers);
}
