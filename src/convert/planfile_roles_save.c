/* Plan files, schema 2: a role plan made from a job's selection (the
 * picking screen's "save as a plan by role"). Each selected partition
 * becomes an entry of the role p2v sees in it, so that the plan fits other
 * PCs with the same kinds of partitions. docs/plan-files.md. */
#include <errno.h>
#include <string.h>

#include "convert/planfile_impl.h"

/* The one role an entry names, most telling first. -1: none. */
static int main_role(unsigned mask)
{
    static const enum role_kind order[] = { ROLE_WINDOWS, ROLE_BOOT, ROLE_RECOVERY, ROLE_OEM,
                                            ROLE_SWAP, ROLE_LINUX, ROLE_DATA };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (mask & (1u << order[i]))
            return (int)order[i];
    return -1;
}

/* Entry i of the plan; its role in *role. */
static int entry_json(const convert_job *job, size_t i, json_object **out, int *role,
                      p2v_err *err)
{
    const plan_sel *ps = &job->psel[i];
    const convert_disk *d = job->src[ps->disk];
    const convert_part *cp = convert_disk_part(d, ps->number);
    const convert_sel *cs = &job->rq.sels[i];
    char what[64], version[48];
    struct role_part rp;
    if (!cp)
        return p2v_errf(err, -ENOENT, "%s:%u: no such partition", d->path, ps->number);
    planfile_role_part((const convert_disk *const *)job->src, job->nsrc, d,
                       (size_t)(cp - d->parts), 0, what, version, sizeof version, &rp);
    if ((*role = main_role(roles_of(&rp))) < 0)
        return p2v_errf(err, -EINVAL, "%s:%u: no role p2v can name (%s): a plan by role cannot "
                                      "select it", d->path, ps->number,
                        rp.fs[0] ? "a filesystem of no role" : "no filesystem p2v recognises");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "role", json_object_new_string(role_name((enum role_kind)*role)));
    /* Roles that may match several partitions keep the label that told
     * this one apart; boot, windows and recovery name one each anyway. */
    bool many = *role != ROLE_BOOT && *role != ROLE_WINDOWS && *role != ROLE_RECOVERY;
    if (many && rp.label[0])
        json_object_object_add(o, "label", json_object_new_string(rp.label));
    if (cs->size_min)
        json_object_object_add(o, "size", json_object_new_string("min"));
    else if (cs->size)
        json_object_object_add(o, "size", json_object_new_int64((int64_t)cs->size));
    /* Other PCs of a fleet may lack what is not their boot or Windows. */
    if (*role != ROLE_BOOT && *role != ROLE_WINDOWS)
        json_object_object_add(o, "optional", json_object_new_boolean(true));
    *out = o;
    return 0;
}

int convert_planfile_save_roles(const convert_job *job, const char *path, p2v_err *err)
{
    const convert_request *rq = &job->rq;
    json_object *root = json_object_new_object(), *sel = json_object_new_array();
    bool windows_seen = false, keep_order = false;
    int r = 0;
    json_object_object_add(root, "p2v_plan", json_object_new_int(CONVERT_PLANFILE_ROLES));
    const char *out = rq->output_template ? rq->output_template : rq->output;
    if (out)
        json_object_object_add(root, "output", json_object_new_string(out));
    for (size_t i = 0; i < rq->nsels && r == 0; i++) {
        json_object *e = NULL;
        int role = -1;
        if ((r = entry_json(job, i, &e, &role, err)) < 0)
            break;
        json_object_array_add(sel, e);
        /* a partition after Windows: the order must be kept as it is */
        keep_order = keep_order || (windows_seen && role != ROLE_WINDOWS);
        windows_seen = windows_seen || role == ROLE_WINDOWS;
    }
    json_object_object_add(root, "select", sel);
    if (keep_order)
        json_object_object_add(root, "keep_order", json_object_new_boolean(true));
    json_object_object_add(root, "options", planfile_options_json(rq, &rq->vmdef));
    if (r == 0)
        r = planfile_save_root(root, path, err);
    json_object_put(root);
    return r;
}
