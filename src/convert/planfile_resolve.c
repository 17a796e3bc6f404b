/* Plan files: finding the plan's disks again on this machine, by path and
 * identity, and checking that each selected partition is still where it was
 * (docs/plan-files.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "convert/planfile_impl.h"

/* ---- identity of an open disk ---- */

static void table_id(const ptable *t, char *out, size_t len)
{
    if (t->type == PTABLE_MBR)
        snprintf(out, len, "0x%08x", t->mbr_signature);
    else if (t->type == PTABLE_GPT)
        guid_format(&t->disk_guid, out);
    else
        out[0] = '\0';
}

void planfile_disk_identity(const convert_disk *d, convert_planfile_disk *out)
{
    out->size = bd_size(d->bd);
    out->sector_size = d->pt->sector_size;
    out->table = d->pt->type;
    table_id(d->pt, out->id, sizeof out->id);
}

void planfile_part_type(const ptable *t, const ptable_part *p, char *out, size_t len)
{
    if (t->type == PTABLE_GPT)
        guid_format(&p->type_guid, out);
    else
        snprintf(out, len, "0x%02x", p->mbr_type);
}

static bool identity_matches(const convert_planfile_disk *want, const convert_disk *d)
{
    convert_planfile_disk have;
    planfile_disk_identity(d, &have);
    return have.size == want->size && have.sector_size == want->sector_size &&
           have.table == want->table && !strcasecmp(have.id, want->id);
}

static void describe(const convert_planfile_disk *d, char *out, size_t len)
{
    snprintf(out, len, "%s %s%s%llu bytes", ptable_type_str(d->table), d->id,
             d->id[0] ? ", " : "", (unsigned long long)d->size);
}

/* Open PATH the way the plan was made (its sector size) and compare. */
static bool disk_at(const char *path, const convert_planfile_disk *want)
{
    convert_disk_opts o = { .sector_size = want->sector_size };
    convert_disk *d;
    p2v_err e;
    struct stat st;
    if (stat(path, &st) < 0 || convert_disk_open(path, &o, &d, &e) < 0)
        return false;
    bool ok = identity_matches(want, d);
    convert_disk_free(d);
    return ok;
}

static int find_elsewhere(convert_planfile *pf, size_t i, const char *const *cand, size_t ncand,
                          const convert_events *ev, p2v_err *err)
{
    const convert_planfile_disk *want = &pf->disks[i];
    char **machine = NULL, what[160];
    size_t nmachine = 0, found = SIZE_MAX, nfound = 0;
    int r;
    describe(want, what, sizeof what);
    if (!cand) {
        if ((r = bd_list_machine_disks(&machine, &nmachine, err)) < 0)
            return r;
        cand = (const char *const *)machine;
        ncand = nmachine;
    }
    for (size_t k = 0; k < ncand; k++)
        if (strcmp(cand[k], want->path) && disk_at(cand[k], want)) {
            found = found == SIZE_MAX ? k : found;
            nfound++;
        }
    if (nfound == 1) {
        pf->resolved[i] = strdup(cand[found]);
        r = pf->resolved[i] ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
        if (r == 0)
            convert_say(ev, CONVERT_NOTICE, "plan disk %zu (%s) was %s, is now %s", i + 1, what,
                        want->path, cand[found]);
    } else if (nfound == 0) {
        r = p2v_errf(err, -ENOENT, "plan disk %zu (%s, was %s): no disk with this identity "
                                   "found; it changed or is not connected", i + 1, what,
                     want->path);
    } else {
        r = p2v_errf(err, -ENOTUNIQ, "plan disk %zu (%s, was %s): %zu disks have this "
                                     "identity (%s, ...); connect only one", i + 1, what,
                     want->path, nfound, cand[found]);
    }
    bd_list_free(machine, nmachine);
    return r;
}

/* Each selected partition must be where the plan saw it. */
static int check_partitions(const convert_planfile *pf, p2v_err *err)
{
    for (size_t i = 0; i < pf->nsels; i++) {
        const convert_planfile_sel *s = &pf->sels[i];
        const char *path = pf->resolved[s->disk];
        convert_disk_opts o = { .sector_size = pf->disks[s->disk].sector_size };
        convert_disk *d;
        int r = convert_disk_open(path, &o, &d, err);
        if (r < 0)
            return r;
        const ptable_part *p = ptable_find(d->pt, s->number);
        char type[64] = "";
        if (p)
            planfile_part_type(d->pt, p, type, sizeof type);
        if (!p || p->start != s->start || p->size != s->size || strcasecmp(type, s->type)) {
            char now[160] = "no such partition";
            if (p)
                snprintf(now, sizeof now, "start %llu, %llu sectors, type %s",
                         (unsigned long long)p->start, (unsigned long long)p->size, type);
            r = p2v_errf(err, -ESTALE,
                         "%s:%u: the partition changed since the plan was made (plan: start "
                         "%llu, %llu sectors, type %s; now: %s)", path, s->number,
                         (unsigned long long)s->start, (unsigned long long)s->size, s->type, now);
        }
        convert_disk_free(d);
        if (r < 0)
            return r;
    }
    return 0;
}

int convert_planfile_resolve(convert_planfile *pf, const char *const *candidates,
                             size_t ncandidates, const convert_events *ev, p2v_err *err)
{
    int r;
    if (pf->version == CONVERT_PLANFILE_ROLES)
        return convert_planfile_resolve_roles(pf, candidates, ncandidates, ev, err);
    if (!pf->resolved && !(pf->resolved = calloc(pf->ndisks, sizeof *pf->resolved)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < pf->ndisks; i++) {
        free(pf->resolved[i]);
        pf->resolved[i] = NULL;
        if (disk_at(pf->disks[i].path, &pf->disks[i])) {
            if (!(pf->resolved[i] = strdup(pf->disks[i].path)))
                return p2v_errf(err, -ENOMEM, "out of memory");
            continue;
        }
        if ((r = find_elsewhere(pf, i, candidates, ncandidates, ev, err)) < 0)
            return r;
    }
    return check_partitions(pf, err);
}

