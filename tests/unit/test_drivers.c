/* Driver injection as data: a virtio-win-like tree (tests/lib/mkvirtio.sh, in
 * both layouts and as an ISO) read, drivers chosen for Windows 7, 10, Server
 * 2019 and the fallbacks, then the plan applied to synthetic SYSTEM/SOFTWARE
 * hives and every value read back byte for byte with hivex. */
#include <errno.h>
#include <hivex.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "t.h"
#include "util/endian.h"
#include "util/json.h"
#include "windows/drivers.h"
#include "windows/windows.h"

static char work[512];
static char mkvirtio[PATH_MAX];

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, fmt, mkvirtio, a, b);
    return system(cmd);
}

static void setup(void)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(mkvirtio, sizeof mkvirtio, "%s/../lib/mkvirtio.sh", dirname(src));
    snprintf(work, sizeof work, "%s/p2v-drivers.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        exit(1);
    }
    char a[PATH_MAX + 16], b[PATH_MAX + 16];
    snprintf(a, sizeof a, "%s/per", work);
    CHECK(sh("bash %s tree %s %s", a, "per-driver") == 0);
    snprintf(b, sizeof b, "%s/flat", work);
    CHECK(sh("bash %s tree %s %s", b, "flat") == 0);
    snprintf(b, sizeof b, "%s/virtio.iso", work);
    CHECK(sh("bash %s iso %s %s", a, b) == 0);
    static const char *wins[] = {"win7", "win10", "2k19", "win10link"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "%s/%s", work, wins[i]);
        CHECK(sh("bash %s hives %s %s", a, wins[i]) == 0);
    }
}

static void cleanup(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", work);
}

static const drv_windows win7 = {6, 1, 7601, false, DRV_ARCH_AMD64, false};
static const drv_windows win7_x86 = {6, 1, 7601, false, DRV_ARCH_X86, false};
static const drv_windows win10 = {10, 0, 19045, false, DRV_ARCH_AMD64, false};
static const drv_windows win11 = {10, 0, 22631, false, DRV_ARCH_AMD64, false};
static const drv_windows win81 = {6, 3, 9600, false, DRV_ARCH_AMD64, false};
static const drv_windows srv2012r2 = {6, 3, 9600, true, DRV_ARCH_AMD64, false};
static const drv_windows srv2019 = {10, 0, 17763, true, DRV_ARCH_AMD64, false};
static const drv_windows srv2022 = {10, 0, 20348, true, DRV_ARCH_AMD64, false};
static const drv_windows winxp = {5, 1, 2600, false, DRV_ARCH_X86, false};

static drv_tree *open_tree(const char *name)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", work, name);
    drv_tree *t = NULL;
    p2v_err err = {{0}};
    int rc = drv_tree_open(path, &t, &err);
    if (rc < 0)
        fprintf(stderr, "drv_tree_open %s: %s\n", path, err.msg);
    CHECK(rc == 0);
    return t;
}

/* The driver dir of a layout: per-driver "viostor/w10/amd64", flat "amd64/w10". */
static void expect_dir(const drv_choice *c, const char *flat_dir, const char *per_dir, bool flat)
{
    CHECK_STR(c->pkg.dir, flat ? flat_dir : per_dir);
}

static void check_choice(drv_tree *t, const drv_windows *w, bool flat, const char *os,
                         const char *arch, bool fallback, bool agent)
{
    drv_selection sel;
    p2v_err err = {{0}};
    int rc = drv_select(t, w, &sel, &err);
    CHECK_EQ_U64(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "drv_select: %s\n", err.msg);
        return;
    }
    CHECK_EQ_U64(sel.n, 5);
    char per[64], flatdir[64];
    snprintf(per, sizeof per, "viostor/%s/%s", os, arch);
    snprintf(flatdir, sizeof flatdir, "%s/%s", arch, os);
    const drv_choice *vs = drv_selection_find(&sel, "viostor");
    CHECK(vs != NULL);
    if (vs) {
        expect_dir(vs, flatdir, per, flat);
        CHECK_STR(vs->os_dir, os);
        CHECK(vs->fallback == fallback);
        CHECK(vs->role == DRV_ROLE_BOOT);
        CHECK_EQ_U64(vs->pkg.ndevices, 3);
        if (vs->pkg.ndevices == 3) {
            CHECK_STR(vs->pkg.devices[0].hwid, "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
            CHECK_STR(vs->pkg.devices[1].hwid, "PCI\\VEN_1AF4&DEV_1001");
            CHECK_STR(vs->pkg.devices[2].hwid, "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01");
            CHECK_STR(vs->pkg.devices[0].description, "Red Hat VirtIO SCSI controller");
            CHECK_STR(vs->pkg.devices[0].install, "viostor_inst");
        }
        CHECK_STR(vs->pkg.service.name, "viostor");
        CHECK_STR(vs->pkg.service.binary, "viostor.sys");
        CHECK_STR(vs->pkg.service.group, "SCSI miniport");
        CHECK_EQ_U64(vs->pkg.service.type, 1);
        CHECK_EQ_U64(vs->pkg.service.start, 0);
        CHECK_EQ_U64(vs->pkg.service.error_control, 1);
        CHECK_STR(vs->pkg.class_guid, "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
        CHECK_STR(vs->pkg.provider, "Red Hat, Inc.");
        CHECK_STR(vs->pkg.catalog, "viostor.cat");
        CHECK_EQ_U64(vs->pkg.nfiles, 3); /* inf, cat, sys: not the .pdb beside them */
        if (vs->pkg.nfiles == 3) {
            CHECK_STR(vs->pkg.files[0], "viostor.inf");
            CHECK_STR(vs->pkg.files[1], "viostor.cat");
            CHECK_STR(vs->pkg.files[2], "viostor.sys");
        }
        /* the chosen .sys is the one of that OS and arch, byte for byte */
        char path[128], want[128];
        snprintf(path, sizeof path, "%s/viostor.sys", vs->pkg.dir);
        snprintf(want, sizeof want, "p2v test file viostor.sys for viostor/%s/%s\n", os, arch);
        long i = drv_tree_find(t, path);
        CHECK(i >= 0);
        uint8_t *buf = NULL;
        size_t len = 0;
        if (i >= 0 && drv_tree_read(t, (size_t)i, &buf, &len, &err) == 0) {
            CHECK_EQ_U64(len, strlen(want));
            CHECK(len == strlen(want) && memcmp(buf, want, len) == 0);
        } else {
            CHECK(!"viostor.sys read");
        }
        free(buf);
    }
    const drv_choice *net = drv_selection_find(&sel, "netkvm");
    CHECK(net && net->role == DRV_ROLE_FIRSTBOOT);
    if (net) /* the UTF-16LE INF */
        CHECK_STR(net->pkg.devices[0].hwid, "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00");
    CHECK(drv_selection_find(&sel, "vioscsi") && drv_selection_find(&sel, "BALLOON") &&
          drv_selection_find(&sel, "VirtioSerial"));
    CHECK(!drv_selection_find(&sel, "viorng"));
    CHECK((sel.agent >= 0) == agent);
    drv_selection_free(&sel);
}

static void test_select(const char *name, bool flat)
{
    drv_tree *t = open_tree(name);
    if (!t)
        return;
    bool agent = !flat;
    check_choice(t, &win10, flat, "w10", "amd64", false, agent);
    check_choice(t, &win7, flat, "w7", "amd64", false, agent);
    check_choice(t, &win7_x86, flat, "w7", "x86", false, agent);
    check_choice(t, &srv2019, flat, "2k19", "amd64", false, agent);
    check_choice(t, &srv2022, flat, "2k19", "amd64", true, agent);   /* no 2k22 directory */
    check_choice(t, &win11, flat, "w10", "amd64", true, agent);      /* no w11 directory */
    check_choice(t, &win81, flat, "w7", "amd64", true, agent);       /* nearest older */
    check_choice(t, &srv2012r2, flat, "w7", "amd64", true, agent);   /* other edition */
    drv_selection sel;
    p2v_err err = {{0}};
    CHECK_EQ_U64(drv_select(t, &winxp, &sel, &err), (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "Windows XP (5.1.2600) client x86") != NULL);
    CHECK(strstr(err.msg, name) != NULL);
    drv_tree_close(t);
}

/* A damaged INF in w's own directory gives way to the next older one; the
 * other drivers still come from w's own. */
static void test_damaged_inf(void)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp -r '%s/per' '%s/broken' && printf 'garbage\\n' > "
             "'%s/broken/viostor/w10/amd64/viostor.inf'", work, work, work);
    CHECK(system(cmd) == 0);
    drv_tree *t = open_tree("broken");
    drv_selection sel;
    p2v_err err = {{0}};
    if (t && drv_select(t, &win10, &sel, &err) == 0) {
        const drv_choice *vs = drv_selection_find(&sel, "viostor");
        CHECK(vs && strcmp(vs->os_dir, "w7") == 0 && vs->fallback);
        const drv_choice *sc = drv_selection_find(&sel, "vioscsi");
        CHECK(sc && strcmp(sc->os_dir, "w10") == 0 && !sc->fallback);
        drv_selection_free(&sel);
    } else {
        CHECK(!"select on the damaged tree");
    }
    drv_tree_close(t);
}

static void test_tree_errors(void)
{
    drv_tree *t = NULL;
    p2v_err err = {{0}};
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/missing.iso", work);
    CHECK(drv_tree_open(path, &t, &err) < 0);
    CHECK(strstr(err.msg, "missing.iso") != NULL);
    /* A file that is not an ISO: an INF of the tree. */
    snprintf(path, sizeof path, "%s/per/viostor/w10/amd64/viostor.inf", work);
    CHECK_EQ_U64(drv_tree_open(path, &t, &err), (uint64_t)-EINVAL);
    CHECK(strstr(err.msg, "viostor.inf") && strstr(err.msg, "ISO 9660"));
    /* A truncated ISO. */
    char cmd[2 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "head -c 40000 '%s/virtio.iso' > '%s/short.iso'", work, work);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/short.iso", work);
    int rc = drv_tree_open(path, &t, &err);
    CHECK(rc < 0);
    if (rc == 0)
        drv_tree_close(t);
    else
        CHECK(strstr(err.msg, "short.iso") != NULL);
}

/* A file swapped for a link out of the tree between listing and reading (or
 * for a named pipe) is refused when read, not followed. */
static void test_tree_swapped(void)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp -r '%s/per' '%s/swap' && echo host >'%s/host'", work, work, work);
    CHECK(system(cmd) == 0);
    drv_tree *t = open_tree("swap");
    long i = drv_tree_find(t, "viostor/w10/amd64/viostor.sys");
    long j = drv_tree_find(t, "viostor/w10/amd64/viostor.cat");
    CHECK(i >= 0 && j >= 0);
    snprintf(cmd, sizeof cmd, "ln -sf '%s/host' '%s/swap/viostor/w10/amd64/viostor.sys' && "
             "rm '%s/swap/viostor/w10/amd64/viostor.cat' && mkfifo '%s/swap/viostor/w10/amd64/viostor.cat'",
             work, work, work, work);
    CHECK(system(cmd) == 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    p2v_err err = {{0}};
    CHECK_EQ_U64(drv_tree_read(t, (size_t)i, &buf, &len, &err), (uint64_t)-EXDEV);
    CHECK(strstr(err.msg, "viostor.sys") && strstr(err.msg, "outside the driver tree"));
    CHECK(drv_tree_read(t, (size_t)j, &buf, &len, &err) < 0);
    CHECK(strstr(err.msg, "viostor.cat") && strstr(err.msg, "regular file"));
    drv_tree_close(t);
}

static void test_bus(void)
{
    enum drv_bus b;
    CHECK(drv_bus_parse("virtio-blk", &b) == 0 && b == DRV_BUS_VIRTIO_BLK);
    CHECK(drv_bus_parse("virtio-scsi", &b) == 0 && b == DRV_BUS_VIRTIO_SCSI);
    CHECK(drv_bus_parse("sata", &b) == 0 && b == DRV_BUS_SATA);
    CHECK(drv_bus_parse("ide", &b) == 0 && b == DRV_BUS_IDE);
    CHECK(drv_bus_parse("scsi", &b) == -EINVAL);
    p2v_err err = {{0}};
    CHECK(drv_check_bus(DRV_BUS_SATA, NULL, &win10, &err) == 0);
    CHECK(drv_check_bus(DRV_BUS_IDE, NULL, &win7, &err) == 0);
    CHECK_EQ_U64(drv_check_bus(DRV_BUS_VIRTIO_BLK, NULL, &win10, &err), (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "viostor") && strstr(err.msg, "Windows 10 (10.0.19045) client amd64"));
    drv_selection empty = {.win = win10, .agent = -1};
    CHECK_EQ_U64(drv_check_bus(DRV_BUS_VIRTIO_SCSI, &empty, &win10, &err), (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "vioscsi") != NULL);
}

/* ---- hives ---- */

static hive_h *hive_open(const char *win, const char *name, int flags)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s/%s", work, win, name);
    hive_h *h = hivex_open(path, flags);
    CHECK(h != NULL);
    return h;
}

static hive_node_h node_at(hive_h *h, const char *path)
{
    hive_node_h n = hivex_root(h);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *p = strtok_r(buf, "\\", &save); p && n; p = strtok_r(NULL, "\\", &save))
        n = hivex_node_get_child(h, n, p);
    return n;
}

/* The raw bytes of a value, compared with the expected type and bytes. */
static void expect_raw(hive_h *h, const char *key, const char *name, hive_type type,
                       const uint8_t *want, size_t wlen)
{
    hive_node_h n = node_at(h, key);
    hive_value_h v = n ? hivex_node_get_value(h, n, name) : 0;
    if (!v) {
        fprintf(stderr, "missing %s\\%s\n", key, name);
        CHECK(!"value present");
        return;
    }
    hive_type t;
    size_t len;
    char *data = hivex_value_value(h, v, &t, &len);
    CHECK_EQ_U64(t, type);
    CHECK_EQ_U64(len, wlen);
    if (!data || len != wlen || memcmp(data, want, wlen) != 0) {
        fprintf(stderr, "%s\\%s: bytes differ\n", key, name);
        CHECK(!"value bytes");
    }
    free(data);
}

static void expect_dword(hive_h *h, const char *key, const char *name, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    expect_raw(h, key, name, hive_t_REG_DWORD, b, 4);
}

static void expect_str(hive_h *h, const char *key, const char *name, hive_type type, const char *s)
{
    uint8_t b[512];
    size_t n = strlen(s);
    for (size_t i = 0; i <= n; i++)
        put_le16(b + 2 * i, (uint8_t)s[i]);
    expect_raw(h, key, name, type, b, 2 * (n + 1));
}

/* REG_MULTI_SZ of one string: the string, its NUL, the list's NUL. */
static void expect_multi1(hive_h *h, const char *key, const char *name, const char *s)
{
    uint8_t b[512];
    size_t n = strlen(s);
    for (size_t i = 0; i <= n; i++)
        put_le16(b + 2 * i, (uint8_t)s[i]);
    put_le16(b + 2 * (n + 1), 0);
    expect_raw(h, key, name, hive_t_REG_MULTI_SZ, b, 2 * (n + 2));
}

static bool key_exists(hive_h *h, const char *key) { return node_at(h, key) != 0; }

static const drv_copy *find_copy(const drv_plan *p, const char *dst)
{
    for (size_t i = 0; i < p->ncopies; i++)
        if (strcmp(p->copies[i].dst, dst) == 0)
            return &p->copies[i];
    return NULL;
}

/* A hive of work/win/name, or NULL when the file is not there. */
static hive_h *hive_open_if(const char *win, const char *name, int flags)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s/%s", work, win, name);
    return access(path, F_OK) == 0 ? hive_open(win, name, flags) : NULL;
}

/* Build the plan against the hives, apply it to writable copies, commit,
 * reopen (*drivers NULL when that Windows has no DRIVERS hive). */
static int plan_and_apply(const char *win, const drv_windows *w, drv_tree *t, bool with_drivers,
                          drv_selection *sel, drv_plan *plan, hive_h **sys, hive_h **soft,
                          hive_h **drivers)
{
    p2v_err err = {{0}};
    int rc = 0;
    if (with_drivers)
        rc = drv_select(t, w, sel, &err);
    hive_h *ro = hive_open(win, "SYSTEM", 0), *ro_drv = hive_open_if(win, "DRIVERS", 0);
    if (rc == 0 && ro)
        rc = drv_plan_build(w, with_drivers ? sel : NULL, t, ro, ro_drv, plan, &err);
    if (ro)
        hivex_close(ro);
    if (ro_drv)
        hivex_close(ro_drv);
    if (rc < 0) {
        fprintf(stderr, "plan %s: %s\n", win, err.msg);
        return rc;
    }
    static const char *names[3] = {"SYSTEM", "SOFTWARE", "DRIVERS"};
    static const enum drv_hive which[3] = {DRV_HIVE_SYSTEM, DRV_HIVE_SOFTWARE, DRV_HIVE_DRIVERS};
    hive_h **out[3] = {sys, soft, drivers};
    for (int i = 0; i < 3; i++) {
        hive_h *h = hive_open_if(win, names[i], HIVEX_OPEN_WRITE);
        *out[i] = NULL;
        CHECK(h || i == 2);
        if (!h)
            continue;
        char dst[PATH_MAX + 64];
        snprintf(dst, sizeof dst, "%s/%s/%s.new", work, win, names[i]);
        CHECK(drv_edits_apply(plan, which[i], h, &err) == 0);
        CHECK(hivex_commit(h, dst, 0) == 0);
        hivex_close(h);
        *out[i] = hivex_open(dst, 0);
        CHECK(*out[i] != NULL);
    }
    return 0;
}

static void expect_builtins(hive_h *h, const char *cs, bool is7)
{
    char key[128];
    static const char *const svcs[] = {"atapi", "intelide", "pciide"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s\\Services\\%s", cs, svcs[i]);
        expect_dword(h, key, "Start", 0);
    }
    snprintf(key, sizeof key, "%s\\Services\\%s", cs, is7 ? "msahci" : "storahci");
    expect_dword(h, key, "Start", 0);
    CHECK(!key_exists(h, is7 ? "ControlSet001\\Services\\storahci" : "ControlSet001\\Services\\msahci"));
    snprintf(key, sizeof key, "%s\\Services\\storahci\\StartOverride", cs);
    CHECK(!key_exists(h, key));
    snprintf(key, sizeof key, "%s\\Services\\Tcpip", cs);
    expect_dword(h, key, "Start", 1); /* untouched */
}

static void expect_service(hive_h *h, const char *cs, const char *svc)
{
    char key[128], image[64];
    snprintf(key, sizeof key, "%s\\Services\\%s", cs, svc);
    snprintf(image, sizeof image, "system32\\drivers\\%s.sys", svc);
    expect_dword(h, key, "Type", 1);
    expect_dword(h, key, "Start", 0);
    expect_dword(h, key, "ErrorControl", 1);
    expect_str(h, key, "Group", hive_t_REG_SZ, "SCSI miniport");
    expect_str(h, key, "ImagePath", hive_t_REG_EXPAND_SZ, image);
}

/* Control set cs of SYSTEM after the boot-driver edits: the built-in
 * controllers start at boot, and viostor and vioscsi are boot services. */
static void expect_boot_drivers(hive_h *sys, const char *cs, bool is7)
{
    expect_builtins(sys, cs, is7);
    expect_service(sys, cs, "viostor");
    expect_service(sys, cs, "vioscsi");
}

static void expect_firstboot(const drv_plan *p, hive_h *soft, const char *os, bool modern)
{
    expect_str(soft, "Microsoft\\Windows\\CurrentVersion\\RunOnce", "p2v-drivers",
               hive_t_REG_EXPAND_SZ, "cmd.exe /c \"%SystemRoot%\\p2v\\firstboot.cmd\"");
    const drv_copy *script = find_copy(p, "Windows\\p2v\\firstboot.cmd");
    CHECK(script && script->src == -1 && script->data);
    if (script && script->data) {
        char *s = strndup((const char *)script->data, script->len);
        CHECK(strstr(s, modern ? "pnputil /add-driver \"%SystemRoot%\\p2v\\drivers\\*.inf\" /subdirs /install"
                               : "pnputil -i -a \"%%f\"") != NULL);
        CHECK(strstr(s, "msiexec /i \"%SystemRoot%\\p2v\\qemu-ga-x86_64.msi\" /qn") != NULL);
        CHECK(strstr(s, "rd /s /q \"%SystemRoot%\\p2v\"") != NULL); /* removes itself */
        free(s);
    }
    const drv_copy *net = find_copy(p, "Windows\\p2v\\drivers\\netkvm\\netkvm.sys");
    CHECK(net != NULL);
    (void)os;
    CHECK(find_copy(p, "Windows\\p2v\\drivers\\VirtioSerial\\vioser.inf") != NULL);
    CHECK(find_copy(p, "Windows\\p2v\\drivers\\BALLOON\\balloon.cat") != NULL);
    CHECK(find_copy(p, "Windows\\p2v\\qemu-ga-x86_64.msi") != NULL);
    CHECK(find_copy(p, "Windows\\p2v\\drivers\\viostor\\viostor.sys") == NULL); /* boot drivers are not staged */
}

static void test_win7(drv_tree *t)
{
    drv_selection sel;
    drv_plan plan;
    hive_h *sys = NULL, *soft = NULL;
    hive_h *drivers = NULL;
    if (plan_and_apply("win7", &win7, t, true, &sel, &plan, &sys, &soft, &drivers) < 0)
        return;
    CHECK(drivers == NULL);
    CHECK_EQ_U64(plan.ncontrolsets, 2);
    for (int cs = 1; cs <= 2; cs++) {
        char name[32], key[256];
        snprintf(name, sizeof name, "ControlSet%03d", cs);
        expect_boot_drivers(sys, name, true);
        static const char *const ids[] = {"pci#ven_1af4&dev_1001&subsys_00021af4&rev_00",
                                          "pci#ven_1af4&dev_1042&subsys_11001af4&rev_01",
                                          "pci#ven_1af4&dev_1001"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "%s\\Control\\CriticalDeviceDatabase\\%s", name, ids[i]);
            expect_str(sys, key, "Service", hive_t_REG_SZ, "viostor");
            expect_str(sys, key, "ClassGUID", hive_t_REG_SZ, "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
        }
        snprintf(key, sizeof key, "%s\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1048&subsys_11001af4&rev_01", name);
        expect_str(sys, key, "Service", hive_t_REG_SZ, "vioscsi");
        snprintf(key, sizeof key, "%s\\Services\\netkvm", name);
        CHECK(!key_exists(sys, key)); /* staged for first boot, not registered */
    }
    CHECK(!key_exists(sys, "DriverDatabase"));
    const drv_copy *c = find_copy(&plan, "Windows\\System32\\drivers\\viostor.sys");
    CHECK(c && c->src >= 0 && strcmp(drv_tree_path(t, (size_t)c->src), "viostor/w7/amd64/viostor.sys") == 0);
    expect_firstboot(&plan, soft, "w7", false);
    hivex_close(sys);
    hivex_close(soft);
    drv_plan_free(&plan);
    drv_selection_free(&sel);
}

static void expect_ddb(hive_h *sys, const drv_plan *p, drv_tree *t, const char *oem, const char *svc,
                       const char *os, const char *hwid)
{
    char key[256], label_prefix[64];
    snprintf(key, sizeof key, "DriverDatabase\\DriverInfFiles\\%s", oem);
    hive_node_h n = node_at(sys, key);
    CHECK(n != 0);
    if (!n)
        return;
    /* Active names the package; read it, then check the package keys under that name. */
    hive_value_h v = hivex_node_get_value(sys, n, "Active");
    char *label = v ? hivex_value_string(sys, v) : NULL;
    CHECK(label != NULL);
    if (!label)
        return;
    snprintf(label_prefix, sizeof label_prefix, "%s.inf_amd64_", svc);
    CHECK(strncmp(label, label_prefix, strlen(label_prefix)) == 0 && strlen(label) == strlen(label_prefix) + 16);
    expect_multi1(sys, key, "", label);
    expect_multi1(sys, key, "Configurations", strcmp(svc, "viostor") == 0 ? "viostor_inst" : "vioscsi_inst");
    snprintf(key, sizeof key, "DriverDatabase\\DriverPackages\\%s", label);
    expect_str(sys, key, "", hive_t_REG_SZ, oem);
    char inf_file[32];
    snprintf(inf_file, sizeof inf_file, "%s.inf", svc);
    expect_str(sys, key, "InfName", hive_t_REG_SZ, inf_file);
    expect_str(sys, key, "Provider", hive_t_REG_SZ, "Red Hat, Inc.");
    /* Version: 00 ff 09 00 00 00 00 00, the INF's ClassGuid (SCSIAdapter)
     * little-endian, 24 zero bytes, as virt-v2v writes it. */
    static const uint8_t version[48] = {0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0x7b, 0xe9, 0x36, 0x4d, 0x25, 0xe3, 0xce, 0x11,
                                        0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18};
    expect_raw(sys, key, "Version", hive_t_REG_BINARY, version, sizeof version);
    snprintf(key, sizeof key, "DriverDatabase\\DriverPackages\\%s\\Configurations\\%s_inst", label, svc);
    expect_str(sys, key, "Service", hive_t_REG_SZ, svc);
    expect_dword(sys, key, "ConfigFlags", 0);
    snprintf(key, sizeof key, "DriverDatabase\\DriverPackages\\%s\\Descriptors\\%s", label, hwid);
    char conf[32];
    snprintf(conf, sizeof conf, "%s_inst", svc);
    expect_str(sys, key, "Configuration", hive_t_REG_SZ, conf);
    snprintf(key, sizeof key, "DriverDatabase\\DeviceIds\\%s", hwid);
    static const uint8_t rank[4] = {0x01, 0xff, 0x00, 0x00};
    expect_raw(sys, key, oem, hive_t_REG_BINARY, rank, 4);
    /* the package in the DriverStore and the INF as oemN.inf */
    char dst[256], src[128];
    snprintf(dst, sizeof dst, "Windows\\System32\\DriverStore\\FileRepository\\%s\\%s.sys", label, svc);
    snprintf(src, sizeof src, "%s/%s/amd64/%s.sys", svc, os, svc);
    const drv_copy *c = find_copy(p, dst);
    CHECK(c && c->src >= 0 && strcmp(drv_tree_path(t, (size_t)c->src), src) == 0);
    snprintf(dst, sizeof dst, "Windows\\System32\\DriverStore\\FileRepository\\%s\\%s.cat", label, svc);
    CHECK(find_copy(p, dst) != NULL);
    snprintf(dst, sizeof dst, "Windows\\INF\\%s", oem);
    snprintf(src, sizeof src, "%s/%s/amd64/%s.inf", svc, os, svc);
    c = find_copy(p, dst);
    CHECK(c && c->src >= 0 && strcmp(drv_tree_path(t, (size_t)c->src), src) == 0);
    free(label);
}

/* The dry run's text and JSON name the drivers, their INF and version, the
 * device IDs and the registry values; the JSON parses. */
static void check_reports(const drv_windows *w, const drv_selection *sel, drv_tree *t, const drv_plan *p)
{
    char *txt = NULL, *js = NULL;
    size_t tl = 0, jl = 0;
    FILE *f = open_memstream(&txt, &tl);
    drv_report_text(w, sel, t, p, f);
    fclose(f);
    if (getenv("P2V_SHOW_REPORT")) /* for the documentation's example */
        fputs(txt, stderr);
    CHECK(strstr(txt, "viostor      boot       viostor/") != NULL);
    CHECK(strstr(txt, "version 100.94.104.24100") != NULL);
    CHECK(strstr(txt, "for PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01") != NULL);
    CHECK(strstr(txt, "SYSTEM\\ControlSet002\\Services\\viostor  Start = REG_DWORD 0x00000000 (0)") != NULL);
    CHECK(strstr(txt, "SYSTEM\\ControlSet001\\Services\\storahci\\StartOverride  (key removed)") != NULL);
    CHECK(strstr(txt, "\\Windows\\System32\\drivers\\viostor.sys  <- viostor/") != NULL);
    f = open_memstream(&js, &jl);
    json_writer j;
    json_init(&j, f);
    drv_report_json(w, sel, t, p, &j);
    json_end(&j);
    fclose(f);
    CHECK(strstr(js, "\"service\": \"viostor\"") || strstr(js, "\"service\":\"viostor\""));
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.json", work);
    f = fopen(path, "w");
    if (f) {
        fputs(js, f);
        fclose(f);
    }
    char cmd[PATH_MAX + 256];
    snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "assert d[\"drivers\"][0][\"service\"]==\"viostor\"; assert len(d[\"registry\"])>20' '%s'", path);
    CHECK(system(cmd) == 0);
    free(txt);
    free(js);
}

static void test_win8plus(drv_tree *t, const char *win, const drv_windows *w, const char *os)
{
    drv_selection sel;
    drv_plan plan;
    hive_h *sys = NULL, *soft = NULL, *drivers = NULL;
    if (plan_and_apply(win, w, t, true, &sel, &plan, &sys, &soft, &drivers) < 0)
        return;
    for (int cs = 1; cs <= 2; cs++) {
        char name[32], key[128];
        snprintf(name, sizeof name, "ControlSet%03d", cs);
        expect_boot_drivers(sys, name, false);
        snprintf(key, sizeof key, "%s\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1001&subsys_00021af4&rev_00", name);
        CHECK(!key_exists(sys, key));
    }
    /* The DriverDatabase: in DRIVERS where SYSTEM's is a link to it, and
     * SYSTEM's link key then gets nothing. */
    hive_h *ddb = drivers ? drivers : sys;
    CHECK_EQ_U64(plan.ddb_hive, drivers ? DRV_HIVE_DRIVERS : DRV_HIVE_SYSTEM);
    if (drivers) {
        hive_node_h link = node_at(sys, "DriverDatabase");
        hive_node_h *kids = link ? hivex_node_children(sys, link) : NULL;
        CHECK(kids && kids[0] == 0);
        free(kids);
    }
    /* oem1.inf was taken already: viostor gets oem2, vioscsi oem3; oem1 untouched */
    expect_ddb(ddb, &plan, t, "oem2.inf", "viostor", os, "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01");
    expect_ddb(ddb, &plan, t, "oem3.inf", "vioscsi", os, "PCI\\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00");
    expect_str(ddb, "DriverDatabase\\DriverInfFiles\\oem1.inf", "Active", hive_t_REG_SZ,
               "prnms001.inf_amd64_1111111111111111");
    expect_firstboot(&plan, soft, os, true);
    /* what the dry run shows for a value */
    bool shown = false, version_shown = false;
    for (size_t i = 0; i < plan.nedits; i++) {
        const drv_edit *e = &plan.edits[i];
        if (strcmp(e->key, "ControlSet001\\Services\\viostor") == 0 &&
            strcmp(e->name, "ImagePath") == 0)
            shown = strcmp(e->shown, "system32\\drivers\\viostor.sys") == 0;
        if (e->name && strcmp(e->name, "Version") == 0)
            version_shown = e->hive == plan.ddb_hive &&
                            strncmp(e->shown, "00 ff 09 00 00 00 00 00 7b e9 36 4d", 35) == 0;
    }
    CHECK(shown && version_shown);
    check_reports(w, &sel, t, &plan);
    hivex_close(sys);
    hivex_close(soft);
    if (drivers)
        hivex_close(drivers);
    drv_plan_free(&plan);
    drv_selection_free(&sel);
}

/* Where the DriverDatabase goes: SYSTEM without a DRIVERS hive or when
 * SYSTEM's is a key of its own; DRIVERS when SYSTEM's links there or
 * SYSTEM has none. */
static void test_ddb_place(void)
{
    hive_h *s10 = hive_open("win10", "SYSTEM", 0), *s7 = hive_open("win7", "SYSTEM", 0);
    hive_h *slink = hive_open("win10link", "SYSTEM", 0), *drv = hive_open("win10link", "DRIVERS", 0);
    if (!s10 || !s7 || !slink || !drv)
        return;
    CHECK_EQ_U64(drv_ddb_hive(s10, NULL), DRV_HIVE_SYSTEM);
    CHECK_EQ_U64(drv_ddb_hive(slink, NULL), DRV_HIVE_SYSTEM);
    CHECK_EQ_U64(drv_ddb_hive(s10, drv), DRV_HIVE_SYSTEM);
    CHECK_EQ_U64(drv_ddb_hive(slink, drv), DRV_HIVE_DRIVERS);
    CHECK_EQ_U64(drv_ddb_hive(s7, drv), DRV_HIVE_DRIVERS);
    hivex_close(s10);
    hivex_close(s7);
    hivex_close(slink);
    hivex_close(drv);
}

/* Without --drivers: the built-in controllers only, nothing virtio. */
static void test_no_drivers(const char *win, const drv_windows *w, bool is7)
{
    drv_plan plan;
    hive_h *sys = NULL, *soft = NULL, *drivers = NULL;
    if (plan_and_apply(win, w, NULL, false, NULL, &plan, &sys, &soft, &drivers) < 0)
        return;
    expect_builtins(sys, "ControlSet001", is7);
    expect_builtins(sys, "ControlSet002", is7);
    CHECK(!key_exists(sys, "ControlSet001\\Services\\viostor"));
    CHECK(!key_exists(sys, "ControlSet001\\Services\\vioscsi"));
    CHECK(!key_exists(soft, "Microsoft\\Windows\\CurrentVersion\\RunOnce"));
    CHECK_EQ_U64(plan.ncopies, 0);
    if (drivers)
        hivex_close(drivers);
    for (size_t i = 0; i < plan.nedits; i++)
        CHECK(plan.edits[i].hive == DRV_HIVE_SYSTEM && strstr(plan.edits[i].key, "vio") == NULL);
    hivex_close(sys);
    hivex_close(soft);
    drv_plan_free(&plan);
}

/* ---- the Windows version, as much as SOFTWARE tells ---- */

static win_hive *hive_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    win_hive *h = NULL;
    p2v_err err = {{0}};
    CHECK(n > 0 && win_hive_open(buf, n, false, path, &h, &err) == 0);
    return h;
}

/* A SOFTWARE hive whose Windows NT\CurrentVersion holds values (.reg lines). */
static win_hive *software_with(const char *name, const char *values)
{
    char path[PATH_MAX + 64], lib[PATH_MAX], cmd[4 * PATH_MAX + 512];
    snprintf(lib, sizeof lib, "%s", mkvirtio);
    *strrchr(lib, '/') = '\0';
    snprintf(path, sizeof path, "%s/%s", work, name);
    char reg[PATH_MAX + 80];
    snprintf(reg, sizeof reg, "%s.reg", path);
    FILE *f = fopen(reg, "w");
    CHECK(f != NULL);
    if (!f)
        return NULL;
    fprintf(f, "Windows Registry Editor Version 5.00\n\n[\\Microsoft]\n\n"
               "[\\Microsoft\\Windows NT]\n\n[\\Microsoft\\Windows NT\\CurrentVersion]\n%s\n",
            values);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 '%s/blank_hive.py' '%s' SOFTWARE && "
             "hivexregedit --merge '%s' '%s'", lib, path, path, reg);
    CHECK(system(cmd) == 0);
    return hive_bytes(path);
}

static void expect_version(win_hive *sys, const char *name, const char *values, unsigned major,
                           unsigned minor, unsigned build, bool server)
{
    win_hive *soft = software_with(name, values);
    drv_windows w;
    p2v_err err = {{0}};
    if (!soft)
        return;
    CHECK(drv_windows_from_hives(sys, soft, &w, &err) == 0);
    if (w.major != major || w.minor != minor || w.build != build || w.server != server ||
        w.version_unknown)
        fprintf(stderr, "%s: got %u.%u.%u server %d unknown %d\n", name, w.major, w.minor,
                w.build, w.server, w.version_unknown);
    CHECK(w.major == major && w.minor == minor && w.build == build && w.server == server &&
          !w.version_unknown);
    win_hive_close(soft);
}

/* A version from whatever is there; none at all: the built-in controllers
 * still set, drivers refused with the reason. */
static void test_versions(drv_tree *t)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/win10/SYSTEM", work);
    win_hive *sys = hive_bytes(path);
    if (!sys)
        return;
    expect_version(sys, "major-only", "\"CurrentMajorVersionNumber\"=dword:0000000a\n"
                   "\"CurrentVersion\"=\"6.3\"\n\"CurrentBuild\"=\"19045\"", 10, 0, 19045, false);
    expect_version(sys, "major-build-number", "\"CurrentMajorVersionNumber\"=dword:0000000a\n"
                   "\"CurrentBuildNumber\"=\"22631\"", 10, 0, 22631, false);
    expect_version(sys, "major-cv-minor", "\"CurrentMajorVersionNumber\"=dword:00000006\n"
                   "\"CurrentVersion\"=\"6.3\"\n\"CurrentBuild\"=\"9600\"", 6, 3, 9600, false);
    expect_version(sys, "major-minor", "\"CurrentMajorVersionNumber\"=dword:0000000a\n"
                   "\"CurrentMinorVersionNumber\"=dword:00000000\n\"CurrentVersion\"=\"6.3\"",
                   10, 0, 0, false);
    expect_version(sys, "cv-only", "\"CurrentVersion\"=\"6.1\"\n\"CurrentBuild\"=\"7601\"",
                   6, 1, 7601, false);
    expect_version(sys, "build-only", "\"CurrentBuild\"=\"9600\"", 6, 3, 9600, false);
    expect_version(sys, "build-number-server", "\"CurrentBuildNumber\"=\"17763\"\n"
                   "\"InstallationType\"=\"Server\"", 10, 0, 17763, true);
    expect_version(sys, "build-7600", "\"CurrentBuild\"=\"7600\"", 6, 1, 7600, false);

    win_hive *soft = software_with("no-version", "\"ProductName\"=\"Windows\"");
    drv_windows w;
    drv_job job;
    p2v_err err = {{0}};
    CHECK(soft && drv_windows_from_hives(sys, soft, &w, &err) == 0 && w.version_unknown);
    char desc[96];
    drv_windows_describe(&w, desc, sizeof desc);
    CHECK_STR(desc, "Windows (version unknown) client amd64");
    CHECK_EQ_U64(drv_job_prepare_hives(sys, soft, NULL, NULL, DRV_BUS_SATA, &job, &err), 0);
    CHECK(!job.has_sel && job.plan.ncopies == 0 && job.plan.nedits == 10);
    hive_h *h = hive_open("win10", "SYSTEM", HIVEX_OPEN_WRITE);
    snprintf(path, sizeof path, "%s/win10/SYSTEM.builtin", work);
    CHECK(h && drv_edits_apply(&job.plan, DRV_HIVE_SYSTEM, h, &err) == 0 &&
          hivex_commit(h, path, 0) == 0);
    if (h)
        hivex_close(h);
    h = hivex_open(path, 0);
    CHECK(h != NULL);
    if (h) {
        expect_builtins(h, "ControlSet001", false);
        expect_builtins(h, "ControlSet002", false);
        hivex_close(h);
    }
    drv_job_free(&job);
    CHECK_EQ_U64(drv_job_prepare_hives(sys, soft, NULL, t, DRV_BUS_NONE, &job, &err),
                 (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "no-version: the Windows version cannot be told") &&
          strstr(err.msg, "drivers from --drivers"));
    CHECK_EQ_U64(drv_job_prepare_hives(sys, soft, NULL, NULL, DRV_BUS_VIRTIO_BLK, &job, &err),
                 (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "cannot choose a virtio driver") != NULL);
    win_hive_close(soft);
    win_hive_close(sys);
}

/* ---- the old PC's leftovers ---- */

/* "a,b" as a .reg REG_MULTI_SZ: hex(7):61,00,00,00,62,00,00,00,00,00 */
static void reg_multi(FILE *f, const char *name, const char *csv)
{
    fprintf(f, "\"%s\"=hex(7):", name);
    for (const char *c = csv; *c; c++)
        fprintf(f, "%02x,00,", *c == ',' ? 0 : (unsigned char)*c);
    fprintf(f, "00,00,00,00\n");
}

/* Files the fake volume holds (compared without regard to case). */
static const char *const present[] = {
    "/Windows/System32/drivers/EhStorClass.sys", "/Windows/System32/drivers/iaStorF.sys",
    "/Windows/System32/drivers/volsnap.sys", "/Windows/System32/drivers/rdyboost.sys",
};
static unsigned exists_calls;

static int fake_exists(void *ctx, const char *path, p2v_err *err)
{
    (void)ctx;
    (void)err;
    exists_calls++;
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        if (strcasecmp(present[i], path) == 0)
            return 1;
    return 0;
}

/* win10's SYSTEM with class filters and services of an old PC. */
static int leftover_hive(void)
{
    char path[PATH_MAX + 64], cmd[3 * PATH_MAX + 200];
    snprintf(path, sizeof path, "%s/leftovers.reg", work);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char *cls = "ControlSet001\\Control\\Class";
    fprintf(f, "Windows Registry Editor Version 5.00\n\n[\\%s]\n\n", cls);
    fprintf(f, "[\\%s\\{4D36E967-E325-11CE-BFC1-08002BE10318}]\n", cls);
    reg_multi(f, "UpperFilters", "EhStorClass");
    reg_multi(f, "LowerFilters", "iaStorF,oldfilt");
    fprintf(f, "\n[\\%s\\{71A27CDD-812A-11D0-BEC7-08002BE2092F}]\n", cls);
    reg_multi(f, "UpperFilters", "volsnap,gonefilt,rdyboost");
    fprintf(f, "\n[\\%s\\{4D36E97B-E325-11CE-BFC1-08002BE10318}]\n", cls);
    reg_multi(f, "UpperFilters", "otherdrive");
    static const char *const svcs[][2] = {
        {"EhStorClass", "\"ImagePath\"=\"\\\\SystemRoot\\\\System32\\\\drivers\\\\EhStorClass.sys\""},
        {"iaStorF", "\"ImagePath\"=\"system32\\\\drivers\\\\iaStorF.sys\""},
        {"volsnap", "\"Start\"=dword:00000000"},
        {"rdyboost", "\"ImagePath\"=\"System32\\\\drivers\\\\rdyboost.sys\""},
        {"gonefilt", "\"ImagePath\"=\"system32\\\\drivers\\\\gonefilt.sys\""},
        {"otherdrive", "\"ImagePath\"=\"\\\\??\\\\D:\\\\drv\\\\otherdrive.sys\""},
        {"VMTools", "\"Start\"=dword:00000002"},
        {"VBoxService", "\"Start\"=dword:00000004"},
    };
    for (size_t i = 0; i < sizeof svcs / sizeof svcs[0]; i++)
        fprintf(f, "\n[\\ControlSet001\\Services\\%s]\n%s\n", svcs[i][0], svcs[i][1]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/leftovers' && cp '%s/win10/SYSTEM' '%s/leftovers/SYSTEM' && "
             "hivexregedit --merge '%s/leftovers/SYSTEM' '%s'", work, work, work, work, path);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect_multi(hive_h *h, const char *key, const char *name, const char *csv)
{
    uint8_t b[256];
    size_t n = 0;
    for (const char *c = csv; *c; c++, n += 2)
        put_le16(b + n, *c == ',' ? 0 : (uint8_t)*c);
    if (*csv) {
        put_le16(b + n, 0);
        n += 2;
    }
    put_le16(b + n, 0);
    expect_raw(h, key, name, hive_t_REG_MULTI_SZ, b, n + 2);
}

static const drv_edit *find_edit(const drv_plan *p, const char *key_end, const char *name)
{
    for (size_t i = 0; i < p->nedits; i++) {
        const drv_edit *e = &p->edits[i];
        size_t kl = strlen(e->key), el = strlen(key_end);
        if (kl >= el && strcasecmp(e->key + kl - el, key_end) == 0 && e->name &&
            strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

/* Filters that cannot load leave the boot classes' lists (the others stay,
 * in order); VMware Tools is disabled; --keep-services keeps the services
 * and the table's filter, not a filter whose driver is gone. */
static void test_leftovers(bool keep)
{
    drv_plan plan;
    p2v_err err = {{0}};
    hive_h *ro = hive_open("leftovers", "SYSTEM", 0);
    if (!ro)
        return;
    CHECK(drv_plan_build(&win10, NULL, NULL, ro, NULL, &plan, &err) == 0);
    size_t before = plan.nedits;
    exists_calls = 0;
    CHECK(drv_leftovers_plan(ro, fake_exists, NULL, keep, &plan, &err) == 0);
    hivex_close(ro);
    CHECK(exists_calls > 0);
    CHECK_EQ_U64(plan.nedits - before, keep ? 2 : 3);
    const drv_edit *low = find_edit(&plan, "{4d36e967-e325-11ce-bfc1-08002be10318}", "LowerFilters");
    CHECK(low && strstr(low->shown, "removed oldfilt: no service oldfilt") != NULL);
    CHECK(low && (strstr(low->shown, "removed iaStorF: Intel Rapid Storage Technology filter") != NULL) == !keep);
    const drv_edit *vol = find_edit(&plan, "{71a27cdd-812a-11d0-bec7-08002be2092f}", "UpperFilters");
    CHECK(vol && strstr(vol->shown, "volsnap; rdyboost  (removed gonefilt: /Windows/system32/drivers/gonefilt.sys missing)"));
    const drv_edit *vmt = find_edit(&plan, "Services\\VMTools", "Start");
    CHECK((vmt != NULL) == !keep);
    CHECK(!vmt || strstr(vmt->shown, "disabled: VMware Tools service") != NULL);
    CHECK(find_edit(&plan, "Services\\VBoxService", "Start") == NULL); /* already disabled */
    CHECK(find_edit(&plan, "{4d36e967-e325-11ce-bfc1-08002be10318}", "UpperFilters") == NULL);
    CHECK(find_edit(&plan, "{4d36e97b-e325-11ce-bfc1-08002be10318}", "UpperFilters") == NULL);

    hive_h *h = hive_open("leftovers", "SYSTEM", HIVEX_OPEN_WRITE);
    char dst[PATH_MAX + 64];
    snprintf(dst, sizeof dst, "%s/leftovers/SYSTEM.%s", work, keep ? "keep" : "new");
    CHECK(h && drv_edits_apply(&plan, DRV_HIVE_SYSTEM, h, &err) == 0 && hivex_commit(h, dst, 0) == 0);
    if (h)
        hivex_close(h);
    h = hivex_open(dst, 0);
    CHECK(h != NULL);
    if (h) {
        const char *cls = "ControlSet001\\Control\\Class\\";
        char key[160];
        snprintf(key, sizeof key, "%s{4D36E967-E325-11CE-BFC1-08002BE10318}", cls);
        expect_multi(h, key, "UpperFilters", "EhStorClass");
        expect_multi(h, key, "LowerFilters", keep ? "iaStorF" : "");
        snprintf(key, sizeof key, "%s{71A27CDD-812A-11D0-BEC7-08002BE2092F}", cls);
        expect_multi(h, key, "UpperFilters", "volsnap,rdyboost");
        snprintf(key, sizeof key, "%s{4D36E97B-E325-11CE-BFC1-08002BE10318}", cls);
        expect_multi(h, key, "UpperFilters", "otherdrive");
        expect_dword(h, "ControlSet001\\Services\\VMTools", "Start", keep ? 2 : 4);
        expect_dword(h, "ControlSet001\\Services\\VBoxService", "Start", 4);
        expect_dword(h, "ControlSet001\\Services\\storahci", "Start", 0);
        hivex_close(h);
    }
    if (!keep) {
        char *txt = NULL;
        size_t tl = 0;
        FILE *f = open_memstream(&txt, &tl);
        drv_report_text(&win10, NULL, NULL, &plan, f);
        fclose(f);
        CHECK(strstr(txt, "SYSTEM\\ControlSet001\\Services\\VMTools  Start = REG_DWORD "
                          "0x00000004 (4)  (disabled: VMware Tools service)") != NULL);
        free(txt);
    }
    drv_plan_free(&plan);
}

int main(void)
{
    setup();
    test_select("per", false);
    test_select("flat", true);
    test_select("virtio.iso", false);
    test_tree_errors();
    test_tree_swapped();
    test_damaged_inf();
    test_bus();
    drv_tree *t = open_tree("per");
    if (t) {
        test_win7(t);
        test_win8plus(t, "win10", &win10, "w10");
        test_win8plus(t, "2k19", &srv2019, "2k19");
        test_win8plus(t, "win10link", &win10, "w10");
        test_versions(t);
        drv_tree_close(t);
    }
    test_no_drivers("win7", &win7, true);
    test_no_drivers("win10", &win10, false);
    test_ddb_place();
    if (leftover_hive() == 0) {
        test_leftovers(false);
        test_leftovers(true);
    } else {
        CHECK(!"leftover hive built");
    }
    cleanup();
    return t_done("test_drivers");
}
