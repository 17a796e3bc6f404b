/* The dry run's account of the driver changes, as text and as JSON. */
#include <string.h>

#include "util/json.h"
#include "windows/drivers_impl.h"

static const char *hive_name(enum drv_hive h)
{
    return h == DRV_HIVE_SYSTEM ? "SYSTEM" : h == DRV_HIVE_SOFTWARE ? "SOFTWARE" : "DRIVERS";
}

static const char *type_name(uint32_t t)
{
    switch (t) {
    case DRV_REG_SZ: return "REG_SZ";
    case DRV_REG_EXPAND_SZ: return "REG_EXPAND_SZ";
    case DRV_REG_BINARY: return "REG_BINARY";
    case DRV_REG_DWORD: return "REG_DWORD";
    case DRV_REG_MULTI_SZ: return "REG_MULTI_SZ";
    default: return "?";
    }
}

static const char *role_name(enum drv_role r) { return r == DRV_ROLE_BOOT ? "boot" : "first-boot"; }

static const char *copy_source(const drv_tree *t, const drv_copy *c)
{
    return c->src >= 0 && t ? drv_tree_path(t, (size_t)c->src) : "(generated)";
}

static void text_drivers(const drv_selection *sel, const drv_tree *tree, FILE *f)
{
    if (!sel) {
        fprintf(f, "  virtio drivers: none (no --drivers)\n");
        return;
    }
    fprintf(f, "  virtio drivers from %s:\n", tree ? drv_tree_name(tree) : "?");
    for (size_t i = 0; i < sel->n; i++) {
        const drv_choice *c = &sel->v[i];
        char from[64] = "";
        if (c->fallback)
            snprintf(from, sizeof from, "  (nearest older OS directory: %s)", c->os_dir);
        fprintf(f, "    %-12s %-10s %s  version %s%s\n", c->pkg.service.name, role_name(c->role),
                c->pkg.inf_path, c->pkg.version ? c->pkg.version : "?", from);
        for (size_t k = 0; k < c->pkg.ndevices; k++)
            fprintf(f, "      for %s\n", c->pkg.devices[k].hwid);
    }
    if (sel->agent >= 0 && tree)
        fprintf(f, "    qemu-ga      first-boot %s\n", drv_tree_path(tree, (size_t)sel->agent));
}

void drv_report_text(const drv_windows *w, const drv_selection *sel, const drv_tree *tree,
                     const drv_plan *p, FILE *f)
{
    char desc[96];
    drv_windows_describe(w, desc, sizeof desc);
    fprintf(f, "Windows drivers for %s:\n", desc);
    text_drivers(sel, tree, f);
    fprintf(f, "  registry (ControlSets:");
    for (size_t i = 0; i < p->ncontrolsets; i++)
        fprintf(f, " %03u", p->controlsets[i]);
    fprintf(f, "):\n");
    for (size_t i = 0; i < p->nedits; i++) {
        const drv_edit *e = &p->edits[i];
        if (e->op == DRV_OP_DELETE_KEY)
            fprintf(f, "    %s\\%s  (key removed)\n", hive_name(e->hive), e->key);
        else
            fprintf(f, "    %s\\%s  %s = %s %s\n", hive_name(e->hive), e->key,
                    *e->name ? e->name : "(default)", type_name(e->type), e->shown);
    }
    if (p->ncopies)
        fprintf(f, "  files:\n");
    for (size_t i = 0; i < p->ncopies; i++)
        fprintf(f, "    \\%s  <- %s\n", p->copies[i].dst, copy_source(tree, &p->copies[i]));
}

static void json_windows(const drv_windows *w, json_writer *j)
{
    char desc[96];
    drv_windows_describe(w, desc, sizeof desc);
    json_key(j, "windows");
    json_obj_begin(j);
    json_kstr(j, "description", desc);
    json_ku64(j, "major", w->major);
    json_ku64(j, "minor", w->minor);
    json_ku64(j, "build", w->build);
    json_kbool(j, "version_known", !w->version_unknown);
    json_kbool(j, "server", w->server);
    json_kstr(j, "arch", w->arch == DRV_ARCH_AMD64 ? "amd64" : "x86");
    json_obj_end(j);
}

static void json_drivers(const drv_selection *sel, const drv_tree *tree, json_writer *j)
{
    json_key(j, "drivers");
    json_arr_begin(j);
    for (size_t i = 0; sel && i < sel->n; i++) {
        const drv_choice *c = &sel->v[i];
        json_obj_begin(j);
        json_kstr(j, "service", c->pkg.service.name);
        json_kstr(j, "role", role_name(c->role));
        json_kstr(j, "inf", c->pkg.inf_path);
        json_kstr(j, "version", c->pkg.version);
        json_kstr(j, "driver_ver", c->pkg.driver_ver);
        json_kstr(j, "os_dir", c->os_dir);
        json_kbool(j, "fallback", c->fallback);
        json_key(j, "devices");
        json_arr_begin(j);
        for (size_t k = 0; k < c->pkg.ndevices; k++)
            json_str(j, c->pkg.devices[k].hwid);
        json_arr_end(j);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_kstr(j, "agent", sel && sel->agent >= 0 && tree ? drv_tree_path(tree, (size_t)sel->agent) : NULL);
}

void drv_report_json(const drv_windows *w, const drv_selection *sel, const drv_tree *tree,
                     const drv_plan *p, json_writer *j)
{
    json_obj_begin(j);
    json_windows(w, j);
    json_kstr(j, "source", sel && tree ? drv_tree_name(tree) : NULL);
    json_drivers(sel, tree, j);
    json_key(j, "registry");
    json_arr_begin(j);
    for (size_t i = 0; i < p->nedits; i++) {
        const drv_edit *e = &p->edits[i];
        json_obj_begin(j);
        json_kstr(j, "hive", hive_name(e->hive));
        json_kstr(j, "op", e->op == DRV_OP_DELETE_KEY ? "delete-key" : "set");
        json_kstr(j, "key", e->key);
        if (e->op == DRV_OP_SET) {
            json_kstr(j, "name", e->name);
            json_kstr(j, "type", type_name(e->type));
            json_kstr(j, "value", e->shown);
        }
        json_obj_end(j);
    }
    json_arr_end(j);
    json_key(j, "files");
    json_arr_begin(j);
    for (size_t i = 0; i < p->ncopies; i++) {
        json_obj_begin(j);
        json_kstr(j, "path", p->copies[i].dst);
        json_kstr(j, "source", copy_source(tree, &p->copies[i]));
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}
