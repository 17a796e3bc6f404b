/* The registry edits and files that make an offline Windows boot on its new
 * disk controller: built-in AHCI/IDE drivers at boot start, virtio storage
 * registered (CriticalDeviceDatabase before Windows 8, DriverDatabase from 8
 * on), the other virtio drivers staged for first boot. */
#include <errno.h>
#include <hivex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/guid.h"
#include "windows/drivers_edits.h"

#define SYS DRV_HIVE_SYSTEM
#define SOFT DRV_HIVE_SOFTWARE

/* Windows' own storage drivers: AHCI (storahci from 8, msahci before), ATA and IDE. */
static const char *const builtin_controllers[] = {"storahci", "msahci", "atapi", "intelide", "pciide"};

static int select_value(hive_h *h, hive_node_h sel, const char *name, unsigned *out)
{
    *out = 0;
    hive_value_h v = hivex_node_get_value(h, sel, name);
    if (!v)
        return 0;
    hive_type t;
    size_t len;
    if (hivex_value_type(h, v, &t, &len) < 0 || t != hive_t_REG_DWORD || len != 4)
        return -EINVAL;
    int32_t d = hivex_value_dword(h, v);
    *out = d > 0 && d < 1000 ? (unsigned)d : 0;
    return 0;
}

static bool controlset_exists(hive_h *h, unsigned n)
{
    char key[32];
    snprintf(key, sizeof key, "ControlSet%03u", n);
    return win_hive_walk(h, 0, key, false) != 0;
}

int drv_controlsets(hive_h *system, unsigned out[3], size_t *n, p2v_err *err)
{
    hive_node_h sel = win_hive_walk(system, 0, "Select", false);
    unsigned v[3];
    static const char *const names[3] = {"Current", "Default", "LastKnownGood"};
    *n = 0;
    if (!sel)
        return p2v_errf(err, -ENOENT, "SYSTEM hive: no Select key: cannot tell the ControlSets");
    for (size_t i = 0; i < 3; i++)
        if (select_value(system, sel, names[i], &v[i]) < 0)
            return p2v_errf(err, -EINVAL, "SYSTEM hive: Select\\%s is not a DWORD", names[i]);
    if (!v[0] || !controlset_exists(system, v[0]))
        return p2v_errf(err, -ENOENT, "SYSTEM hive: Select\\Current names no existing ControlSet (%u)", v[0]);
    for (size_t i = 0; i < 3; i++) {
        bool dup = false;
        for (size_t k = 0; k < *n; k++)
            dup |= out[k] == v[i];
        if (v[i] && !dup && controlset_exists(system, v[i]))
            out[(*n)++] = v[i];
    }
    return 0;
}

/* ---- built-in controllers ---- */

static int builtin(drv_plan *p, hive_h *system, unsigned cs)
{
    for (size_t i = 0; i < sizeof builtin_controllers / sizeof builtin_controllers[0]; i++) {
        char *key = drv_strf("ControlSet%03u\\Services\\%s", cs, builtin_controllers[i]);
        char *ovr = key ? drv_strcat3(key, "\\StartOverride", "") : NULL;
        int rc = ovr ? 0 : -ENOMEM;
        if (rc == 0 && win_hive_walk(system, 0, key, false)) {
            rc = drv_edit_dword(p, SYS, key, "Start", 0);
            if (rc == 0 && win_hive_walk(system, 0, ovr, false))
                rc = drv_edit_delete_key(p, SYS, ovr);
        }
        free(key);
        free(ovr);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- boot-start virtio storage ---- */

static int service_key(drv_plan *p, unsigned cs, const drv_package *pkg)
{
    const drv_service *s = &pkg->service;
    char *key = drv_strf("ControlSet%03u\\Services\\%s", cs, s->name);
    char *image = drv_strcat3("system32\\drivers\\", s->binary, "");
    int rc = key && image ? 0 : -ENOMEM;
    if (rc == 0)
        rc = drv_edit_dword(p, SYS, key, "Type", s->type);
    if (rc == 0)
        rc = drv_edit_dword(p, SYS, key, "Start", 0);
    if (rc == 0)
        rc = drv_edit_dword(p, SYS, key, "ErrorControl", s->error_control);
    if (rc == 0 && s->group)
        rc = drv_edit_string(p, SYS, key, "Group", DRV_REG_SZ, s->group);
    if (rc == 0)
        rc = drv_edit_string(p, SYS, key, "ImagePath", DRV_REG_EXPAND_SZ, image);
    free(key);
    free(image);
    return rc;
}

static bool is_pci_id(const char *hwid) { return strncasecmp(hwid, "PCI\\", 4) == 0; }

/* Control\CriticalDeviceDatabase\pci#ven_1af4&dev_1001&...: Windows before 8
 * binds a boot device to its service through these. */
static int critical_devices(drv_plan *p, unsigned cs, const drv_package *pkg)
{
    for (size_t i = 0; i < pkg->ndevices; i++) {
        if (!is_pci_id(pkg->devices[i].hwid))
            continue;
        char *key = drv_strf("ControlSet%03u\\Control\\CriticalDeviceDatabase\\%s", cs,
                             pkg->devices[i].hwid);
        if (!key)
            return -ENOMEM;
        char *id = key + strlen(key) - strlen(pkg->devices[i].hwid);
        for (char *c = id; *c; c++)
            *c = *c == '\\' ? '#' : (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        int rc = drv_edit_string(p, SYS, key, "Service", DRV_REG_SZ, pkg->service.name);
        if (rc == 0 && pkg->class_guid)
            rc = drv_edit_string(p, SYS, key, "ClassGUID", DRV_REG_SZ, pkg->class_guid);
        free(key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- DriverDatabase and DriverStore (Windows 8 and later) ---- */

static uint64_t fnv1a(const uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* The first oemN.inf that neither the DriverDatabase (in ddb, the hive that
 * holds it) nor this plan uses. */
static unsigned free_oem_number(hive_h *ddb, const drv_plan *p)
{
    for (unsigned n = 1;; n++) {
        char key[80];
        snprintf(key, sizeof key, "DriverDatabase\\DriverInfFiles\\oem%u.inf", n);
        bool used = win_hive_walk(ddb, 0, key, false) != 0;
        for (size_t i = 0; !used && i < p->nedits; i++)
            used = strcasecmp(p->edits[i].key, key) == 0;
        if (!used)
            return n;
    }
}

typedef struct ddb_names {
    char oem[32];    /* oem3.inf */
    char *label;     /* viostor.inf_amd64_0123456789abcdef */
    char *store;     /* Windows\System32\DriverStore\FileRepository\<label> */
} ddb_names;

/* REG_SZ values of the driver database under key, in order; a NULL value
 * (an optional field the INF left out: Manufacturer, Provider) is not
 * written. */
struct sz_value {
    const char *name, *value;
};

static int ddb_strings(drv_plan *p, const char *key, const struct sz_value *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (v[i].value)
            rc = drv_edit_string(p, p->ddb_hive, key, v[i].name, DRV_REG_SZ, v[i].value);
    return rc;
}

static int ddb_describe(drv_plan *p, const drv_package *pkg, const ddb_names *nm)
{
    const enum drv_hive hive = p->ddb_hive;
    char *key = drv_strcat3("DriverDatabase\\DriverPackages\\", nm->label, "");
    int rc = key ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < pkg->ndevices; i++) {
        const drv_device *d = &pkg->devices[i];
        char *desc = drv_strf("%s\\Descriptors\\%s", key, d->hwid);
        char *conf = drv_strf("%s\\Configurations\\%s", key, d->install);
        const struct sz_value values[] = {
            { "Configuration", d->install },
            { "Description", d->description },
            { "Manufacturer", pkg->manufacturer },
        };
        rc = desc && conf ? ddb_strings(p, desc, values, sizeof values / sizeof values[0])
                          : -ENOMEM;
        bool first = true; /* one Configurations key per install section */
        for (size_t k = 0; k < i; k++)
            first &= strcmp(pkg->devices[k].install, d->install) != 0;
        if (rc == 0 && first)
            rc = drv_edit_dword(p, hive, conf, "ConfigFlags", 0);
        if (rc == 0 && first)
            rc = drv_edit_string(p, hive, conf, "Service", DRV_REG_SZ, pkg->service.name);
        free(desc);
        free(conf);
    }
    free(key);
    return rc;
}

/* The SCSI adapter class, for a package whose INF names no ClassGuid (p2v
 * registers storage drivers only). */
#define SCSI_ADAPTER_CLASS "{4D36E97B-E325-11CE-BFC1-08002BE10318}"

/* DriverPackages\<pkg> Version, as virt-v2v writes it ("necessary for
 * Windows-Kernel-Pnp in w10/w2k16"): 00 ff 09 00 00 00 00 00, the class
 * GUID in its little-endian byte order, then 24 zero bytes where Windows
 * keeps fields (believed to be the driver's date and version) whose layout
 * no public source describes. */
static int ddb_version(drv_plan *p, const drv_package *pkg, const char *pkg_key)
{
    uint8_t v[DRV_DDB_VERSION_LEN] = {0x00, 0xff, 0x09};
    p2v_guid g;
    if (!pkg->class_guid || guid_parse(pkg->class_guid, &g) < 0)
        guid_parse(SCSI_ADAPTER_CLASS, &g);
    memcpy(v + 8, g.b, 16);
    return drv_edit_binary(p, p->ddb_hive, pkg_key, "Version", v, sizeof v);
}

static int ddb_package(drv_plan *p, const drv_package *pkg, const ddb_names *nm)
{
    const enum drv_hive hive = p->ddb_hive;
    char *inf_key = drv_strf("DriverDatabase\\DriverInfFiles\\%s", nm->oem);
    char *pkg_key = drv_strcat3("DriverDatabase\\DriverPackages\\", nm->label, "");
    const char *label = nm->label, *install = pkg->devices[0].install;
    int rc = inf_key && pkg_key ? 0 : -ENOMEM;
    if (rc == 0)
        rc = drv_edit_multi(p, hive, inf_key, "", &label, 1);
    if (rc == 0)
        rc = drv_edit_string(p, hive, inf_key, "Active", DRV_REG_SZ, nm->label);
    if (rc == 0)
        rc = drv_edit_multi(p, hive, inf_key, "Configurations", &install, 1);
    const struct sz_value values[] = {
        { "", nm->oem },
        { "InfName", pkg->inf_name },
        { "Provider", pkg->provider },
    };
    if (rc == 0)
        rc = ddb_strings(p, pkg_key, values, sizeof values / sizeof values[0]);
    if (rc == 0)
        rc = ddb_version(p, pkg, pkg_key);
    if (rc == 0)
        rc = ddb_describe(p, pkg, nm);
    free(inf_key);
    free(pkg_key);
    return rc;
}

/* DeviceIds\PCI\VEN_...: value oemN.inf = rank bytes 01 ff 00 00, as pnputil leaves it. */
static int ddb_device_ids(drv_plan *p, const drv_package *pkg, const ddb_names *nm)
{
    static const uint8_t rank[4] = {0x01, 0xff, 0x00, 0x00};
    for (size_t i = 0; i < pkg->ndevices; i++) {
        char *key = drv_strcat3("DriverDatabase\\DeviceIds\\", pkg->devices[i].hwid, "");
        int rc = key ? drv_edit_binary(p, p->ddb_hive, key, nm->oem, rank, sizeof rank) : -ENOMEM;
        free(key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A file of the package (path relative to the INF's directory) in the tree. */
static long package_file(const drv_tree *t, const drv_package *pkg, const char *file, p2v_err *err)
{
    char *path = *pkg->dir ? drv_strcat3(pkg->dir, "/", file) : strdup(file);
    long i = path ? drv_tree_find(t, path) : -1;
    if (path && i < 0)
        p2v_errf(err, -ENOENT, "%s: %s lists %s, which is not in the tree", drv_tree_name(t),
                 pkg->inf_path, path);
    else if (!path)
        p2v_errf(err, -ENOMEM, "out of memory");
    free(path);
    return i;
}

static int copy_package(drv_plan *p, const drv_tree *t, const drv_package *pkg, const char *dst_dir,
                        p2v_err *err)
{
    for (size_t i = 0; i < pkg->nfiles; i++) {
        long src = package_file(t, pkg, pkg->files[i], err);
        if (src < 0)
            return -ENOENT;
        char *dst = drv_strf("%s\\%s", dst_dir, pkg->files[i]);
        if (!dst)
            return -ENOMEM;
        for (char *c = dst; *c; c++)
            if (*c == '/')
                *c = '\\';
        int rc = drv_copy_add(p, src, NULL, 0, dst);
        free(dst);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int ddb_names_make(drv_tree *t, const drv_package *pkg, const drv_windows *w, hive_h *ddb,
                          const drv_plan *p, ddb_names *nm, p2v_err *err)
{
    long idx = drv_tree_find(t, pkg->inf_path);
    uint8_t *buf;
    size_t len;
    int rc = idx < 0 ? p2v_errf(err, -ENOENT, "%s: %s vanished", drv_tree_name(t), pkg->inf_path)
                     : drv_tree_read(t, (size_t)idx, &buf, &len, err);
    if (rc < 0)
        return rc;
    uint64_t h = fnv1a(buf, len);
    free(buf);
    snprintf(nm->oem, sizeof nm->oem, "oem%u.inf", free_oem_number(ddb, p));
    char lower[256];
    snprintf(lower, sizeof lower, "%s", pkg->inf_name);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    nm->label = drv_strf("%s_%s_%016llx", lower, w->arch == DRV_ARCH_AMD64 ? "amd64" : "x86",
                         (unsigned long long)h);
    nm->store = nm->label ? drv_strcat3("Windows\\System32\\DriverStore\\FileRepository\\", nm->label, "")
                          : NULL;
    return nm->store ? 0 : -ENOMEM;
}

static int driver_database(drv_plan *p, drv_tree *t, const drv_package *pkg, const drv_windows *w,
                           hive_h *ddb, p2v_err *err)
{
    ddb_names nm = {{0}, NULL, NULL};
    int rc = ddb_names_make(t, pkg, w, ddb, p, &nm, err);
    if (rc == 0)
        rc = ddb_package(p, pkg, &nm);
    if (rc == 0)
        rc = ddb_device_ids(p, pkg, &nm);
    if (rc == 0)
        rc = copy_package(p, t, pkg, nm.store, err);
    if (rc == 0) {
        char *inf_dst = drv_strf("Windows\\INF\\%s", nm.oem);
        rc = inf_dst ? drv_copy_add(p, drv_tree_find(t, pkg->inf_path), NULL, 0, inf_dst) : -ENOMEM;
        free(inf_dst);
    }
    free(nm.label);
    free(nm.store);
    return rc;
}

static int boot_driver(drv_plan *p, drv_tree *t, const drv_package *pkg, const drv_windows *w,
                       hive_h *ddb, p2v_err *err)
{
    long bin = package_file(t, pkg, pkg->service.binary, err);
    if (bin < 0)
        return -ENOENT;
    char *dst = drv_strcat3("Windows\\System32\\drivers\\", pkg->service.binary, "");
    int rc = dst ? drv_copy_add(p, bin, NULL, 0, dst) : -ENOMEM;
    free(dst);
    for (size_t i = 0; rc == 0 && i < p->ncontrolsets; i++) {
        rc = service_key(p, p->controlsets[i], pkg);
        if (rc == 0 && !drv_windows_has_driver_database(w))
            rc = critical_devices(p, p->controlsets[i], pkg);
    }
    if (rc == 0 && drv_windows_has_driver_database(w))
        rc = driver_database(p, t, pkg, w, ddb, err);
    return rc;
}

/* ---- first boot ---- */

#define STAGE "Windows\\p2v"

/* pnputil learnt /add-driver ... /subdirs /install in Windows 10 1607 (build
 * 14393); before, -i -a installs one INF at a time. The commands of the
 * driver part of the first-boot script. */
static char *firstboot_drivers(const drv_windows *w, const char *agent)
{
    bool modern = w->major >= 10 && w->build >= 14393;
    const char *install = modern
        ? "pnputil /add-driver \"%SystemRoot%\\p2v\\drivers\\*.inf\" /subdirs /install >> \"%LOG%\" 2>&1\r\n"
        : "for /r \"%SystemRoot%\\p2v\\drivers\" %%f in (*.inf) do pnputil -i -a \"%%f\" >> \"%LOG%\" 2>&1\r\n";
    char *ga = agent ? drv_strf("msiexec /i \"%%SystemRoot%%\\p2v\\%s\" /qn /norestart >> \"%%LOG%%\" 2>&1\r\n",
                                agent)
                     : strdup("");
    char *s = ga ? drv_strcat3(install, ga, "") : NULL;
    free(ga);
    return s;
}

/* The script around the steps' commands: a log, then the removal of the
 * staging (the script included; "(goto)" lets cmd delete the file it runs).
 * A step that fails jumps to :retry, which starts the script again at the
 * next logon: three runs at most, then the staging goes all the same. */
static const char firstboot_head[] =
    "@echo off\r\n"
    "rem Written by p2v: what the image needs at its first boot (drivers staged\r\n"
    "rem offline, network settings), then remove the staging (this script\r\n"
    "rem included). Started by RunOnce.\r\n"
    "set LOG=%SystemRoot%\\p2v-firstboot.log\r\n"
    "echo p2v first boot %DATE% %TIME% >> \"%LOG%\"\r\n";
static const char firstboot_tail[] =
    "cd /d \"%SystemRoot%\"\r\n"
    "(goto) 2>nul & rd /s /q \"%SystemRoot%\\p2v\"\r\n";
static const char firstboot_retry[] =
    ":retry\r\n"
    "if exist \"%SystemRoot%\\p2v\\try2\" goto giveup\r\n"
    "if exist \"%SystemRoot%\\p2v\\try1\" (type nul > \"%SystemRoot%\\p2v\\try2\") else (type nul > \"%SystemRoot%\\p2v\\try1\")\r\n"
    "echo p2v: a step failed; trying again at the next logon >> \"%LOG%\"\r\n"
    "reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\" /v p2v-drivers /t REG_EXPAND_SZ /d \"cmd.exe /c \\\"%%SystemRoot%%\\p2v\\firstboot.cmd\\\"\" /f >> \"%LOG%\" 2>&1\r\n"
    "exit /b 1\r\n"
    ":giveup\r\n"
    "echo p2v: a step failed three times; giving up >> \"%LOG%\"\r\n"
    "cd /d \"%SystemRoot%\"\r\n"
    "(goto) 2>nul & rd /s /q \"%SystemRoot%\\p2v\"\r\n";

#define FIRSTBOOT_PATH STAGE "\\firstboot.cmd"

int drv_firstboot_add(drv_plan *p, const char *commands, bool retry)
{
    char *body = drv_strcat3(p->firstboot ? p->firstboot : "", commands, "");
    if (!body)
        return -ENOMEM;
    free(p->firstboot);
    p->firstboot = body;
    p->firstboot_retry |= retry;
    char *head = drv_strcat3(firstboot_head, body, firstboot_tail);
    char *script = head ? drv_strcat3(head, p->firstboot_retry ? firstboot_retry : "", "") : NULL;
    free(head);
    if (!script)
        return -ENOMEM;
    for (size_t i = 0; i < p->ncopies; i++)
        if (p->copies[i].src == -1 && !strcmp(p->copies[i].dst, FIRSTBOOT_PATH)) {
            free(p->copies[i].data);
            p->copies[i].data = (uint8_t *)script;
            p->copies[i].len = strlen(script);
            return 0;
        }
    int rc = drv_copy_add(p, -1, (uint8_t *)script, strlen(script), FIRSTBOOT_PATH);
    if (rc == 0)
        rc = drv_edit_string(p, SOFT, "Microsoft\\Windows\\CurrentVersion\\RunOnce", "p2v-drivers",
                             DRV_REG_EXPAND_SZ, "cmd.exe /c \"%SystemRoot%\\p2v\\firstboot.cmd\"");
    return rc;
}

static int firstboot(drv_plan *p, drv_tree *t, const drv_selection *sel, p2v_err *err)
{
    bool any = sel->agent >= 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sel->n; i++) {
        const drv_choice *c = &sel->v[i];
        if (c->role != DRV_ROLE_FIRSTBOOT)
            continue;
        char *dir = drv_strf(STAGE "\\drivers\\%s", c->pkg.service.name);
        rc = dir ? copy_package(p, t, &c->pkg, dir, err) : -ENOMEM;
        free(dir);
        any = true;
    }
    if (rc < 0 || !any)
        return rc;
    const char *agent = NULL;
    if (sel->agent >= 0) {
        const char *path = drv_tree_path(t, (size_t)sel->agent);
        agent = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        char *dst = drv_strcat3(STAGE "\\", agent, "");
        rc = dst ? drv_copy_add(p, sel->agent, NULL, 0, dst) : -ENOMEM;
        free(dst);
    }
    char *cmds = rc == 0 ? firstboot_drivers(&sel->win, agent) : NULL;
    if (rc == 0)
        rc = cmds ? drv_firstboot_add(p, cmds, false) : -ENOMEM;
    free(cmds);
    return rc;
}

/* "\Registry\Machine\DRIVERS" and what follows it, as a REG_LINK value holds
 * it (UTF-16LE, no NUL); the comparison ignores case, as Windows does. */
static bool links_to_drivers(const char *raw, size_t len)
{
    static const char want[] = "\\registry\\machine\\drivers";
    size_t n = sizeof want - 1;
    if (len < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (uint8_t)raw[2 * i] | (unsigned)(uint8_t)raw[2 * i + 1] << 8;
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != (unsigned char)want[i])
            return false;
    }
    return len == 2 * n || (raw[2 * n] == '\\' && raw[2 * n + 1] == 0);
}

enum drv_hive drv_ddb_hive(hive_h *system, hive_h *drivers)
{
    if (!drivers)
        return DRV_HIVE_SYSTEM;
    hive_node_h ddb = win_hive_walk(system, 0, "DriverDatabase", false);
    if (!ddb)
        return DRV_HIVE_DRIVERS;
    hive_value_h v = hivex_node_get_value(system, ddb, "SymbolicLinkValue");
    hive_type t;
    size_t len = 0;
    char *raw = v ? hivex_value_value(system, v, &t, &len) : NULL;
    bool link = raw && t == hive_t_REG_LINK && links_to_drivers(raw, len);
    free(raw);
    return link ? DRV_HIVE_DRIVERS : DRV_HIVE_SYSTEM;
}

int drv_plan_build(const drv_windows *w, const drv_selection *sel, drv_tree *tree,
                   hive_h *system, hive_h *drivers, drv_plan *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    out->ddb_hive = drv_ddb_hive(system, drivers);
    hive_h *ddb = out->ddb_hive == DRV_HIVE_DRIVERS ? drivers : system;
    int rc = drv_controlsets(system, out->controlsets, &out->ncontrolsets, err);
    for (size_t i = 0; rc == 0 && i < out->ncontrolsets; i++)
        rc = builtin(out, system, out->controlsets[i]);
    for (size_t i = 0; rc == 0 && sel && i < sel->n; i++)
        if (sel->v[i].role == DRV_ROLE_BOOT)
            rc = boot_driver(out, tree, &sel->v[i].pkg, w, ddb, err);
    if (rc == 0 && sel)
        rc = firstboot(out, tree, sel, err);
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "out of memory planning the driver changes");
    if (rc < 0)
        drv_plan_free(out);
    return rc;
}
