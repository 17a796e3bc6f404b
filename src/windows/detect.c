/* Finding Windows on an NTFS volume: its hives, version, architecture, and
 * the boot stores the volume holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fatfile.h"
#include "windows/windows.h"

#define WIN_SYSTEM "/Windows/System32/config/SYSTEM"
#define WIN_SOFTWARE "/Windows/System32/config/SOFTWARE"
#define WIN_TEMPLATE "/Windows/System32/config/BCD-Template"
#define WIN_HIVE_READ_MAX ((size_t)1 << 30)
#define WIN_REAGENT "/Windows/System32/Recovery/ReAgent.xml"
#define WIN_REAGENT_MAX ((size_t)1 << 20)

static int exists(ntvol *v, const char *path, bool *out, p2v_err *err)
{
    bool isdir = false;
    int r = ntvol_stat(v, path, out, &isdir, NULL, err);
    if (r == 0 && *out && isdir)
        *out = false;
    return r;
}

/* Open a hive file of the volume read-only; NULL (no error) when it cannot
 * be read as a hive: detection reports what it can. */
static win_hive *open_hive(ntvol *v, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    p2v_err e;
    win_hive *h = NULL;
    if (ntvol_read_file(v, path, WIN_HIVE_READ_MAX, &data, &len, &e) == 0)
        win_hive_open(data, len, false, path, &h, &e);
    free(data);
    return h;
}

static void read_version(ntvol *v, win_install *w)
{
    win_hive *h = open_hive(v, WIN_SOFTWARE);
    if (!h)
        return;
    const char *cv = "Microsoft\\Windows NT\\CurrentVersion";
    win_hive_get_string(h, cv, "ProductName", w->product, sizeof w->product);
    if (win_hive_get_string(h, cv, "CurrentBuild", w->build, sizeof w->build) != 0)
        win_hive_get_string(h, cv, "CurrentBuildNumber", w->build, sizeof w->build);
    win_hive_get_string(h, cv, "InstallationType", w->installation_type,
                        sizeof w->installation_type);
    win_hive_close(h);
}

static void read_arch(ntvol *v, win_install *w)
{
    win_hive *h = open_hive(v, WIN_SYSTEM);
    uint32_t cur = 1;
    char path[128], arch[32] = "";
    if (!h)
        return;
    win_hive_get_dword(h, "Select", "Current", &cur);
    snprintf(path, sizeof path, "ControlSet%03u\\Control\\Session Manager\\Environment", cur);
    if (win_hive_get_string(h, path, "PROCESSOR_ARCHITECTURE", arch, sizeof arch) == 0) {
        const char *a = !strcasecmp(arch, "AMD64")   ? "x64"
                        : !strcasecmp(arch, "x86")   ? "x86"
                        : !strcasecmp(arch, "ARM64") ? "arm64"
                                                     : arch;
        snprintf(w->arch, sizeof w->arch, "%s", a);
    }
    win_hive_close(h);
}

/* Where WinRE lives, as its ReAgent.xml says; nothing when the file is
 * missing or not read (the conversion's rewrite warns about those). */
static void read_winre(ntvol *v, win_volume *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    p2v_err e;
    if (ntvol_read_file(v, WIN_REAGENT, WIN_REAGENT_MAX, &data, &len, &e) == 0)
        out->winre_named = win_reagent_winre(data, len, &out->winre);
    free(data);
}

int win_detect(ntvol *v, win_volume *out, p2v_err *err)
{
    int r;
    memset(out, 0, sizeof *out);
    if ((r = exists(v, WIN_SYSTEM, &out->win.present, err)) < 0 ||
        (r = exists(v, "/Boot/BCD", &out->bcd_bios, err)) < 0 ||
        (r = exists(v, "/EFI/Microsoft/Boot/BCD", &out->bcd_efi, err)) < 0 ||
        (r = exists(v, "/bootmgr", &out->bootmgr, err)) < 0)
        return r;
    if (!out->win.present)
        return 0;
    if ((r = exists(v, WIN_TEMPLATE, &out->win.bcd_template, err)) < 0)
        return r;
    read_version(v, &out->win);
    read_arch(v, &out->win);
    read_winre(v, out);
    return 0;
}

int win_detect_part(blockdev *bd, uint64_t off, uint64_t len, win_volume *out, p2v_err *err)
{
    ntvol *v;
    int r = ntvol_open(bd, off, len, 0, &v, err);
    if (r < 0)
        return r;
    r = win_detect(v, out, err);
    p2v_err e;
    ntvol_close(v, &e);
    return r;
}

int win_detect_fat(blockdev *bd, uint64_t off, uint64_t len, win_volume *out, p2v_err *err)
{
    fatvol *v;
    memset(out, 0, sizeof *out);
    int r = fatvol_open(bd, off, len, false, &v, err);
    if (r < 0)
        return r;
    bool isdir = false;
    r = fatvol_stat(v, "/EFI/Microsoft/Boot/BCD", &out->bcd_efi, &isdir, NULL, err);
    if (r == 0 && out->bcd_efi && isdir)
        out->bcd_efi = false;
    if (r == 0)
        r = fatvol_stat(v, "/Boot/BCD", &out->bcd_bios, &isdir, NULL, err);
    if (r == 0 && out->bcd_bios && isdir)
        out->bcd_bios = false;
    fatvol_close(v);
    return r;
}

void win_install_short(const win_install *w, char *out, size_t cap)
{
    char name[sizeof w->product] = "Windows";
    const char *p = w->product;
    size_t n = 0;
    /* words up to and including the first that starts with a digit */
    while (p[n] && !(n > 0 && p[n - 1] == ' ' && p[n] >= '0' && p[n] <= '9'))
        n++;
    while (p[n] && p[n] != ' ')
        n++;
    if (p[0] && n < sizeof name)
        snprintf(name, sizeof name, "%.*s", (int)n, p);
    unsigned long build = strtoul(w->build, NULL, 10);
    if (!strcmp(name, "Windows 10") && build >= 22000)
        snprintf(name, sizeof name, "Windows 11");
    if (w->build[0])
        snprintf(out, cap, "%s (%s)", name, w->build);
    else
        snprintf(out, cap, "%s", name);
}

void win_install_summary(const win_install *w, char *out, size_t cap)
{
    const char *name = w->product[0] ? w->product : "Windows";
    if (w->build[0] && w->arch[0])
        snprintf(out, cap, "%s (%s, %s)", name, w->build, w->arch);
    else if (w->build[0] || w->arch[0])
        snprintf(out, cap, "%s (%s)", name, w->build[0] ? w->build : w->arch);
    else
        snprintf(out, cap, "%s", name);
}
