/* What the machine p2v runs on tells of itself: on p2v Live, the PC being
 * converted. Read from a sysfs root so that tests can give a tree of their own. */
#include "vmdef/vmdef.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
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

/* The SMBIOS strings of struct vm_machine, in the order of its JSON: the key,
 * the file under the sysfs root, and whether vendors put a placeholder there
 * (the UUID has none). */
static const struct smbios_string {
    const char *key, *file;
    size_t off;
    bool placeholder;
} smbios_strings[] = {
    { "vendor", "sys/class/dmi/id/sys_vendor", offsetof(struct vm_machine, vendor), true },
    { "product", "sys/class/dmi/id/product_name", offsetof(struct vm_machine, product), true },
    { "version", "sys/class/dmi/id/product_version", offsetof(struct vm_machine, version), true },
    { "serial", "sys/class/dmi/id/product_serial", offsetof(struct vm_machine, serial), true },
    { "uuid", "sys/class/dmi/id/product_uuid", offsetof(struct vm_machine, uuid), false },
    { "family", "sys/class/dmi/id/product_family", offsetof(struct vm_machine, family), true },
};
#define NSMBIOS_STRINGS (sizeof smbios_strings / sizeof smbios_strings[0])

static void read_smbios_strings(const char *root, struct vm_machine *m)
{
    for (size_t i = 0; i < NSMBIOS_STRINGS; i++) {
        const struct smbios_string *f = &smbios_strings[i];
        char *s = (char *)m + f->off;
        read_line(root, f->file, s, VM_STR);
        if (f->placeholder)
            drop_placeholder(s);
    }
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
    read_smbios_strings(root, m);
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
    for (size_t i = 0; i < NSMBIOS_STRINGS; i++)
        json_kstr_or_null(j, smbios_strings[i].key, (const char *)m + smbios_strings[i].off);
    json_key(j, "macs");
    json_arr_begin(j);
    for (unsigned i = 0; i < m->nmacs; i++)
        json_str(j, m->macs[i]);
    json_arr_end(j);
    vm_machine_hw_json(j, m->memory, m->cpus, m->msdm);
    json_obj_end(j);
}

void vm_machine_hw_json(json_writer *j, uint64_t memory, unsigned cpus, bool msdm)
{
    json_ku64_or_null(j, "memory", memory);
    json_ku64_or_null(j, "cpus", cpus);
    json_kbool(j, "msdm", msdm);
}
