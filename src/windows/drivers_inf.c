/* What an INF means for one Windows: the models for its arch and version,
 * the devices (hardware IDs), the service it installs and the files of the
 * package. Syntax is inf.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows/drivers.h"
#include "windows/drivers_impl.h"

static const char *arch_token(enum drv_arch a) { return a == DRV_ARCH_AMD64 ? "amd64" : "x86"; }

/* A [Manufacturer] decoration "NT[arch][.major[.minor[.type[.suite[.build]]]]]"
 * ranked for w: -1 when it does not apply, else higher is more specific. */
static long decoration_rank(const char *d, const drv_windows *w)
{
    if (strncasecmp(d, "NT", 2) != 0)
        return -1;
    d += 2;
    const char *dot = strchr(d, '.');
    size_t alen = dot ? (size_t)(dot - d) : strlen(d);
    long rank = 0;
    if (alen > 0) {
        const char *want = arch_token(w->arch);
        if (alen != strlen(want) || strncasecmp(d, want, alen) != 0)
            return -1;
        rank += 1L << 40;
    } else if (w->arch != DRV_ARCH_X86) {
        return -1; /* plain "NT" models are for x86 only, as Windows reads them */
    }
    unsigned long part[5] = {0, 0, 0, 0, 0};
    size_t np = 0;
    while (dot && np < 5) {
        char *end;
        part[np] = strtoul(dot + 1, &end, 0);
        if (end == dot + 1 && *end != '.' && *end != '\0')
            return -1;
        np++;
        dot = *end == '.' ? end : NULL;
    }
    unsigned long major = part[0], minor = part[1], type = part[2], build = part[4];
    if (major > w->major || (major == w->major && minor > w->minor))
        return -1;
    if (np >= 3 && type != 0 && ((type == 1) == w->server))
        return -1; /* 1 workstation; 2 domain controller and 3 server */
    if (np >= 5 && build > w->build)
        return -1;
    if (major > 255 || minor > 255 || build > 0xFFFFF)
        return -1;
    rank += (long)(major << 32 | minor << 24 | build << 2 | (type ? 1 : 0));
    return rank;
}

/* The models section of one [Manufacturer] line for w, or NULL. */
static char *models_section_for(const inf_line *l, const drv_windows *w)
{
    if (l->nfields == 0 || !*l->fields[0])
        return NULL;
    long best = -1;
    const char *dec = NULL;
    for (size_t i = 1; i < l->nfields; i++) {
        long r = decoration_rank(l->fields[i], w);
        if (r > best) {
            best = r;
            dec = l->fields[i];
        }
    }
    if (!dec)
        return l->nfields == 1 && w->arch == DRV_ARCH_X86 ? strdup(l->fields[0]) : NULL;
    return drv_strcat3(l->fields[0], ".", dec);
}

/* The DDInstall section for name on w: name.NT<arch>, name.NT, name. */
static char *install_section_for(const inf *f, const char *name, const drv_windows *w)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, ".NT%s", arch_token(w->arch));
    const char *cands[] = {suffix, ".NT", ""};
    for (size_t i = 0; i < 3; i++) {
        char *s = drv_strcat3(name, cands[i], "");
        if (!s || inf_section_find(f, s))
            return s;
        free(s);
    }
    return NULL;
}

static int add_device(drv_package *p, const char *hwid, const char *desc, const char *install)
{
    drv_device *n = realloc(p->devices, (p->ndevices + 1) * sizeof *n);
    if (!n)
        return -ENOMEM;
    p->devices = n;
    drv_device *d = &p->devices[p->ndevices];
    d->hwid = strdup(hwid);
    d->description = strdup(desc ? desc : "");
    d->install = strdup(install);
    p->ndevices++;
    return d->hwid && d->description && d->install ? 0 : -ENOMEM;
}

static int read_models(const inf *f, const char *section, const drv_windows *w, drv_package *p,
                       const char *what, p2v_err *err)
{
    const inf_section *s = inf_section_find(f, section);
    if (!s)
        return p2v_errf(err, -EINVAL, "%s: [Manufacturer] names models section [%s], which is missing",
                        what, section);
    for (size_t i = 0; i < s->nlines; i++) {
        const inf_line *l = &s->lines[i];
        if (l->nfields < 2 || !*l->fields[0])
            continue;
        char *install = install_section_for(f, l->fields[0], w);
        if (!install)
            return p2v_errf(err, -EINVAL, "%s: line %u: install section [%s] is missing", what,
                            l->lineno, l->fields[0]);
        for (size_t k = 1; k < l->nfields; k++) {
            if (*l->fields[k] && add_device(p, l->fields[k], l->key, install) < 0) {
                free(install);
                return -ENOMEM;
            }
        }
        free(install);
    }
    return 0;
}

static int read_manufacturers(const inf *f, const drv_windows *w, drv_package *p, const char *what,
                              p2v_err *err)
{
    const inf_section *m = inf_section_find(f, "Manufacturer");
    for (size_t i = 0; m && i < m->nlines; i++) {
        char *models = models_section_for(&m->lines[i], w);
        if (!models)
            continue;
        int rc = read_models(f, models, w, p, what, err);
        if (rc == 0 && !p->models_section) {
            p->models_section = models;
            p->manufacturer = strdup(m->lines[i].key ? m->lines[i].key : "");
        } else {
            free(models);
        }
        if (rc < 0)
            return rc;
    }
    if (p->ndevices == 0) {
        char desc[96];
        drv_windows_describe(w, desc, sizeof desc);
        return p2v_errf(err, -ENOENT, "%s: no models for %s", what, desc);
    }
    return 0;
}

static unsigned long field_num(const inf_section *s, const char *key, unsigned long dflt)
{
    const inf_line *l = inf_line_find(s, key);
    if (!l || l->nfields == 0)
        return dflt;
    return strtoul(l->fields[0], NULL, 0);
}

static char *field_dup(const inf_section *s, const char *key)
{
    const inf_line *l = inf_line_find(s, key);
    return l && l->nfields && *l->fields[0] ? strdup(l->fields[0]) : NULL;
}

/* The base name of a ServiceBinary such as "%12%\viostor.sys". */
static char *binary_name(const char *path)
{
    const char *b = strrchr(path, '\\');
    const char *s = strrchr(path, '/');
    if (s && (!b || s > b))
        b = s;
    return strdup(b ? b + 1 : path);
}

/* The AddService line of the install's .Services section: the one flagged
 * SPSVCINST_ASSOCSERVICE (0x2, the device's function driver), else the first. */
static const inf_line *add_service_line(const inf_section *svcs)
{
    const inf_line *first = NULL;
    for (size_t i = 0; svcs && i < svcs->nlines; i++) {
        const inf_line *l = &svcs->lines[i];
        if (!l->key || strcasecmp(l->key, "AddService") != 0 || l->nfields < 1 || !*l->fields[0])
            continue;
        if (!first)
            first = l;
        if (l->nfields >= 2 && (strtoul(l->fields[1], NULL, 0) & 0x2))
            return l;
    }
    return first;
}

static int read_service(const inf *f, drv_package *p, const char *what, p2v_err *err)
{
    char *name = drv_strcat3(p->devices[0].install, ".Services", "");
    if (!name)
        return -ENOMEM;
    const inf_line *add = add_service_line(inf_section_find(f, name));
    free(name);
    if (!add)
        return p2v_errf(err, -EINVAL, "%s: [%s.Services] has no AddService", what, p->devices[0].install);
    if (add->nfields < 3 || !*add->fields[2])
        return p2v_errf(err, -EINVAL, "%s: line %u: AddService %s names no service-install section",
                        what, add->lineno, add->fields[0]);
    const inf_section *si = inf_section_find(f, add->fields[2]);
    if (!si)
        return p2v_errf(err, -EINVAL, "%s: line %u: service-install section [%s] is missing", what,
                        add->lineno, add->fields[2]);
    const inf_line *bin = inf_line_find(si, "ServiceBinary");
    if (!bin || bin->nfields == 0 || !*bin->fields[0])
        return p2v_errf(err, -EINVAL, "%s: [%s] has no ServiceBinary", what, add->fields[2]);
    drv_service *s = &p->service;
    s->name = strdup(add->fields[0]);
    s->binary = binary_name(bin->fields[0]);
    s->type = (uint32_t)field_num(si, "ServiceType", 1);
    s->start = (uint32_t)field_num(si, "StartType", 3);
    s->error_control = (uint32_t)field_num(si, "ErrorControl", 1);
    s->group = field_dup(si, "LoadOrderGroup");
    s->display_name = field_dup(si, "DisplayName");
    return s->name && s->binary ? 0 : -ENOMEM;
}

static int add_file(drv_package *p, const char *name)
{
    if (!name || !*name)
        return 0;
    for (size_t i = 0; i < p->nfiles; i++)
        if (strcasecmp(p->files[i], name) == 0)
            return 0;
    char **n = realloc(p->files, (p->nfiles + 1) * sizeof *n);
    if (!n)
        return -ENOMEM;
    p->files = n;
    p->files[p->nfiles] = strdup(name);
    if (!p->files[p->nfiles])
        return -ENOMEM;
    for (char *c = p->files[p->nfiles]; *c; c++)
        if (*c == '\\')
            *c = '/';
    p->nfiles++;
    return 0;
}

/* A file a CopyFiles section line copies: "dest[,source[,...]]"; the source
 * name is what the package holds. */
static int add_copyfiles_section(const inf *f, const char *name, drv_package *p)
{
    const inf_section *s = inf_section_find(f, name);
    for (size_t i = 0; s && i < s->nlines; i++) {
        const inf_line *l = &s->lines[i];
        const char *file = l->nfields >= 2 && *l->fields[1] ? l->fields[1]
                           : l->nfields >= 1 ? l->fields[0] : l->key;
        if (add_file(p, file) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int add_copyfiles(const inf *f, const char *install, drv_package *p)
{
    const inf_section *s = inf_section_find(f, install);
    for (size_t i = 0; s && i < s->nlines; i++) {
        const inf_line *l = &s->lines[i];
        if (!l->key || strcasecmp(l->key, "CopyFiles") != 0)
            continue;
        for (size_t k = 0; k < l->nfields; k++) {
            int rc = l->fields[k][0] == '@' ? add_file(p, l->fields[k] + 1)
                                            : add_copyfiles_section(f, l->fields[k], p);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Names an INF decorates for an architecture, the decorated one first and
 * the plain one where there is none: [SourceDisksFiles.amd64], then
 * [SourceDisksFiles]; CatalogFile.NTamd64 of [Version], then CatalogFile. */
static const inf_section *arch_section(const inf *f, const char *base, const drv_windows *w)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", base, arch_token(w->arch));
    const inf_section *s = inf_section_find(f, name);
    return s ? s : inf_section_find(f, base);
}

static const char *arch_value(const inf *f, const char *section, const char *key,
                              const drv_windows *w)
{
    char name[64];
    snprintf(name, sizeof name, "%s.NT%s", key, arch_token(w->arch));
    const char *v = inf_value(f, section, name);
    return v ? v : inf_value(f, section, key);
}

/* [SourceDisksFiles.<arch>] (or the plain one): "name = disk[,subdir[,...]]". */
static int add_source_disks_files(const inf *f, const drv_windows *w, drv_package *p)
{
    const inf_section *s = arch_section(f, "SourceDisksFiles", w);
    for (size_t i = 0; s && i < s->nlines; i++) {
        const inf_line *l = &s->lines[i];
        const char *file = l->key ? l->key : l->nfields ? l->fields[0] : NULL;
        if (!file)
            continue;
        int rc;
        if (l->key && l->nfields >= 2 && *l->fields[1]) {
            char *sub = drv_strcat3(l->fields[1], "\\", file);
            rc = sub ? add_file(p, sub) : -ENOMEM;
            free(sub);
        } else {
            rc = add_file(p, file);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_files(const inf *f, const drv_windows *w, drv_package *p)
{
    const char *cat = arch_value(f, "Version", "CatalogFile", w);
    if (cat && !(p->catalog = strdup(cat)))
        return -ENOMEM;
    int rc = add_file(p, p->inf_name);
    if (rc == 0)
        rc = add_file(p, p->catalog);
    if (rc == 0)
        rc = add_file(p, p->service.binary);
    for (size_t i = 0; rc == 0 && i < p->ndevices; i++)
        if (i == 0 || strcmp(p->devices[i].install, p->devices[i - 1].install) != 0)
            rc = add_copyfiles(f, p->devices[i].install, p);
    if (rc == 0)
        rc = add_source_disks_files(f, w, p);
    return rc;
}

static int read_version(const inf *f, drv_package *p)
{
    const inf_line *dv = inf_line_find(inf_section_find(f, "Version"), "DriverVer");
    if (dv && dv->nfields >= 1) {
        p->driver_ver = drv_strcat3(dv->fields[0], dv->nfields >= 2 ? "," : "",
                                    dv->nfields >= 2 ? dv->fields[1] : "");
        if (dv->nfields >= 2 && *dv->fields[1])
            p->version = strdup(dv->fields[1]);
    }
    const inf_section *v = inf_section_find(f, "Version");
    p->provider = field_dup(v, "Provider");
    p->class_name = field_dup(v, "Class");
    p->class_guid = field_dup(v, "ClassGuid");
    return 0;
}

static int split_path(const char *inf_path, drv_package *p)
{
    p->inf_path = strdup(inf_path);
    const char *slash = strrchr(inf_path, '/');
    p->inf_name = strdup(slash ? slash + 1 : inf_path);
    p->dir = slash ? strndup(inf_path, (size_t)(slash - inf_path)) : strdup("");
    return p->inf_path && p->inf_name && p->dir ? 0 : -ENOMEM;
}

int drv_package_from_inf(const inf *f, const char *inf_path, const drv_windows *w,
                         drv_package *out, p2v_err *err)
{
    drv_package p;
    memset(&p, 0, sizeof p);
    int rc = split_path(inf_path, &p);
    if (rc == 0)
        rc = read_manufacturers(f, w, &p, inf_path, err);
    if (rc == 0)
        rc = read_service(f, &p, inf_path, err);
    if (rc == 0)
        rc = read_version(f, &p);
    if (rc == 0)
        rc = read_files(f, w, &p);
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "%s: out of memory", inf_path);
    if (rc < 0) {
        drv_package_free(&p);
        return rc;
    }
    *out = p;
    return 0;
}

void drv_package_free(drv_package *p)
{
    if (!p)
        return;
    free(p->inf_path);
    free(p->inf_name);
    free(p->dir);
    free(p->driver_ver);
    free(p->version);
    free(p->provider);
    free(p->class_name);
    free(p->class_guid);
    free(p->catalog);
    free(p->manufacturer);
    free(p->models_section);
    for (size_t i = 0; i < p->ndevices; i++) {
        free(p->devices[i].hwid);
        free(p->devices[i].description);
        free(p->devices[i].install);
    }
    free(p->devices);
    free(p->service.name);
    free(p->service.binary);
    free(p->service.group);
    free(p->service.display_name);
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    memset(p, 0, sizeof *p);
}
