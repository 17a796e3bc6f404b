/* Leftovers of the old PC that stop or trouble Windows on a VM: storage and
 * volume filter drivers that cannot load (their binary is gone, or they
 * serve a controller the VM lacks), and services of other virtualisers'
 * guest tools and of vendor storage managers. Planned as registry edits
 * (docs/windows.md has the tables). */
#include <errno.h>
#include <hivex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows/drivers_edits.h"

/* The classes whose filters sit on the boot path: a filter that fails to
 * load there fails the device, and with it the boot (0x7B). */
static const char *const boot_classes[] = {
    "{4d36e967-e325-11ce-bfc1-08002be10318}", /* disk drives */
    "{4d36e96a-e325-11ce-bfc1-08002be10318}", /* IDE/ATA controllers */
    "{4d36e97b-e325-11ce-bfc1-08002be10318}", /* SCSI and RAID controllers */
    "{71a27cdd-812a-11d0-bec7-08002be2092f}", /* volumes */
};

typedef struct leftover {
    const char *service;
    const char *why;
} leftover;

/* Filters of hardware a VM does not have. */
static const leftover hardware_filters[] = {
    {"iaStorF", "Intel Rapid Storage Technology filter: needs the Intel RST/RAID controller"},
};

/* Services with nothing to serve on a VM (virt-v2v removes VMware Tools at
 * first boot for the same reason). Only services that are no class filter:
 * disabling a filter would fail its whole device class. */
static const leftover vm_lacks[] = {
    {"VMTools", "VMware Tools service"},
    {"vmvss", "VMware Tools snapshot provider"},
    {"VGAuthService", "VMware Tools alias manager"},
    {"VBoxService", "VirtualBox Guest Additions service"},
    {"VBoxGuest", "VirtualBox Guest Additions driver (VirtualBox's PCI device)"},
    {"IAStorDataMgrSvc", "Intel Rapid Storage Technology management service"},
};

static const char *table_why(const leftover *t, size_t n, const char *service)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t[i].service, service) == 0)
            return t[i].why;
    return NULL;
}

/* The volume path of a service's binary from its ImagePath ("system32\...",
 * "\SystemRoot\...", "%SystemRoot%\...", "\??\C:\..."); its default
 * \Windows\System32\drivers\<service>.sys when there is none. NULL when the
 * path names something p2v cannot place (another drive). */
static char *binary_path(const char *service, const char *image)
{
    static const struct { const char *prefix, *root; } roots[] = {
        {"\\SystemRoot\\", "/Windows/"}, {"%SystemRoot%\\", "/Windows/"},
        {"%windir%\\", "/Windows/"},     {"\\??\\C:\\", "/"},
        {"C:\\", "/"},                   {"system32\\", "/Windows/system32/"},
    };
    if (!image || !*image)
        return drv_strf("/Windows/System32/drivers/%s.sys", service);
    char *out = NULL;
    for (size_t i = 0; !out && i < sizeof roots / sizeof roots[0]; i++) {
        size_t n = strlen(roots[i].prefix);
        if (strncasecmp(image, roots[i].prefix, n) == 0)
            out = drv_strcat3(roots[i].root, image + n, "");
    }
    for (char *c = out; c && *c; c++)
        if (*c == '\\')
            *c = '/';
    return out;
}

typedef struct lo_ctx {
    hive_h *h;
    drv_file_exists_fn exists;
    void *ctx;
    bool keep_services;
    drv_plan *p;
    p2v_err *err;
} lo_ctx;

/* Why filter (a service name) of ControlSet cs must go, into why ("" to
 * keep it). A filter whose binary p2v cannot place is kept. */
static int filter_verdict(lo_ctx *c, unsigned cs, const char *filter, char *why, size_t cap)
{
    *why = '\0';
    const char *hw = c->keep_services ? NULL
                                      : table_why(hardware_filters, sizeof hardware_filters /
                                                  sizeof hardware_filters[0], filter);
    if (hw) {
        snprintf(why, cap, "%s", hw);
        return 0;
    }
    char *key = drv_strf("ControlSet%03u\\Services\\%s", cs, filter);
    hive_node_h svc = key ? win_hive_walk(c->h, 0, key, false) : 0;
    free(key);
    if (!svc) {
        snprintf(why, cap, "no service %s", filter);
        return 0;
    }
    hive_value_h iv = hivex_node_get_value(c->h, svc, "ImagePath");
    char *image = iv ? hivex_value_string(c->h, iv) : NULL;
    char *path = binary_path(filter, image);
    int r = 0;
    if (path) {
        r = c->exists(c->ctx, path, c->err);
        if (r == 0)
            snprintf(why, cap, "%s missing", path);
    }
    free(image);
    free(path);
    return r < 0 ? r : 0;
}

static int fix_filter_list(lo_ctx *c, unsigned cs, const char *cls, const char *name)
{
    char *key = drv_strf("ControlSet%03u\\Control\\Class\\%s", cs, cls);
    hive_node_h n = key ? win_hive_walk(c->h, 0, key, false) : 0;
    hive_value_h v = n ? hivex_node_get_value(c->h, n, name) : 0;
    char **list = v ? hivex_value_multiple_strings(c->h, v) : NULL;
    size_t count = 0, kept = 0, named = 0;
    while (list && list[count])
        count++;
    const char **keep = calloc(count + 1, sizeof *keep);
    char notes[1024] = "", why[300];
    int r = keep || !list ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && i < count; i++) {
        if (!*list[i])
            continue; /* the list's own end, as hivex reads some lists */
        named++;
        r = filter_verdict(c, cs, list[i], why, sizeof why);
        if (r == 0 && !*why)
            keep[kept++] = list[i];
        else if (r == 0)
            snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%sremoved %s: %s",
                     *notes ? "; " : "", list[i], why);
    }
    if (r == 0 && kept < named) {
        r = drv_edit_multi(c->p, DRV_HIVE_SYSTEM, key, name, keep, kept);
        if (r == 0)
            r = drv_edit_note(c->p, notes);
    }
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
    free(keep);
    free(key);
    return r;
}

static int disable_services(lo_ctx *c, unsigned cs)
{
    for (size_t i = 0; i < sizeof vm_lacks / sizeof vm_lacks[0]; i++) {
        char *key = drv_strf("ControlSet%03u\\Services\\%s", cs, vm_lacks[i].service);
        int r = key ? 0 : -ENOMEM;
        uint32_t start = 0;
        hive_node_h n = key ? win_hive_walk(c->h, 0, key, false) : 0;
        hive_value_h v = n ? hivex_node_get_value(c->h, n, "Start") : 0;
        if (v)
            start = (uint32_t)hivex_value_dword(c->h, v);
        if (r == 0 && n && start != 4) {
            r = drv_edit_dword(c->p, DRV_HIVE_SYSTEM, key, "Start", 4);
            char note[160];
            snprintf(note, sizeof note, "disabled: %s", vm_lacks[i].why);
            if (r == 0)
                r = drv_edit_note(c->p, note);
        }
        free(key);
        if (r < 0)
            return r;
    }
    return 0;
}

int drv_leftovers_plan(hive_h *system, drv_file_exists_fn exists, void *ctx, bool keep_services,
                       drv_plan *p, p2v_err *err)
{
    static const char *const lists[] = {"UpperFilters", "LowerFilters"};
    lo_ctx c = {system, exists, ctx, keep_services, p, err};
    int r = 0;
    for (size_t s = 0; r == 0 && s < p->ncontrolsets; s++) {
        for (size_t k = 0; r == 0 && k < sizeof boot_classes / sizeof boot_classes[0]; k++)
            for (size_t l = 0; r == 0 && l < 2; l++)
                r = fix_filter_list(&c, p->controlsets[s], boot_classes[k], lists[l]);
        if (r == 0 && !keep_services)
            r = disable_services(&c, p->controlsets[s]);
    }
    if (r == -ENOMEM)
        p2v_errf(err, r, "out of memory planning the leftover filters and services");
    return r;
}
