/* Choosing the drivers of a virtio-win tree for one Windows, and what a disk
 * bus needs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows/drivers_impl.h"

#define INF_MAX ((size_t)4 << 20)

static const struct {
    const char *service;
    enum drv_role role;
} wanted[] = {
    {"viostor", DRV_ROLE_BOOT},        {"vioscsi", DRV_ROLE_BOOT},
    {"netkvm", DRV_ROLE_FIRSTBOOT},    {"balloon", DRV_ROLE_FIRSTBOOT},
    {"VirtioSerial", DRV_ROLE_FIRSTBOOT}, {"vioser", DRV_ROLE_FIRSTBOOT},
};

bool drv_wanted_service(const char *service, enum drv_role *role)
{
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (strcasecmp(service, wanted[i].service) == 0) {
            if (role)
                *role = wanted[i].role;
            return true;
        }
    return false;
}

/* An INF of the tree placed in an OS and arch directory. */
typedef struct cand {
    size_t index;
    const char *name;       /* file name of the .inf */
    const drv_os_dir *os;
    long pref;              /* higher is preferred */
} cand;

static bool ends_with_inf(const char *p)
{
    size_t n = strlen(p);
    return n > 4 && strcasecmp(p + n - 4, ".inf") == 0;
}

/* The OS and arch directories among the components of path (before the
 * file name); false when either is missing. */
static bool path_os_arch(const char *path, const drv_os_dir **os, int *arch)
{
    *os = NULL;
    *arch = -1;
    char comp[64];
    for (const char *p = path; *p;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            break; /* the file name itself */
        size_t n = (size_t)(slash - p);
        if (n < sizeof comp) {
            memcpy(comp, p, n);
            comp[n] = '\0';
            const drv_os_dir *o = drv_os_dir_find(comp);
            int a = drv_arch_token(comp);
            if (o)
                *os = o;
            if (a >= 0)
                *arch = a;
        }
        p = slash + 1;
    }
    return *os && *arch >= 0;
}

/* The OS directory that is w's own: the newest of its edition not newer than w. */
static const drv_os_dir *own_os_dir(const drv_windows *w)
{
    static const char *names[] = {"xp", "2k3", "vista", "2k8", "w7", "2k8r2", "w8", "2k12",
                                  "w8.1", "2k12r2", "w10", "2k16", "2k19", "2k22", "w11", "2k25"};
    const drv_os_dir *own = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const drv_os_dir *d = drv_os_dir_find(names[i]);
        if (d->server == w->server &&
            drv_os_cmp(d->major, d->minor, d->build, w->major, w->minor, w->build) <= 0)
            own = d;
    }
    return own;
}

/* Preference of an OS directory for w, or -1 when it is newer than w: the
 * same edition before the other, then the newest. */
static long os_pref(const drv_os_dir *d, const drv_windows *w)
{
    if (drv_os_cmp(d->major, d->minor, d->build, w->major, w->minor, w->build) > 0)
        return -1;
    long v = (long)d->major << 28 | (long)d->minor << 20 | (long)d->build;
    return (d->server == w->server ? 1L << 40 : 0) + v;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    int c = strcasecmp(x->name, y->name);
    if (c)
        return c;
    return x->pref > y->pref ? -1 : x->pref < y->pref ? 1 : (x->index < y->index ? -1 : 1);
}

static int collect(const drv_tree *t, const drv_windows *w, cand **out, size_t *n)
{
    cand *c = calloc(drv_tree_count(t) + 1, sizeof *c);
    if (!c)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < drv_tree_count(t); i++) {
        const char *p = drv_tree_path(t, i);
        const drv_os_dir *os;
        int arch;
        if (!ends_with_inf(p) || !path_os_arch(p, &os, &arch) || arch != (int)w->arch)
            continue;
        long pref = os_pref(os, w);
        if (pref < 0)
            continue;
        const char *slash = strrchr(p, '/');
        c[k++] = (cand){i, slash ? slash + 1 : p, os, pref};
    }
    qsort(c, k, sizeof *c, cand_cmp);
    *out = c;
    *n = k;
    return 0;
}

static int read_package(drv_tree *t, const cand *c, const drv_windows *w, drv_package *pkg,
                        p2v_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = drv_tree_read(t, c->index, &buf, &len, err);
    if (rc < 0)
        return rc;
    inf *f = NULL;
    if (len > INF_MAX)
        rc = p2v_errf(err, -EFBIG, "%s: too large for an INF file", drv_tree_path(t, c->index));
    else
        rc = inf_parse(buf, len, drv_tree_path(t, c->index), &f, err);
    free(buf);
    if (rc == 0)
        rc = drv_package_from_inf(f, drv_tree_path(t, c->index), w, pkg, err);
    inf_free(f);
    return rc;
}

static int add_choice(drv_selection *s, drv_package *pkg, enum drv_role role, const cand *c,
                      const drv_windows *w)
{
    drv_choice *n = realloc(s->v, (s->n + 1) * sizeof *n);
    if (!n)
        return -ENOMEM;
    s->v = n;
    drv_choice *ch = &s->v[s->n++];
    memset(ch, 0, sizeof *ch);
    ch->pkg = *pkg;
    ch->role = role;
    snprintf(ch->os_dir, sizeof ch->os_dir, "%s", c->os->name);
    ch->fallback = c->os != own_os_dir(w);
    return 0;
}

/* For each INF name, the most preferred copy that reads and installs on w
 * decides: taken when its service is wanted (and not chosen yet), else the
 * name is passed over. A damaged INF, or one with no models for w, gives way
 * to the next OS directory: the tree is not p2v's to fix. */
static int choose(drv_tree *t, const drv_windows *w, const cand *c, size_t n, drv_selection *s,
                  p2v_err *err)
{
    bool decided = false;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcasecmp(c[i].name, c[i - 1].name) != 0)
            decided = false;
        if (decided)
            continue;
        drv_package pkg;
        p2v_err ignored;
        int rc = read_package(t, &c[i], w, &pkg, &ignored);
        if (rc == -ENOMEM)
            return p2v_errf(err, rc, "%s", ignored.msg);
        if (rc < 0)
            continue;
        decided = true;
        enum drv_role role;
        if (!drv_wanted_service(pkg.service.name, &role) ||
            drv_selection_find(s, pkg.service.name)) {
            drv_package_free(&pkg);
            continue;
        }
        if (add_choice(s, &pkg, role, &c[i], w) < 0) {
            drv_package_free(&pkg);
            return -ENOMEM;
        }
    }
    return 0;
}

static size_t wanted_rank(const char *service)
{
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (strcasecmp(service, wanted[i].service) == 0)
            return i;
    return sizeof wanted / sizeof wanted[0];
}

/* Choices in the order of the wanted table (viostor first), not of INF names. */
static int choice_cmp(const void *a, const void *b)
{
    size_t x = wanted_rank(((const drv_choice *)a)->pkg.service.name);
    size_t y = wanted_rank(((const drv_choice *)b)->pkg.service.name);
    return x < y ? -1 : x > y;
}

static long find_agent(const drv_tree *t, const drv_windows *w)
{
    const char *want = w->arch == DRV_ARCH_AMD64 ? "qemu-ga-x86_64.msi" : "qemu-ga-i386.msi";
    for (size_t i = 0; i < drv_tree_count(t); i++) {
        const char *p = drv_tree_path(t, i);
        const char *slash = strrchr(p, '/');
        if (strcasecmp(slash ? slash + 1 : p, want) == 0)
            return (long)i;
    }
    return -1;
}

int drv_select(drv_tree *t, const drv_windows *w, drv_selection *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    out->win = *w;
    out->agent = -1;
    cand *c = NULL;
    size_t n = 0;
    int rc = collect(t, w, &c, &n);
    if (rc == 0)
        rc = choose(t, w, c, n, out, err);
    free(c);
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "%s: out of memory choosing drivers", drv_tree_name(t));
    if (rc == 0 && out->n == 0) {
        char desc[96];
        drv_windows_describe(w, desc, sizeof desc);
        rc = p2v_errf(err, -ENOENT, "%s: no driver for %s (looked for viostor, vioscsi, netkvm, "
                      "balloon, vioserial under <driver>/<os>/<arch>/ and <arch>/<os>/)",
                      drv_tree_name(t), desc);
    }
    if (rc < 0) {
        drv_selection_free(out);
        return rc;
    }
    qsort(out->v, out->n, sizeof *out->v, choice_cmp);
    out->agent = find_agent(t, w);
    return 0;
}

void drv_selection_free(drv_selection *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        drv_package_free(&s->v[i].pkg);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

const drv_choice *drv_selection_find(const drv_selection *s, const char *service)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcasecmp(s->v[i].pkg.service.name, service) == 0)
            return &s->v[i];
    return NULL;
}

static const char *const bus_names[] = {"none", "virtio-blk", "virtio-scsi", "sata", "ide"};

int drv_bus_parse(const char *s, enum drv_bus *bus)
{
    for (size_t i = 1; i < sizeof bus_names / sizeof bus_names[0]; i++)
        if (strcmp(s, bus_names[i]) == 0) {
            *bus = (enum drv_bus)i;
            return 0;
        }
    return -EINVAL;
}

const char *drv_bus_name(enum drv_bus bus)
{
    return (size_t)bus < sizeof bus_names / sizeof bus_names[0] ? bus_names[bus] : "?";
}

const char *drv_bus_service(enum drv_bus bus)
{
    return bus == DRV_BUS_VIRTIO_BLK ? "viostor" : bus == DRV_BUS_VIRTIO_SCSI ? "vioscsi" : NULL;
}

int drv_check_bus(enum drv_bus bus, const drv_selection *sel, const drv_windows *w, p2v_err *err)
{
    const char *svc = drv_bus_service(bus);
    if (!svc || drv_selection_find(sel, svc))
        return 0;
    char desc[96];
    drv_windows_describe(w, desc, sizeof desc);
    if (!sel)
        return p2v_errf(err, -ENOENT, "--target-bus %s needs the %s driver for %s: give a "
                        "virtio-win tree or ISO with --drivers", drv_bus_name(bus), svc, desc);
    return p2v_errf(err, -ENOENT, "--target-bus %s needs the %s driver for %s, and the driver "
                    "tree has none for it", drv_bus_name(bus), svc, desc);
}
