/* Plan files, schema 2: plans by role. The "select" list is read here
 * (strictly, as schema 1: unknown keys, wrong types and hostile values are
 * refused naming the entry and the field); planfile_roles_resolve.c finds
 * the partitions on the disks at hand. docs/plan-files.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/planfile_impl.h"
#include "util/size.h"

#define ROLE_TEXT_MAX 255       /* a label, fs or version filter */
#define ROLE_DISK_INDEX_MAX 1023

/* A byte count: an integer, or a string with K/M/G/T ("60G"). */
static int get_bytes(json_object *o, const char *key, uint64_t *v, const char *where,
                     p2v_err *err)
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || !x ||
        json_object_get_type(x) != json_type_string)
        return planfile_get_u64(o, key, true, PLAN_MAX_DISK_BYTES, v, where, err);
    if (size_parse(json_object_get_string(x), v) < 0 || *v > PLAN_MAX_DISK_BYTES)
        return p2v_errf(err, -EINVAL, "plan: %s: \"%s\" must be bytes or a SIZE such as "
                                      "\"60G\"", where, key);
    return 0;
}

/* A filter string: not empty, at most ROLE_TEXT_MAX bytes; copied to *dup. */
static int get_text(json_object *o, const char *key, char **dup, const char *where,
                    p2v_err *err)
{
    const char *s;
    int r = planfile_get_str(o, key, true, &s, where, err);
    if (r < 0 || !s)
        return r;
    if (!*s || strlen(s) > ROLE_TEXT_MAX)
        return p2v_errf(err, -EINVAL, "plan: %s: \"%s\" must hold 1 to %d bytes", where, key,
                        ROLE_TEXT_MAX);
    if (!(*dup = strdup(s)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

/* "disk": "system", "other" or an index into the disks at hand. */
static int parse_disk(json_object *o, struct role_sel *s, const char *where, p2v_err *err)
{
    json_object *x;
    uint64_t n;
    s->disk = ROLE_DISK_ANY;
    if (!json_object_object_get_ex(o, "disk", &x) || !x ||
        json_object_get_type(x) == json_type_null)
        return 0;
    if (json_object_get_type(x) == json_type_string) {
        const char *v = json_object_get_string(x);
        if (!strcmp(v, "system") || !strcmp(v, "other")) {
            s->disk = !strcmp(v, "system") ? ROLE_DISK_SYSTEM : ROLE_DISK_OTHER;
            return 0;
        }
        return p2v_errf(err, -EINVAL, "plan: %s: \"disk\" must be \"system\", \"other\" or "
                                      "an index", where);
    }
    int r = planfile_get_u64(o, "disk", false, ROLE_DISK_INDEX_MAX, &n, where, err);
    if (r == 0)
        s->disk = (int)n;
    return r;
}

/* "size": "min", "grow", bytes or a SIZE. */
static int parse_size(json_object *o, convert_planfile_role *e, const char *where, p2v_err *err)
{
    json_object *x;
    if (!json_object_object_get_ex(o, "size", &x) || !x ||
        json_object_get_type(x) == json_type_null)
        return 0;
    if (json_object_get_type(x) == json_type_string) {
        const char *v = json_object_get_string(x);
        if (!(e->size_text = strdup(v)))
            return p2v_errf(err, -ENOMEM, "out of memory");
        e->sel.size = e->size_text;
        if (!strcmp(v, "min"))
            return e->new_size_min = true, 0;
        if (!strcmp(v, "grow"))
            return e->grow = true, 0;
    }
    int r = get_bytes(o, "size", &e->new_size, where, err);
    if (r < 0)
        return p2v_errf(err, -EINVAL, "plan: %s: \"size\" must be \"min\", \"grow\", bytes or "
                                      "a SIZE such as \"60G\"", where);
    if (e->new_size == 0)
        return p2v_errf(err, -EINVAL, "plan: %s: \"size\" must be more than 0", where);
    return 0;
}

static int parse_entry(json_object *o, convert_planfile_role *e, size_t i, p2v_err *err)
{
    static const char *const keys[] = { "role", "label", "fs", "min_size", "max_size", "disk",
                                        "version", "size", "optional", NULL };
    char where[48];
    const char *role;
    struct role_sel *s = &e->sel;
    int r;
    snprintf(where, sizeof where, "select[%zu]", i);
    if (json_object_get_type(o) != json_type_object)
        return p2v_errf(err, -EINVAL, "plan: %s must be an object", where);
    if ((r = planfile_check_keys(o, keys, where, err)) < 0 ||
        (r = planfile_get_str(o, "role", false, &role, where, err)) < 0)
        return r;
    if (role_parse(role, &s->role) < 0)
        return p2v_errf(err, -EINVAL, "plan: %s: \"role\": unknown role \"%.64s\" (boot, "
                                      "windows, recovery, data, oem, swap or linux)", where,
                        role);
    if ((r = get_text(o, "label", &e->label, where, err)) < 0 ||
        (r = get_text(o, "fs", &e->fs, where, err)) < 0 ||
        (r = get_text(o, "version", &e->version, where, err)) < 0 ||
        (r = get_bytes(o, "min_size", &s->min_size, where, err)) < 0 ||
        (r = get_bytes(o, "max_size", &s->max_size, where, err)) < 0 ||
        (r = parse_disk(o, s, where, err)) < 0 ||
        (r = parse_size(o, e, where, err)) < 0 ||
        (r = planfile_get_bool(o, "optional", &s->optional, where, err)) < 0)
        return r;
    if (e->version && s->role != ROLE_WINDOWS)
        return p2v_errf(err, -EINVAL, "plan: %s: \"version\" filters windows entries only",
                        where);
    if (s->max_size && s->min_size > s->max_size)
        return p2v_errf(err, -EINVAL, "plan: %s: \"min_size\" is larger than \"max_size\"",
                        where);
    s->label = e->label;
    s->fs = e->fs;
    s->version = e->version;
    return 0;
}

int planfile_parse_roles(json_object *root, convert_planfile *pf, p2v_err *err)
{
    static const char *const keys[] = { "p2v_plan", "output", "options", "select",
                                        "keep_order", NULL };
    json_object *opts, *sel;
    const char *output;
    int r;
    if ((r = planfile_check_keys(root, keys, "top level", err)) < 0 ||
        (r = planfile_get_str(root, "output", true, &output, "top level", err)) < 0 ||
        (r = planfile_get(root, "options", json_type_object, true, &opts, "top level",
                          err)) < 0 ||
        (opts && (r = planfile_parse_options(opts, pf, err)) < 0) ||
        (r = planfile_get_bool(root, "keep_order", &pf->keep_order, "top level", err)) < 0 ||
        (r = planfile_get(root, "select", json_type_array, false, &sel, "top level", err)) < 0)
        return r;
    if (output && !*output)
        return p2v_errf(err, -EINVAL, "plan: \"output\" is empty (null for none)");
    if (output && !(pf->output = strdup(output)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    pf->nroles = json_object_array_length(sel);
    if (pf->nroles == 0 || pf->nroles > PLANFILE_ROLES_MAX)
        return p2v_errf(err, -EINVAL, "plan: \"select\" has %zu entries (1 to %d)", pf->nroles,
                        PLANFILE_ROLES_MAX);
    if (!(pf->roles = calloc(pf->nroles, sizeof *pf->roles)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < pf->nroles; i++) {
        if ((r = parse_entry(json_object_array_get_idx(sel, i), &pf->roles[i], i, err)) < 0)
            return r;
        if (pf->roles[i].grow && !pf->rq.plan.size)
            return p2v_errf(err, -EINVAL, "plan: select[%zu]: \"size\": \"grow\" needs "
                                          "options.size (the disk size to grow into)", i);
    }
    return 0;
}

void planfile_roles_free(convert_planfile *pf)
{
    for (size_t i = 0; pf->roles && i < pf->nroles; i++) {
        free(pf->roles[i].label);
        free(pf->roles[i].fs);
        free(pf->roles[i].version);
        free(pf->roles[i].size_text);
    }
    free(pf->roles);
    for (size_t i = 0; pf->picks && i < pf->npicks; i++)
        free(pf->picks[i].disk);
    free(pf->picks);
}
