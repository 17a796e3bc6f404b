/* What the machine p2v runs on tells of itself: on p2v Live, the PC being
 * converted. Read from a sysfs root so that tests can give a tree of their own. */
#include "vmdef/vmdef.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"

static void read_line(const char *root, const char *rel, char *out, size_t len)
{
    char path[1024];
    out[0] = 0;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(out, (int)len, f)) {
        size_t n = strcspn(out, "\n");
        out[n] = 0;
        while (n && out[n - 1] == ' ')
            out[--n] = 0;
    }
    fclose(f);
}

/* Vendors fill unused SMBIOS fields with words like these: not an identity. */
static void drop_placeholder(char *s)
{
    static const char *const words[] = { "To Be Filled By O.E.M.", "Default string",
                                         "System Serial Number", "Not Specified", "None",
                                         "0123456789", "System Product Name" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcasecmp(s, words[i]))
            s[0] = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Wired NICs with a device behind them (not lo, bridges, tunnels, wireless). */
static void read_macs(const char *root, struct vm_machine *m)
{
    char dir[1024], p[1400];
    snprintf(dir, sizeof dir, "%s/sys/class/net", root);
    DIR *d = opendir(dir);
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) && n < 64) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s/device", dir, e->d_name);
        if (stat(p, &st) < 0)
            continue;
        snprintf(p, sizeof p, "%s/%s/wireless", dir, e->d_name);
        if (stat(p, &st) == 0)
            continue;
        if ((names[n] = strdup(e->d_name)))
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        char mac[32];
        snprintf(p, sizeof p, "sys/class/net/%s/address", names[i]);
        read_line(root, p, mac, sizeof mac);
        if (strlen(mac) == 17 && strcmp(mac, "00:00:00:00:00:00") && m->nmacs < VM_MACS)
            snprintf(m->macs[m->nmacs++], sizeof m->macs[0], "%s", mac);
        free(names[i]);
    }
}

static void read_memory(const char *root, struct vm_machine *m)
{
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1 && kb < (1ULL << 50)) {
            m->memory = kb * 1024;
            break;
        }
    }
    fclose(f);
}

/* "0-3,6,8-9" -> 7 */
static unsigned count_cpus(const char *list)
{
    unsigned n = 0;
    const char *p = list;
    while (*p) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p)
            break;
        if (*end == '-')
            b = strtoul(end + 1, &end, 10);
        if (b >= a && b - a < 65536)
            n += (unsigned)(b - a + 1);
        p = *end == ',' ? end + 1 : end;
        if (*p && *p != ',' && (*p < '0' || *p > '9'))
            break;
    }
    return n;
}

int vm_machine_read(const char *root, struct vm_machine *m, p2v_err *err)
{
    (void)err;
    char cpus[256];
    struct stat st;
    memset(m, 0, sizeof *m);
    read_line(root, "sys/class/dmi/id/sys_vendor", m->vendor, sizeof m->vendor);
    read_line(root, "sys/class/dmi/id/product_name", m->product, sizeof m->product);
    read_line(root, "sys/class/dmi/id/product_version", m->version, sizeof m->version);
    read_line(root, "sys/class/dmi/id/product_serial", m->serial, sizeof m->serial);
    read_line(root, "sys/class/dmi/id/product_uuid", m->uuid, sizeof m->uuid);
    read_line(root, "sys/class/dmi/id/product_family", m->family, sizeof m->family);
    drop_placeholder(m->vendor);
    drop_placeholder(m->product);
    drop_placeholder(m->version);
    drop_placeholder(m->serial);
    drop_placeholder(m->family);
    read_macs(root, m);
    read_memory(root, m);
    read_line(root, "sys/devices/system/cpu/online", cpus, sizeof cpus);
    m->cpus = count_cpus(cpus);
    snprintf(m->msdm_path, sizeof m->msdm_path, "%s/sys/firmware/acpi/tables/MSDM", root);
    m->msdm = stat(m->msdm_path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 36;
    if (!m->msdm)
        m->msdm_path[0] = 0;
    return 0;
}

void vm_machine_json(const struct vm_machine *m, json_writer *j)
{
    json_obj_begin(j);
    json_kstr_or_null(j, "vendor", m->vendor);
    json_kstr_or_null(j, "product", m->product);
    json_kstr_or_null(j, "version", m->version);
    json_kstr_or_null(j, "serial", m->serial);
    json_kstr_or_null(j, "uuid", m->uuid);
    json_kstr_or_null(j, "family", m->family);
    json_key(j, "macs");
    json_arr_begin(j);
    for (unsigned i = 0; i < m->nmacs; i++)
        json_str(j, m->macs[i]);
    json_arr_end(j);
    json_ku64_or_null(j, "memory", m->memory);
    json_ku64_or_null(j, "cpus", m->cpus);
    json_kbool(j, "msdm", m->msdm);
    json_obj_end(j);
}
