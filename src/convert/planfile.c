/* Plan files: writing, and the fields of a parsed plan (the bytes checked by
 * planfile_json.c, the tree built by json-c). Resolving: planfile_resolve.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "convert/planfile_impl.h"
#include "windows/drivers.h"

/* ---- writing ---- */

static const char *enum_str(int v, const char *const *names, size_t n)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

static const char *const table_names[] = { [PTABLE_NONE] = NULL, [PTABLE_MBR] = "mbr",
                                           [PTABLE_GPT] = "gpt" };
static const char *const boot_names[] = { [PLAN_FW_NONE] = NULL, [PLAN_FW_BIOS] = "bios",
                                          [PLAN_FW_UEFI] = "uefi" };
static const char *const compress_names[] = { [SINK_COMPRESS_NONE] = NULL,
                                              [SINK_COMPRESS_ZLIB] = "zlib",
                                              [SINK_COMPRESS_ZSTD] = "zstd" };
static const char *const bad_names[] = { [SALVAGE_FAIL] = "fail", [SALVAGE_ZERO] = "zero" };
static const char *const network_names[] = { "keep", "dhcp" };
#define NAMES(a) a, sizeof a / sizeof a[0]

static json_object *jstr_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

json_object *planfile_options_json(const convert_request *rq, const convert_vmdef_opts *vm)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "format",
                           json_object_new_string(rq->sink.format == SINK_RAW ? "raw" : "qcow2"));
    json_object_object_add(o, "cluster_size", json_object_new_int64(rq->sink.cluster_size));
    json_object_object_add(o, "compress",
                           jstr_or_null(enum_str(rq->sink.compression, NAMES(compress_names))));
    json_object_object_add(o, "compress_level", json_object_new_int64(rq->sink.level));
    json_object_object_add(o, "table", jstr_or_null(enum_str(rq->plan.table, NAMES(table_names))));
    json_object_object_add(o, "boot", jstr_or_null(enum_str(rq->plan.boot, NAMES(boot_names))));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)rq->plan.size));
    json_object_object_add(o, "align", json_object_new_int64((int64_t)rq->plan.align));
    json_object_object_add(o, "copy", json_object_new_string(rq->copy_all ? "all" : "used"));
    json_object_object_add(o, "no_msr", json_object_new_boolean(rq->plan.no_msr));
    uint64_t esp = 0;
    for (size_t i = 0; i < rq->plan.nextra; i++)
        if (rq->plan.extra[i].role == PLAN_ROLE_ESP)
            esp = rq->plan.extra[i].bytes;
    json_object_object_add(o, "add_esp", json_object_new_int64((int64_t)esp));
    json_object_object_add(o, "allow_dirty", json_object_new_boolean(rq->allow_dirty));
    json_object_object_add(o, "copy_system_files",
                           json_object_new_boolean(rq->copy_system_files));
    json_object_object_add(o, "no_windows_fixups",
                           json_object_new_boolean(rq->no_windows_fixups));
    json_object_object_add(o, "keep_services", json_object_new_boolean(rq->keep_services));
    json_object_object_add(o, "network", json_object_new_string(rq->network_dhcp ? "dhcp"
                                                                                  : "keep"));
    json_object_object_add(o, "verify", json_object_new_boolean(rq->verify));
    json_object_object_add(o, "sector_size", json_object_new_int64(rq->sector_size));
    json_object_object_add(o, "min_free", json_object_new_int64((int64_t)rq->min_free));
    /* 0 alone is the default margin (as in plans before this key); an
     * explicit zero says so. Written only then, so other plans stay as
     * they were. */
    if (rq->min_free_set && !rq->min_free)
        json_object_object_add(o, "min_free_set", json_object_new_boolean(true));
    json_object_object_add(o, "drivers", jstr_or_null(rq->drivers));
    json_object_object_add(o, "target_bus",
                           jstr_or_null(rq->target_bus ? drv_bus_name(rq->target_bus) : NULL));
    json_object_object_add(o, "bad_sectors",
                           json_object_new_string(enum_str(rq->bad_sectors, NAMES(bad_names))));
    json_object_object_add(o, "bad_sectors_map", jstr_or_null(rq->bad_sectors_map));
    /* Written only with --vm-def, so plans without one stay as they were. */
    json_object *vmj = planfile_vmdef_json(vm);
    if (vmj)
        json_object_object_add(o, "vm_def", vmj);
    return o;
}

static json_object *disk_json(const convert_disk *d)
{
    convert_planfile_disk id;
    json_object *o = json_object_new_object();
    planfile_disk_identity(d, &id);
    json_object_object_add(o, "path", json_object_new_string(d->path));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)id.size));
    json_object_object_add(o, "sector_size", json_object_new_int64(id.sector_size));
    json_object_object_add(o, "table", json_object_new_string(ptable_type_str(id.table)));
    json_object_object_add(o, "id", id.id[0] ? json_object_new_string(id.id) : NULL);
    return o;
}

static json_object *sel_json(const convert_job *job, size_t i)
{
    const plan_sel *ps = &job->psel[i];
    const convert_disk *d = job->src[ps->disk];
    const ptable_part *p = ptable_find(d->pt, ps->number);
    char type[64] = "";
    json_object *o = json_object_new_object();
    json_object_object_add(o, "disk", json_object_new_int64((int64_t)ps->disk));
    json_object_object_add(o, "number", json_object_new_int64(ps->number));
    if (p) {
        planfile_part_type(d->pt, p, type, sizeof type);
        json_object_object_add(o, "start", json_object_new_int64((int64_t)p->start));
        json_object_object_add(o, "size", json_object_new_int64((int64_t)p->size));
        json_object_object_add(o, "type", json_object_new_string(type));
    }
    json_object_object_add(o, "fstype", json_object_new_string(ps->fstype));
    json_object_object_add(o, "label", json_object_new_string(ps->label));
    const convert_sel *cs = &job->rq.sels[i];
    json_object_object_add(o, "new_size", cs->size_min ? json_object_new_string("min")
                                          : cs->size ? json_object_new_int64((int64_t)cs->size)
                                          : NULL);
    return o;
}

static json_object *plan_json(const convert_job *job, const convert_vmdef_opts *vm)
{
    const convert_request *rq = &job->rq;
    json_object *root = json_object_new_object();
    json_object_object_add(root, "p2v_plan", json_object_new_int(CONVERT_PLANFILE_VERSION));
    json_object_object_add(root, "output", jstr_or_null(rq->output_template ? rq->output_template
                                                                            : rq->output));
    json_object_object_add(root, "options", planfile_options_json(rq, vm ? vm : &rq->vmdef));
    json_object *disks = json_object_new_array();
    for (size_t i = 0; i < job->nsrc; i++)
        json_object_array_add(disks, disk_json(job->src[i]));
    json_object_object_add(root, "disks", disks);
    json_object *sels = json_object_new_array();
    for (size_t i = 0; i < rq->nsels; i++)
        json_object_array_add(sels, sel_json(job, i));
    json_object_object_add(root, "selections", sels);
    json_object_object_add(root, "active",
                           rq->plan.active ? json_object_new_int64((int64_t)rq->plan.active - 1)
                                           : NULL);
    return root;
}

static int write_root(json_object *root, FILE *f, p2v_err *err)
{
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s || fputs(s, f) < 0 || fputc('\n', f) < 0)
        return p2v_errf(err, -EIO, "writing the plan: %s", strerror(errno));
    return 0;
}

int convert_planfile_write(const convert_job *job, FILE *f, p2v_err *err)
{
    json_object *root = plan_json(job, NULL);
    int r = write_root(root, f, err);
    json_object_put(root);
    return r;
}

int planfile_save_root(json_object *root, const char *path, p2v_err *err)
{
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return p2v_errf(err, -ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.p2vtmp", path);
    int r, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        r = p2v_errf(err, -errno, "%s: cannot create: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(tmp);
        return r;
    }
    r = write_root(root, f, err);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        r = r < 0 ? r : p2v_errf(err, -errno, "%s: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && r == 0)
        r = p2v_errf(err, -errno, "%s: %s", tmp, strerror(errno));
    if (r == 0 && rename(tmp, path) < 0)
        r = p2v_errf(err, -errno, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (r < 0)
        unlink(tmp);
    free(tmp);
    return r;
}

int convert_planfile_save(const convert_job *job, const char *path, p2v_err *err)
{
    json_object *root = plan_json(job, NULL);
    int r = planfile_save_root(root, path, err);
    json_object_put(root);
    return r;
}

/* ---- parsing ---- */

/* Field access that names what is wrong. */
int planfile_get(json_object *o, const char *key, json_type want, bool optional,
               json_object **out, const char *where, p2v_err *err)
{
    static const char *const tn[] = { [json_type_null] = "null", [json_type_boolean] = "a boolean",
                                       [json_type_double] = "a number", [json_type_int] = "an integer",
                                       [json_type_object] = "an object", [json_type_array] = "an array",
                                       [json_type_string] = "a string" };
    *out = NULL;
    if (!json_object_object_get_ex(o, key, out) || !*out ||
        json_object_get_type(*out) == json_type_null) {
        *out = NULL;
        return optional ? 0 : p2v_errf(err, -EINVAL, "plan: %s: \"%s\" is missing", where, key);
    }
    if (json_object_get_type(*out) != want)
        return p2v_errf(err, -EINVAL, "plan: %s: \"%s\" must be %s", where, key, tn[want]);
    return 0;
}

int planfile_get_u64(json_object *o, const char *key, bool optional, uint64_t max, uint64_t *v,
                   const char *where, p2v_err *err)
{
    json_object *x;
    int r = planfile_get(o, key, json_type_int, optional, &x, where, err);
    if (r < 0 || !x)
        return r;
    errno = 0;
    int64_t n = json_object_get_int64(x);
    if (n < 0 || errno || (uint64_t)n > max)
        return p2v_errf(err, -ERANGE, "plan: %s: \"%s\" is out of range", where, key);
    *v = (uint64_t)n;
    return 0;
}

int planfile_get_str(json_object *o, const char *key, bool optional, const char **v,
                   const char *where, p2v_err *err)
{
    json_object *x;
    int r = planfile_get(o, key, json_type_string, optional, &x, where, err);
    *v = x ? json_object_get_string(x) : NULL;
    return r;
}

int planfile_get_bool(json_object *o, const char *key, bool *v, const char *where, p2v_err *err)
{
    json_object *x;
    int r = planfile_get(o, key, json_type_boolean, true, &x, where, err);
    if (x)
        *v = json_object_get_boolean(x);
    return r;
}

/* An optional string that must be one of names[]; *v keeps its index. */
static int get_enum(json_object *o, const char *key, const char *const *names, size_t n, int *v,
                    p2v_err *err)
{
    const char *s;
    int r = planfile_get_str(o, key, true, &s, "options", err);
    if (r < 0 || !s)
        return r;
    for (size_t i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], s)) {
            *v = (int)i;
            return 0;
        }
    return p2v_errf(err, -EINVAL, "plan: options: \"%s\": unknown value \"%s\"", key, s);
}

int planfile_check_keys(json_object *o, const char *const *keys, const char *where, p2v_err *err)
{
    json_object_object_foreach(o, k, v) {
        (void)v;
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = !strcmp(keys[i], k);
        if (!known)
            return p2v_errf(err, -EINVAL, "plan: %s: unknown field \"%s\"", where, k);
    }
    return 0;
}

/* The paths a plan names besides OUTPUT: "drivers" (the virtio-win tree or
 * ISO) and "bad_sectors_map", as they were given; and "target_bus". */
static int parse_path_options(json_object *o, convert_planfile *pf, p2v_err *err)
{
    const char *drivers, *bus, *map;
    int r;
    if ((r = planfile_get_str(o, "drivers", true, &drivers, "options", err)) < 0 ||
        (r = planfile_get_str(o, "target_bus", true, &bus, "options", err)) < 0 ||
        (r = planfile_get_str(o, "bad_sectors_map", true, &map, "options", err)) < 0)
        return r;
    if (map && !*map)
        return p2v_errf(err, -EINVAL, "plan: options: \"bad_sectors_map\" is empty (null for "
                        "OUTPUT.badmap)");
    if (map && !(pf->bad_sectors_map = strdup(map)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    pf->rq.bad_sectors_map = pf->bad_sectors_map;
    enum drv_bus b = DRV_BUS_NONE;
    if (bus && drv_bus_parse(bus, &b) < 0)
        return p2v_errf(err, -EINVAL, "plan: options: \"target_bus\": unknown value \"%s\" "
                        "(virtio-blk, virtio-scsi, sata or ide)", bus);
    pf->rq.target_bus = (int)b;
    if (drivers && !*drivers)
        return p2v_errf(err, -EINVAL, "plan: options: \"drivers\" is empty (null for none)");
    if (drivers && !(pf->drivers = strdup(drivers)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    pf->rq.drivers = pf->drivers;
    return 0;
}

int planfile_parse_options(json_object *o, convert_planfile *pf, p2v_err *err)
{
    static const char *const keys[] = { "format", "cluster_size", "compress", "table", "boot",
                                        "size", "align", "copy", "no_msr", "add_esp",
                                        "allow_dirty", "verify", "sector_size", "min_free",
                                        "compress_level", "no_windows_fixups", "drivers",
                                        "target_bus", "bad_sectors", "bad_sectors_map",
                                        "keep_services", "copy_system_files", "network",
                                        "min_free_set", "vm_def", NULL };
    static const char *const formats[] = { [SINK_QCOW2] = "qcow2", [SINK_RAW] = "raw" };
    static const char *const copies[] = { "used", "all" };
    convert_request *rq = &pf->rq;
    int fmt = SINK_QCOW2, comp = 0, table = 0, boot = 0, copy = 0, bad = SALVAGE_FAIL, net = 0, r;
    uint64_t cluster = 0, esp = 0, ssz = 0, level = 0;
    if ((r = planfile_check_keys(o, keys, "options", err)) < 0 ||
        (r = get_enum(o, "format", NAMES(formats), &fmt, err)) < 0 ||
        (r = get_enum(o, "compress", NAMES(compress_names), &comp, err)) < 0 ||
        (r = get_enum(o, "table", NAMES(table_names), &table, err)) < 0 ||
        (r = get_enum(o, "boot", NAMES(boot_names), &boot, err)) < 0 ||
        (r = get_enum(o, "copy", NAMES(copies), &copy, err)) < 0 ||
        (r = planfile_get_u64(o, "cluster_size", true, 2u << 20, &cluster, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "compress_level", true, 19, &level, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "size", true, PLAN_MAX_DISK_BYTES, &rq->plan.size, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "align", true, PLAN_MAX_ALIGN, &rq->plan.align, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "add_esp", true, PLAN_MAX_DISK_BYTES, &esp, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "sector_size", true, 4096, &ssz, "options", err)) < 0 ||
        (r = planfile_get_u64(o, "min_free", true, PLAN_MAX_DISK_BYTES, &rq->min_free, "options",
                     err)) < 0 ||
        (r = planfile_get_bool(o, "min_free_set", &rq->min_free_set, "options", err)) < 0 ||
        (r = planfile_get_bool(o, "no_msr", &rq->plan.no_msr, "options", err)) < 0 ||
        (r = planfile_get_bool(o, "allow_dirty", &rq->allow_dirty, "options", err)) < 0 ||
        (r = planfile_get_bool(o, "copy_system_files", &rq->copy_system_files, "options", err)) < 0 ||
        (r = planfile_get_bool(o, "no_windows_fixups", &rq->no_windows_fixups, "options", err)) < 0 ||
        (r = planfile_get_bool(o, "keep_services", &rq->keep_services, "options", err)) < 0 ||
        (r = get_enum(o, "network", NAMES(network_names), &net, err)) < 0 ||
        (r = planfile_get_bool(o, "verify", &rq->verify, "options", err)) < 0 ||
        (r = parse_path_options(o, pf, err)) < 0 ||
        (r = planfile_parse_vmdef(o, pf, err)) < 0 ||
        (r = get_enum(o, "bad_sectors", NAMES(bad_names), &bad, err)) < 0)
        return r;
    if (cluster && (cluster < 512 || (cluster & (cluster - 1))))
        return p2v_errf(err, -EINVAL, "plan: options: \"cluster_size\" must be a power of two "
                                      "from 512 to 2M");
    if (ssz && ssz != 512 && ssz != 4096)
        return p2v_errf(err, -EINVAL, "plan: options: \"sector_size\" must be 512 or 4096");
    if (level && (comp == SINK_COMPRESS_NONE || (comp == SINK_COMPRESS_ZLIB && level > 9)))
        return p2v_errf(err, -EINVAL,
                        "plan: options: \"compress_level\" %llu needs \"compress\" zstd "
                        "(1-19) or zlib (1-9)",
                        (unsigned long long)level);
    rq->sink.format = (enum sink_format)fmt;
    rq->sink.compression = (enum sink_compression)comp;
    rq->sink.level = (int)level;
    rq->sink.cluster_size = (uint32_t)cluster;
    rq->plan.table = (enum ptable_type)table;
    rq->plan.boot = (enum plan_firmware)boot;
    rq->copy_all = copy == 1;
    rq->network_dhcp = net == 1;
    rq->sector_size = (uint32_t)ssz;
    rq->bad_sectors = (enum salvage_policy)bad;
    if (esp) {
        pf->has_add_esp = true;
        pf->add_esp = (plan_extra){ .before = 0, .kind = PLAN_PART_SYNTHETIC,
                                    .role = PLAN_ROLE_ESP, .bytes = esp,
                                    .gpt_type = GPT_TYPE_ESP, .mbr_type = 0xEF,
                                    .name = "EFI system partition" };
    }
    return 0;
}

static int parse_disk(json_object *o, convert_planfile_disk *d, size_t i, p2v_err *err)
{
    static const char *const keys[] = { "path", "size", "sector_size", "table", "id", NULL };
    static const char *const tables[] = { [PTABLE_NONE] = "none", [PTABLE_MBR] = "mbr",
                                          [PTABLE_GPT] = "gpt" };
    char where[48];
    const char *path, *table, *id;
    uint64_t ssz = 0;
    int r;
    snprintf(where, sizeof where, "disks[%zu]", i);
    if (json_object_get_type(o) != json_type_object)
        return p2v_errf(err, -EINVAL, "plan: %s must be an object", where);
    if ((r = planfile_check_keys(o, keys, where, err)) < 0 ||
        (r = planfile_get_str(o, "path", false, &path, where, err)) < 0 ||
        (r = planfile_get_u64(o, "size", false, PLAN_MAX_DISK_BYTES, &d->size, where, err)) < 0 ||
        (r = planfile_get_u64(o, "sector_size", false, 65536, &ssz, where, err)) < 0 ||
        (r = planfile_get_str(o, "table", false, &table, where, err)) < 0 ||
        (r = planfile_get_str(o, "id", true, &id, where, err)) < 0)
        return r;
    if (!bd_sector_size_valid(ssz))
        return p2v_errf(err, -EINVAL, "plan: %s: \"sector_size\" %llu is not a sector size",
                        where, (unsigned long long)ssz);
    d->sector_size = (uint32_t)ssz;
    int t = -1;
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++)
        if (!strcmp(tables[k], table))
            t = (int)k;
    if (t < 0)
        return p2v_errf(err, -EINVAL, "plan: %s: \"table\" must be mbr, gpt or none", where);
    d->table = (enum ptable_type)t;
    if (snprintf(d->id, sizeof d->id, "%s", id ? id : "") >= (int)sizeof d->id)
        return p2v_errf(err, -EINVAL, "plan: %s: \"id\" is too long", where);
    if (!(d->path = strdup(path)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

/* "new_size": null, a byte count, or "min". */
static int parse_new_size(json_object *o, convert_planfile_sel *s, const char *where,
                          p2v_err *err)
{
    json_object *x;
    if (!json_object_object_get_ex(o, "new_size", &x) || !x ||
        json_object_get_type(x) == json_type_null)
        return 0;
    if (json_object_get_type(x) == json_type_string) {
        if (strcmp(json_object_get_string(x), "min"))
            return p2v_errf(err, -EINVAL, "plan: %s: \"new_size\" must be bytes or \"min\"",
                            where);
        s->new_size_min = true;
        return 0;
    }
    int r = planfile_get_u64(o, "new_size", false, PLAN_MAX_DISK_BYTES, &s->new_size, where, err);
    if (r == 0 && s->new_size == 0)
        r = p2v_errf(err, -EINVAL, "plan: %s: \"new_size\" must be more than 0", where);
    return r;
}

static int parse_sel(json_object *o, const convert_planfile *pf, convert_planfile_sel *s,
                     size_t i, p2v_err *err)
{
    static const char *const keys[] = { "disk", "number", "start", "size", "type",
                                        "fstype", "label", "new_size", NULL };
    char where[48];
    uint64_t disk, number;
    const char *type, *ignored;
    int r;
    snprintf(where, sizeof where, "selections[%zu]", i);
    if (json_object_get_type(o) != json_type_object)
        return p2v_errf(err, -EINVAL, "plan: %s must be an object", where);
    if ((r = planfile_check_keys(o, keys, where, err)) < 0 ||
        (r = planfile_get_u64(o, "disk", false, SIZE_MAX, &disk, where, err)) < 0 ||
        (r = planfile_get_u64(o, "number", false, 1000000, &number, where, err)) < 0 ||
        (r = planfile_get_u64(o, "start", false, UINT64_MAX >> 8, &s->start, where, err)) < 0 ||
        (r = planfile_get_u64(o, "size", false, UINT64_MAX >> 8, &s->size, where, err)) < 0 ||
        (r = planfile_get_str(o, "type", false, &type, where, err)) < 0 ||
        (r = planfile_get_str(o, "fstype", true, &ignored, where, err)) < 0 ||
        (r = planfile_get_str(o, "label", true, &ignored, where, err)) < 0 ||
        (r = parse_new_size(o, s, where, err)) < 0)
        return r;
    if (disk >= pf->ndisks)
        return p2v_errf(err, -EINVAL, "plan: %s: \"disk\" %llu: the plan has %zu disks", where,
                        (unsigned long long)disk, pf->ndisks);
    if (number == 0)
        return p2v_errf(err, -EINVAL, "plan: %s: \"number\" must be 1 or more", where);
    s->disk = (size_t)disk;
    s->number = (unsigned)number;
    snprintf(s->type, sizeof s->type, "%s", type);
    return 0;
}

static int parse_array(json_object *root, const char *key, size_t *n, json_object **arr,
                       p2v_err *err)
{
    int r = planfile_get(root, key, json_type_array, false, arr, "top level", err);
    if (r < 0)
        return r;
    *n = json_object_array_length(*arr);
    if (*n == 0)
        return p2v_errf(err, -EINVAL, "plan: \"%s\" is empty", key);
    if (*n > 4096)
        return p2v_errf(err, -EINVAL, "plan: \"%s\" has %zu entries (at most 4096)", key, *n);
    return 0;
}

int planfile_parse_root(json_object *root, convert_planfile *pf, p2v_err *err)
{
    static const char *const keys[] = { "p2v_plan", "output", "options", "disks",
                                        "selections", "active", NULL };
    json_object *opts, *disks, *sels;
    uint64_t version, active;
    const char *output;
    int r;
    if (json_object_get_type(root) != json_type_object)
        return p2v_errf(err, -EINVAL, "plan: not a JSON object");
    if ((r = planfile_get_u64(root, "p2v_plan", false, UINT32_MAX, &version, "top level", err)) < 0)
        return r;
    if (version != CONVERT_PLANFILE_VERSION && version != CONVERT_PLANFILE_ROLES)
        return p2v_errf(err, -ENOTSUP, "plan: version %llu; this p2v reads versions %d and %d",
                        (unsigned long long)version, CONVERT_PLANFILE_VERSION,
                        CONVERT_PLANFILE_ROLES);
    pf->version = (unsigned)version;
    if (version == CONVERT_PLANFILE_ROLES)
        return planfile_parse_roles(root, pf, err);
    if ((r = planfile_check_keys(root, keys, "top level", err)) < 0 ||
        (r = planfile_get_str(root, "output", true, &output, "top level", err)) < 0 ||
        (r = planfile_get(root, "options", json_type_object, false, &opts, "top level", err)) < 0 ||
        (r = planfile_parse_options(opts, pf, err)) < 0 ||
        (r = parse_array(root, "disks", &pf->ndisks, &disks, err)) < 0 ||
        (r = parse_array(root, "selections", &pf->nsels, &sels, err)) < 0)
        return r;
    if (output && !(pf->output = strdup(output)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    pf->disks = calloc(pf->ndisks, sizeof *pf->disks);
    pf->sels = calloc(pf->nsels, sizeof *pf->sels);
    if (!pf->disks || !pf->sels)
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < pf->ndisks; i++)
        if ((r = parse_disk(json_object_array_get_idx(disks, i), &pf->disks[i], i, err)) < 0)
            return r;
    for (size_t i = 0; i < pf->nsels; i++)
        if ((r = parse_sel(json_object_array_get_idx(sels, i), pf, &pf->sels[i], i, err)) < 0)
            return r;
    active = pf->nsels;
    if ((r = planfile_get_u64(root, "active", true, pf->nsels - 1, &active, "top level", err)) < 0)
        return r;
    pf->has_active = active < pf->nsels;
    pf->active = (size_t)active;
    return 0;
}

const convert_request *convert_planfile_request(convert_planfile *pf)
{
    if (!pf->rq_sels && !(pf->rq_sels = calloc(pf->nsels, sizeof *pf->rq_sels)))
        return NULL;
    for (size_t i = 0; i < pf->nsels; i++) {
        size_t d = pf->sels[i].disk;
        pf->rq_sels[i] = (convert_sel){ .disk = pf->resolved && pf->resolved[d]
                                                    ? pf->resolved[d] : pf->disks[d].path,
                                        .number = pf->sels[i].number,
                                        .size = pf->sels[i].new_size,
                                        .size_min = pf->sels[i].new_size_min };
    }
    pf->rq.sels = pf->rq_sels;
    pf->rq.nsels = pf->nsels;
    pf->rq.output = pf->output;
    if (pf->has_add_esp) {
        pf->rq.plan.extra = &pf->add_esp;
        pf->rq.plan.nextra = 1;
    }
    pf->rq_active = pf->has_active ? pf->rq_sels[pf->active] : (convert_sel){ 0 };
    pf->rq.active = pf->has_active ? &pf->rq_active : NULL;
    return &pf->rq;
}

void convert_planfile_free(convert_planfile *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; pf->disks && i < pf->ndisks; i++) {
        free(pf->disks[i].path);
        if (pf->resolved)
            free(pf->resolved[i]);
    }
    free(pf->disks);
    free(pf->sels);
    free(pf->resolved);
    free(pf->output);
    free(pf->drivers);
    free(pf->bad_sectors_map);
    free(pf->rq_sels);
    free(pf->vmdef_spec);
    planfile_roles_free(pf);
    free(pf);
}
