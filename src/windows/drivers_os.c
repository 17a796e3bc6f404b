/* Windows releases as virtio-win names its directories, and as messages name them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows/drivers_impl.h"

/* Oldest first. Client and server releases of one kernel share major.minor;
 * Windows 10/11 and Server 2016+ are told apart by build. */
static const drv_os_dir os_dirs[] = {
    {"xp", 5, 1, 0, false, "Windows XP"},
    {"2k3", 5, 2, 0, true, "Windows Server 2003"},
    {"vista", 6, 0, 0, false, "Windows Vista"},
    {"2k8", 6, 0, 0, true, "Windows Server 2008"},
    {"w7", 6, 1, 0, false, "Windows 7"},
    {"2k8r2", 6, 1, 0, true, "Windows Server 2008 R2"},
    {"w8", 6, 2, 0, false, "Windows 8"},
    {"2k12", 6, 2, 0, true, "Windows Server 2012"},
    {"w8.1", 6, 3, 0, false, "Windows 8.1"},
    {"2k12r2", 6, 3, 0, true, "Windows Server 2012 R2"},
    {"w10", 10, 0, 0, false, "Windows 10"},
    {"2k16", 10, 0, 14393, true, "Windows Server 2016"},
    {"2k19", 10, 0, 17763, true, "Windows Server 2019"},
    {"2k22", 10, 0, 20348, true, "Windows Server 2022"},
    {"w11", 10, 0, 22000, false, "Windows 11"},
    {"2k25", 10, 0, 26100, true, "Windows Server 2025"},
};

const drv_os_dir *drv_os_dir_find(const char *s)
{
    for (size_t i = 0; i < sizeof os_dirs / sizeof os_dirs[0]; i++)
        if (strcasecmp(s, os_dirs[i].name) == 0)
            return &os_dirs[i];
    /* Older ISOs spell some of them differently. */
    static const struct { const char *alias, *name; } aliases[] = {
        {"win7", "w7"}, {"win8", "w8"}, {"win8.1", "w8.1"}, {"win10", "w10"}, {"win11", "w11"},
        {"wxp", "xp"}, {"wlh", "vista"}, {"wnet", "2k3"},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(s, aliases[i].alias) == 0)
            return drv_os_dir_find(aliases[i].name);
    return NULL;
}

int drv_os_cmp(unsigned amaj, unsigned amin, unsigned abuild, unsigned bmaj, unsigned bmin,
               unsigned bbuild)
{
    if (amaj != bmaj)
        return amaj < bmaj ? -1 : 1;
    if (amin != bmin)
        return amin < bmin ? -1 : 1;
    if (abuild != bbuild)
        return abuild < bbuild ? -1 : 1;
    return 0;
}

int drv_arch_token(const char *s)
{
    if (strcasecmp(s, "amd64") == 0 || strcasecmp(s, "x64") == 0)
        return DRV_ARCH_AMD64;
    if (strcasecmp(s, "x86") == 0 || strcasecmp(s, "i386") == 0)
        return DRV_ARCH_X86;
    return -1;
}

/* The newest release of w's edition that w is (or is newer than). */
static const char *product_name(const drv_windows *w)
{
    const char *name = NULL;
    for (size_t i = 0; i < sizeof os_dirs / sizeof os_dirs[0]; i++) {
        const drv_os_dir *d = &os_dirs[i];
        if (d->server == w->server &&
            drv_os_cmp(d->major, d->minor, d->build, w->major, w->minor, w->build) <= 0)
            name = d->product;
    }
    return name ? name : "Windows";
}

void drv_windows_describe(const drv_windows *w, char *buf, size_t len)
{
    if (w->version_unknown) {
        snprintf(buf, len, "Windows (version unknown) %s %s", w->server ? "server" : "client",
                 w->arch == DRV_ARCH_AMD64 ? "amd64" : "x86");
        return;
    }
    snprintf(buf, len, "%s (%u.%u.%u) %s %s", product_name(w), w->major, w->minor, w->build,
             w->server ? "server" : "client", w->arch == DRV_ARCH_AMD64 ? "amd64" : "x86");
}

bool drv_windows_has_driver_database(const drv_windows *w)
{
    return w->major > 6 || (w->major == 6 && w->minor >= 2);
}

char *drv_strcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

char *drv_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}
