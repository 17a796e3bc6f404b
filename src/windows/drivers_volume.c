/* The driver step on one NTFS volume holding Windows: read its hives, plan,
 * and carry the plan out through ntvol (over a copy-on-write overlay). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/ntvol.h"
#include "windows/drivers_edits.h"
#include "windows/network.h"
#include "windows/windows.h"

#define HIVE_SYSTEM "/Windows/System32/config/SYSTEM"
#define HIVE_SOFTWARE "/Windows/System32/config/SOFTWARE"
#define HIVE_DRIVERS "/Windows/System32/config/DRIVERS"
#define HIVE_MAX ((size_t)1 << 30)
#define CURRENT_VERSION "Microsoft\\Windows NT\\CurrentVersion"

/* Releases by their first build, for a SOFTWARE hive that names nothing
 * but its build (newest first). */
static const struct { unsigned build, major, minor; } release_builds[] = {
    {10240, 10, 0}, {9600, 6, 3}, {9200, 6, 2}, {7600, 6, 1}, {6000, 6, 0}, {3790, 5, 2},
    {2600, 5, 1},
};

static bool version_from_build(unsigned build, drv_windows *w)
{
    for (size_t i = 0; i < sizeof release_builds / sizeof release_builds[0]; i++)
        if (build >= release_builds[i].build) {
            w->major = release_builds[i].major;
            w->minor = release_builds[i].minor;
            return true;
        }
    return false;
}

/* Whatever SOFTWARE tells: CurrentMajorVersionNumber (Windows 10+; its
 * minor from CurrentMinorVersionNumber, or from CurrentVersion when that
 * names the same major, else 0), else CurrentVersion ("6.1"; Windows 10
 * keeps "6.3" there for old programs, so it comes second), else the build
 * alone. None of them: version_unknown, which only the choice of drivers
 * needs. */
static void read_version(win_hive *software, drv_windows *w)
{
    uint32_t major = 0, minor = 0;
    unsigned a = 0, b = 0;
    char cv[32] = "", build[32] = "", type[64] = "", product[128] = "";
    bool has_cv = win_hive_get_string(software, CURRENT_VERSION, "CurrentVersion", cv,
                                      sizeof cv) == 0 && sscanf(cv, "%u.%u", &a, &b) == 2;
    if (win_hive_get_string(software, CURRENT_VERSION, "CurrentBuild", build, sizeof build) != 0)
        win_hive_get_string(software, CURRENT_VERSION, "CurrentBuildNumber", build, sizeof build);
    win_hive_get_string(software, CURRENT_VERSION, "InstallationType", type, sizeof type);
    win_hive_get_string(software, CURRENT_VERSION, "ProductName", product, sizeof product);
    w->build = (unsigned)strtoul(build, NULL, 10);
    w->server = strncasecmp(type, "Server", 6) == 0 || strstr(product, "Server") != NULL;
    if (win_hive_get_dword(software, CURRENT_VERSION, "CurrentMajorVersionNumber", &major) == 0) {
        w->major = major;
        if (win_hive_get_dword(software, CURRENT_VERSION, "CurrentMinorVersionNumber", &minor) == 0)
            w->minor = minor;
        else
            w->minor = has_cv && a == major ? b : 0;
    } else if (has_cv) {
        w->major = a;
        w->minor = b;
    } else if (!version_from_build(w->build, w)) {
        w->version_unknown = true;
    }
}

static int read_arch(win_hive *system, drv_windows *w, p2v_err *err)
{
    uint32_t cur = 0;
    char key[128], arch[32] = "";
    if (win_hive_get_dword(system, "Select", "Current", &cur) != 0)
        return p2v_errf_at(err, -ENOENT, win_hive_what(system), "no Select\\Current in SYSTEM");
    snprintf(key, sizeof key, "ControlSet%03u\\Control\\Session Manager\\Environment", cur);
    if (win_hive_get_string(system, key, "PROCESSOR_ARCHITECTURE", arch, sizeof arch) != 0)
        return p2v_errf_at(err, -ENOENT, win_hive_what(system),
                           "no %s\\PROCESSOR_ARCHITECTURE in SYSTEM", key);
    if (strcasecmp(arch, "AMD64") == 0)
        w->arch = DRV_ARCH_AMD64;
    else if (strcasecmp(arch, "x86") == 0)
        w->arch = DRV_ARCH_X86;
    else
        return p2v_errf_at(err, -ENOTSUP, win_hive_what(system),
                           "Windows for %s: p2v installs drivers for amd64 and x86 only", arch);
    return 0;
}

int drv_windows_from_hives(win_hive *system, win_hive *software, drv_windows *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    read_version(software, out);
    return read_arch(system, out, err);
}

static int open_hive(ntvol *v, const char *what, const char *path, bool writable, win_hive **out,
                     p2v_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = ntvol_read_file(v, path, HIVE_MAX, &data, &len, err);
    if (rc == 0) {
        char name[256];
        snprintf(name, sizeof name, "%s %s", what, path);
        rc = win_hive_open(data, len, writable, name, out, err);
    }
    free(data);
    return rc;
}

/* A Windows whose version cannot be told gets the built-in controllers
 * only: choosing drivers needs the version. */
static int refuse_unknown(const drv_windows *w, drv_tree *tree, enum drv_bus bus,
                          const char *what, p2v_err *err)
{
    if (!w->version_unknown || (!tree && !drv_bus_service(bus)))
        return 0;
    return p2v_errf(err, -ENOENT, "%s: the Windows version cannot be told (SOFTWARE has no "
                    "CurrentMajorVersionNumber, CurrentVersion or CurrentBuild): p2v cannot "
                    "choose %s for it", what, tree ? "drivers from --drivers" : "a virtio driver");
}

int drv_job_prepare_hives(win_hive *system, win_hive *software, win_hive *drivers,
                          drv_tree *tree, enum drv_bus bus, drv_job *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = drv_windows_from_hives(system, software, &out->win, err);
    if (rc == 0)
        rc = refuse_unknown(&out->win, tree, bus, win_hive_what(software), err);
    if (rc == 0 && tree) {
        rc = drv_select(tree, &out->win, &out->sel, err);
        out->has_sel = rc == 0;
    }
    if (rc == 0)
        rc = drv_check_bus(bus, out->has_sel ? &out->sel : NULL, &out->win, err);
    if (rc == 0)
        rc = drv_plan_build(&out->win, out->has_sel ? &out->sel : NULL, tree, win_hive_h(system),
                            drivers ? win_hive_h(drivers) : NULL, &out->plan, err);
    if (rc < 0)
        drv_job_free(out);
    return rc;
}

/* The old PC's network settings, and with keep their first-boot step
 * (the wired interface's settings to the adapter with mac, when given). */
static int network_step(hive_h *system, bool keep, const char *mac, drv_job *out, p2v_err *err)
{
    out->net = calloc(1, sizeof *out->net);
    if (!out->net)
        return p2v_errf(err, -ENOMEM, "out of memory");
    out->net_keep = keep;
    int rc = net_read(system, out->net, err);
    if (rc == 0 && mac)
        net_match_mac(out->net, mac);
    return rc < 0 ? rc : net_plan(out->net, &out->win, keep, &out->plan, err);
}

static int volume_has(void *ctx, const char *path, p2v_err *err)
{
    bool exists = false, isdir = false;
    int rc = ntvol_stat(ctx, path, &exists, &isdir, NULL, err);
    return rc < 0 ? rc : exists && !isdir;
}

int drv_job_prepare(ntvol *v, const char *what, drv_tree *tree, enum drv_bus bus, unsigned flags,
                    const char *mac, drv_job *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    win_hive *sys = NULL, *soft = NULL, *drivers = NULL;
    bool has_drivers = false, isdir = false;
    int rc = open_hive(v, what, HIVE_SYSTEM, false, &sys, err);
    if (rc == 0)
        rc = open_hive(v, what, HIVE_SOFTWARE, false, &soft, err);
    if (rc == 0)
        rc = ntvol_stat(v, HIVE_DRIVERS, &has_drivers, &isdir, NULL, err);
    if (rc == 0 && has_drivers && !isdir)
        rc = open_hive(v, what, HIVE_DRIVERS, false, &drivers, err);
    if (rc == 0)
        rc = drv_job_prepare_hives(sys, soft, drivers, tree, bus, out, err);
    if (rc == 0) {
        rc = drv_leftovers_plan(win_hive_h(sys), volume_has, v, flags & DRV_JOB_KEEP_SERVICES,
                                &out->plan, err);
        if (rc == 0)
            rc = network_step(win_hive_h(sys), !(flags & DRV_JOB_NETWORK_DHCP), mac, out, err);
        if (rc < 0)
            drv_job_free(out);
    }
    win_hive_close(sys);
    win_hive_close(soft);
    win_hive_close(drivers);
    return rc;
}

void drv_job_free(drv_job *job)
{
    if (!job)
        return;
    if (job->has_sel)
        drv_selection_free(&job->sel);
    drv_plan_free(&job->plan);
    if (job->net)
        net_config_free(job->net);
    free(job->net);
    job->net = NULL;
    job->has_sel = false;
}

/* "/Windows/p2v/drivers/netkvm/x.sys" from "Windows\p2v\drivers\netkvm\x.sys". */
static char *volume_path(const char *dst)
{
    char *p = drv_strcat3("/", dst, "");
    for (char *c = p; c && *c; c++)
        if (*c == '\\')
            *c = '/';
    return p;
}

/* Make every directory above the file at path. */
static int make_parents(ntvol *v, char *path, p2v_err *err)
{
    for (char *c = path + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        int rc = ntvol_mkdir(v, path, err);
        *c = '/';
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int copy_one(ntvol *v, drv_tree *tree, const drv_copy *c, p2v_err *err)
{
    char *path = volume_path(c->dst);
    uint8_t *buf = NULL;
    size_t len = c->len;
    int rc = path ? make_parents(v, path, err) : p2v_errf(err, -ENOMEM, "out of memory");
    if (rc == 0 && c->src >= 0)
        rc = tree ? drv_tree_read(tree, (size_t)c->src, &buf, &len, err)
                  : p2v_errf(err, -EINVAL, "%s: no driver tree to copy from", c->dst);
    if (rc == 0)
        rc = ntvol_write_file(v, path, c->src >= 0 ? buf : c->data, len, err);
    free(buf);
    free(path);
    return rc;
}

static int edit_hive(ntvol *v, const char *what, const char *path, const drv_job *job,
                     enum drv_hive which, p2v_err *err)
{
    bool any = false;
    for (size_t i = 0; i < job->plan.nedits; i++)
        any |= job->plan.edits[i].hive == which;
    if (!any)
        return 0;
    win_hive *h = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = open_hive(v, what, path, true, &h, err);
    if (rc == 0)
        rc = drv_edits_apply(&job->plan, which, win_hive_h(h), err);
    if (rc == 0)
        rc = win_hive_save(h, &data, &len, err);
    if (rc == 0)
        rc = ntvol_write_file(v, path, data, len, err);
    free(data);
    win_hive_close(h);
    if (rc < 0)
        p2v_err_prefix(err, rc, "%s: %s", what, path);
    return rc;
}

int drv_job_apply(ntvol *v, const char *what, drv_tree *tree, const drv_job *job, p2v_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < job->plan.ncopies; i++)
        rc = copy_one(v, tree, &job->plan.copies[i], err);
    if (rc < 0)
        return p2v_err_prefix(err, rc, "%s: writing the drivers", what);
    rc = edit_hive(v, what, HIVE_SYSTEM, job, DRV_HIVE_SYSTEM, err);
    if (rc == 0)
        rc = edit_hive(v, what, HIVE_SOFTWARE, job, DRV_HIVE_SOFTWARE, err);
    if (rc == 0)
        rc = edit_hive(v, what, HIVE_DRIVERS, job, DRV_HIVE_DRIVERS, err);
    return rc;
}
