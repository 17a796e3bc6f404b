/* p2v convert: the option parser, by concern: the option table, one parser
 * per value, the checks of the whole command line. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootcheck/bootcheck.h"
#include "cli/commands.h"
#include "cli/copy_timing.h"
#include "convert/convert.h"
#include "convert/planfile.h"
#include "qcow2/qcow2.h"
#include "sink/sink.h"
#include "util/json.h"
#include "util/rbdlib.h"
#include "windows/drivers.h"
#include "util/size.h"
#include "vmdef/vmdef.h"

#include "cli/convert_args.h"

/* ---- arguments ---- */

int convert_usage_error(const char *fmt, const char *arg)
{
    fputs("p2v: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(convert_usage, stderr);
    return P2V_EXIT_USAGE;
}

static int parse_size_opt(const char *name, const char *v, uint64_t *out)
{
    if (size_parse(v, out) < 0 || *out == 0)
        return convert_usage_error("invalid size for %s", name);
    return 0;
}

/* -j N, --queue-depth N: a whole number from 1 to max. */
static int parse_count_opt(const char *name, const char *v, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n < 1 || n > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be a number from 1 to %u, not '%s'", name, max, v);
        return convert_usage_error("%s", msg);
    }
    *out = (unsigned)n;
    return 0;
}

/* ---- the option table ---- */
enum {
    OPT_BOOT = 256, OPT_SIZE, OPT_ALIGN, OPT_COPY, OPT_CLUSTER, OPT_VERIFY, OPT_DRY_RUN,
    OPT_JSON, OPT_NO_MSR, OPT_ALLOW_DIRTY, OPT_NO_WINDOWS_FIXUPS, OPT_ADD_ESP, OPT_ACTIVE, OPT_SECTOR_SIZE,
    OPT_MIN_FREE,
    OPT_DRIVERS, OPT_TARGET_BUS, OPT_KEEP_SERVICES,
    OPT_PLAN, OPT_SAVE_PLAN, OPT_BAD_SECTORS, OPT_BAD_SECTORS_MAP, OPT_ALLOW_MOUNTED, OPT_BOOT_CHECK,
    OPT_QUEUE_DEPTH, OPT_IO_TIMEOUT, OPT_RBD_TIMEOUT, OPT_RBD_FEATURES, OPT_COPY_SYSTEM_FILES,
    OPT_NETWORK, OPT_REPORT_URL, OPT_REPORT_TOKEN_FILE, OPT_REPORT_CA,
    OPT_VM_DEF, OPT_KEEP_MAC, OPT_KEEP_SMBIOS, OPT_MEMORY, OPT_CPUS, OPT_SECURE_BOOT, OPT_TPM,
};

#define SHORT_OPTS ":o:O:t:c::j:pfh"

static const struct option longopts[] = {
    /* with a short form (SHORT_OPTS) */
    { "output", required_argument, NULL, 'o' },
    { "output-format", required_argument, NULL, 'O' },
    { "table", required_argument, NULL, 't' },
    { "compress", optional_argument, NULL, 'c' },
    { "progress", no_argument, NULL, 'p' },
    { "force", no_argument, NULL, 'f' },
    { "threads", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    /* long only */
    { "boot", required_argument, NULL, OPT_BOOT },
    { "size", required_argument, NULL, OPT_SIZE },
    { "align", required_argument, NULL, OPT_ALIGN },
    { "copy", required_argument, NULL, OPT_COPY },
    { "cluster-size", required_argument, NULL, OPT_CLUSTER },
    { "verify", no_argument, NULL, OPT_VERIFY },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "json", no_argument, NULL, OPT_JSON },
    { "no-msr", no_argument, NULL, OPT_NO_MSR },
    { "allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY },
    { "copy-system-files", no_argument, NULL, OPT_COPY_SYSTEM_FILES },
    { "no-windows-fixups", no_argument, NULL, OPT_NO_WINDOWS_FIXUPS },
    { "add-esp", required_argument, NULL, OPT_ADD_ESP },
    { "active", required_argument, NULL, OPT_ACTIVE },
    { "sector-size", required_argument, NULL, OPT_SECTOR_SIZE },
    { "min-free", required_argument, NULL, OPT_MIN_FREE },
    { "drivers", required_argument, NULL, OPT_DRIVERS },
    { "target-bus", required_argument, NULL, OPT_TARGET_BUS },
    { "keep-services", no_argument, NULL, OPT_KEEP_SERVICES },
    { "network", required_argument, NULL, OPT_NETWORK },
    { "plan", required_argument, NULL, OPT_PLAN },
    { "save-plan", required_argument, NULL, OPT_SAVE_PLAN },
    { "queue-depth", required_argument, NULL, OPT_QUEUE_DEPTH },
    { "io-timeout", required_argument, NULL, OPT_IO_TIMEOUT },
    { "rbd-timeout", required_argument, NULL, OPT_RBD_TIMEOUT },
    { "rbd-features", required_argument, NULL, OPT_RBD_FEATURES },
    { "bad-sectors", required_argument, NULL, OPT_BAD_SECTORS },
    { "bad-sectors-map", required_argument, NULL, OPT_BAD_SECTORS_MAP },
    { "allow-mounted", no_argument, NULL, OPT_ALLOW_MOUNTED },
    { "boot-check", no_argument, NULL, OPT_BOOT_CHECK },
    { "report-url", required_argument, NULL, OPT_REPORT_URL },
    { "report-token-file", required_argument, NULL, OPT_REPORT_TOKEN_FILE },
    { "report-ca", required_argument, NULL, OPT_REPORT_CA },
    { "vm-def", required_argument, NULL, OPT_VM_DEF },
    { "keep-mac", no_argument, NULL, OPT_KEEP_MAC },
    { "keep-smbios", no_argument, NULL, OPT_KEEP_SMBIOS },
    { "memory", required_argument, NULL, OPT_MEMORY },
    { "cpus", required_argument, NULL, OPT_CPUS },
    { "tpm", required_argument, NULL, OPT_TPM },
    { "secure-boot", no_argument, NULL, OPT_SECURE_BOOT },
    { NULL, 0, NULL, 0 },
};

/* Options that shape the result (layout, copy, Windows edits): with --plan
 * they come from the plan file, so giving one as well is a usage error
 * (docs/plan-files.md; --drivers, a path on this machine, may replace the
 * plan's, like -o). */
static bool is_layout_option(int c)
{
    switch (c) {
    case 'O': case 't': case 'c': case OPT_BOOT: case OPT_SIZE: case OPT_ALIGN: case OPT_COPY:
    case OPT_CLUSTER: case OPT_NO_MSR: case OPT_ALLOW_DIRTY: case OPT_ADD_ESP: case OPT_ACTIVE:
    case OPT_SECTOR_SIZE: case OPT_MIN_FREE: case OPT_TARGET_BUS: case OPT_BAD_SECTORS:
    case OPT_NO_WINDOWS_FIXUPS: case OPT_KEEP_SERVICES: case OPT_COPY_SYSTEM_FILES:
    case OPT_NETWORK:
        return true;
    default:
        return false;
    }
}

/* Remember the long name of the first layout option given (for --plan's error). */
static void note_layout_option(struct convert_args *a, int c)
{
    if (!is_layout_option(c) || a->layout_option)
        return;
    for (const struct option *lo = longopts; lo->name && !a->layout_option; lo++)
        if (lo->val == c)
            a->layout_option = lo->name;
}

/* ---- options that take one of a few words ---- */

/* Where a word option's value goes (the value is the enum or bool it stands for). */
static void set_format(struct convert_args *a, int v)
{
    a->format_given = true;
    a->sink.format = (enum sink_format)v;
}
static void set_table(struct convert_args *a, int v) { a->plan.table = (enum ptable_type)v; }
static void set_boot(struct convert_args *a, int v) { a->plan.boot = (enum plan_firmware)v; }
static void set_copy_all(struct convert_args *a, int v) { a->copy_all = v; }
static void set_bad_sectors(struct convert_args *a, int v) { a->bad_sectors = (enum salvage_policy)v; }
static void set_network_dhcp(struct convert_args *a, int v) { a->network_dhcp = v; }
static void set_tpm(struct convert_args *a, int v)
{
    a->vmdef.tpm = (enum convert_tpm)v;
    a->tpm_given = true;
}

struct word_choice {
    const char *word;
    int value;
};

/* Any other word is the usage error "unknown WHAT 'WORD' (CHOICES)". */
struct word_option {
    int opt;
    const char *what, *choices;
    struct word_choice words[4];        /* ended by a NULL word */
    void (*set)(struct convert_args *a, int value);
};

static const struct word_option word_options[] = {
    { 'O', "output format", "qcow2 or raw",
      { { "qcow2", SINK_QCOW2 }, { "raw", SINK_RAW } }, set_format },
    { 't', "table type", "gpt or mbr",
      { { "gpt", PTABLE_GPT }, { "mbr", PTABLE_MBR }, { "dos", PTABLE_MBR } }, set_table },
    { OPT_BOOT, "firmware", "uefi or bios",
      { { "uefi", PLAN_FW_UEFI }, { "bios", PLAN_FW_BIOS } }, set_boot },
    { OPT_COPY, "--copy mode", "used or all", { { "used", false }, { "all", true } }, set_copy_all },
    { OPT_BAD_SECTORS, "--bad-sectors mode", "fail or zero",
      { { "fail", SALVAGE_FAIL }, { "zero", SALVAGE_ZERO } }, set_bad_sectors },
    { OPT_NETWORK, "--network", "keep or dhcp",
      { { "keep", false }, { "dhcp", true } }, set_network_dhcp },
    { OPT_TPM, "--tpm", "yes, no or auto",
      { { "auto", CONVERT_TPM_AUTO }, { "yes", CONVERT_TPM_YES }, { "no", CONVERT_TPM_NO } },
      set_tpm },
};

static const struct word_option *find_word_option(int c)
{
    for (size_t i = 0; i < sizeof word_options / sizeof word_options[0]; i++)
        if (word_options[i].opt == c)
            return &word_options[i];
    return NULL;
}

static int parse_word_option(struct convert_args *a, const struct word_option *o, const char *v)
{
    for (const struct word_choice *w = o->words; w->word; w++)
        if (!strcmp(v, w->word)) {
            o->set(a, w->value);
            return 0;
        }
    char fmt[96];
    snprintf(fmt, sizeof fmt, "unknown %s '%%s' (%s)", o->what, o->choices);
    return convert_usage_error(fmt, v);
}

/* ---- value parsers: 0, or a usage exit status ---- */

/* -c with no word: zlib; -c NAME[:LEVEL] (joined by convert_join_compress_args). */
static int parse_compress(struct convert_args *a, const char *v)
{
    p2v_err e;
    if (!v)
        a->sink.compression = SINK_COMPRESS_ZLIB;
    else if (sink_compression_parse(v, &a->sink.compression, &a->sink.level, &e) < 0)
        return convert_usage_error("%s", e.msg);
    return 0;
}

static int parse_cluster_size(struct convert_args *a, const char *v)
{
    uint64_t n;
    int r;
    if ((r = parse_size_opt("--cluster-size", v, &n)))
        return r;
    if (n < 512 || n > (2u << 20) || (n & (n - 1)))
        return convert_usage_error("--cluster-size %s: must be a power of two from 512 to 2M", v);
    a->sink.cluster_size = (uint32_t)n;
    a->cluster_given = true;
    return 0;
}

static int parse_sector_size(struct convert_args *a, const char *v)
{
    uint64_t n;
    if (size_parse(v, &n) < 0 || (n != 512 && n != 4096))
        return convert_usage_error("--sector-size must be 512 or 4096, not '%s'", v);
    a->sector_size = (uint32_t)n;
    return 0;
}

/* The partition is set up before its size is read: a bad size ends the run. */
static int parse_add_esp(struct convert_args *a, const char *v)
{
    a->add_esp = (plan_extra){ .before = 0, .kind = PLAN_PART_SYNTHETIC,
                               .role = PLAN_ROLE_ESP,
                               .gpt_type = GPT_TYPE_ESP, .mbr_type = 0xEF,
                               .name = "EFI system partition" };
    a->plan.extra = &a->add_esp;
    a->plan.nextra = 1;
    return parse_size_opt("--add-esp", v, &a->add_esp.bytes);
}

static int parse_active(struct convert_args *a, const char *v)
{
    char *ap;
    unsigned an;
    if (convert_parse_sel(v, &ap, &an) < 0)
        return convert_usage_error("--active '%s': not DISK:N (one of the SELs)", v);
    free(ap);
    a->active = v;
    return 0;
}

/* --min-free: 0 is a margin like any other (=min then leaves no free space). */
static int parse_min_free(struct convert_args *a, const char *v)
{
    if (size_parse(v, &a->min_free) < 0)
        return convert_usage_error("invalid size for %s", "--min-free");
    a->min_free_set = true;
    return 0;
}

static int parse_target_bus(struct convert_args *a, const char *v)
{
    enum drv_bus bus;
    if (drv_bus_parse(v, &bus) < 0)
        return convert_usage_error("unknown --target-bus '%s' (virtio-blk, virtio-scsi, sata or ide)",
                                   v);
    a->target_bus = (int)bus;
    return 0;
}

/* Options that shape the result (is_layout_option), and the unknown ones. */
static int apply_layout_option(struct convert_args *a, int c, const char *v, char **argv)
{
    switch (c) {
    case OPT_SIZE: return parse_size_opt("--size", v, &a->plan.size);
    case OPT_ALIGN: return parse_size_opt("--align", v, &a->plan.align);
    case 'c': return parse_compress(a, v);
    case OPT_CLUSTER: return parse_cluster_size(a, v);
    case OPT_NO_MSR: a->plan.no_msr = true; return 0;
    case OPT_ALLOW_DIRTY: a->allow_dirty = true; return 0;
    case OPT_MIN_FREE: return parse_min_free(a, v);
    case OPT_SECTOR_SIZE: return parse_sector_size(a, v);
    case OPT_ADD_ESP: return parse_add_esp(a, v);
    case OPT_ACTIVE: return parse_active(a, v);
    case OPT_TARGET_BUS: return parse_target_bus(a, v);
    case OPT_NO_WINDOWS_FIXUPS: a->no_windows_fixups = true; return 0;
    case OPT_KEEP_SERVICES: a->keep_services = true; return 0;
    case OPT_COPY_SYSTEM_FILES: a->copy_system_files = true; return 0;
    case ':': return convert_usage_error("option '%s' needs an argument", argv[optind - 1]);
    default: return convert_usage_error("unknown option '%s'", argv[optind - 1]);
    }
}

/* --vm-def and the VM's options: they describe the VM around the image and
 * leave the disk alone, so they go on top of --plan too. */
static int apply_vmdef_option(struct convert_args *a, int c, const char *v, char **argv)
{
    p2v_err e;
    const struct vmdef_format *f;
    const char *file;
    switch (c) {
    case OPT_VM_DEF:
        if (vmdef_parse_spec(v, &f, &file, &e) < 0)
            return convert_usage_error("%s", e.msg);
        a->vmdef.spec = v;
        return 0;
    case OPT_KEEP_MAC: a->vmdef.keep_mac = true; return 0;
    case OPT_KEEP_SMBIOS: a->vmdef.keep_smbios = true; return 0;
    case OPT_SECURE_BOOT: a->vmdef.secure_boot = true; return 0;
    case OPT_MEMORY: return parse_size_opt("--memory", v, &a->vmdef.memory);
    case OPT_CPUS: return parse_count_opt("--cpus", v, 1024, &a->vmdef.cpus);
    default: return apply_layout_option(a, c, v, argv);
    }
}

/* Options of this run only (where to, how, what to show), and first the word
 * options of every kind (word_options); -1 after --help. */
static int apply_option(struct convert_args *a, int c, const char *v, char **argv)
{
    const struct word_option *w = find_word_option(c);
    if (w)
        return parse_word_option(a, w, v);
    switch (c) {
    case 'o': a->output = v; return 0;
    case OPT_PLAN: a->plan_file = v; return 0;
    case OPT_SAVE_PLAN: a->save_plan = v; return 0;
    case OPT_BOOT_CHECK: a->boot_check = true; return 0;
    case OPT_REPORT_URL: a->report_url = v; return 0;
    case OPT_REPORT_TOKEN_FILE: a->report_token_file = v; return 0;
    case OPT_REPORT_CA: a->report_ca = v; return 0;
    case 'j': return parse_count_opt("-j", v, QCOW2_MAX_THREADS, &a->sink.threads);
    case OPT_QUEUE_DEPTH:
        return parse_count_opt("--queue-depth", v, COPY_MAX_QUEUE_DEPTH, &a->queue_depth);
    case OPT_IO_TIMEOUT:
        return parse_count_opt("--io-timeout", v, CONVERT_IO_TIMEOUT_MAX, &a->io_timeout);
    case OPT_RBD_TIMEOUT:
        return parse_count_opt("--rbd-timeout", v, CONVERT_IO_TIMEOUT_MAX, &a->sink.rbd_timeout);
    case OPT_RBD_FEATURES: {
        p2v_err e;
        if (rbdlib_features_parse(v, &a->sink.rbd_features, &e) < 0)
            return convert_usage_error("%s", e.msg);
        return 0;
    }
    case OPT_VERIFY: a->verify = true; return 0;
    case OPT_DRY_RUN: a->dry_run = true; return 0;
    case OPT_JSON: a->json = true; return 0;
    case 'p': a->progress = true; return 0;
    case 'f': a->force = a->sink.force = true; return 0;
    case OPT_ALLOW_MOUNTED: a->allow_mounted = true; return 0;
    case OPT_BAD_SECTORS_MAP: a->bad_sectors_map = v; return 0;
    case OPT_DRIVERS: a->drivers = v; return 0;
    case 'h': fputs(convert_usage, stdout); return -1;
    default: return apply_vmdef_option(a, c, v, argv);
    }
}

/* ---- checks of the whole command line ---- */

/* Options that exclude each other, whatever else is given. */
static int check_combinations(struct convert_args *a)
{
    if (a->boot_check && a->dry_run)
        return convert_usage_error("%s", "--boot-check boots the written image: not with --dry-run");
    if (a->report_url && a->dry_run)
        return convert_usage_error("%s", "--report-url reports a conversion: not with --dry-run");
    if (a->report_token_file && !a->report_url)
        return convert_usage_error("%s", "--report-token-file goes with --report-url");
    if (a->report_ca && !a->report_url)
        return convert_usage_error("%s", "--report-ca goes with --report-url");
    if ((a->vmdef.keep_mac || a->vmdef.keep_smbios || a->vmdef.secure_boot || a->vmdef.memory ||
         a->vmdef.cpus || a->tpm_given) && !a->vmdef.spec)
        return convert_usage_error("%s", "--keep-mac, --keep-smbios, --memory, --cpus, "
                                         "--secure-boot and --tpm go with --vm-def");
    struct sink_target_info ti;
    sink_target_info(a->output, &ti);
    if (a->boot_check && !ti.is_file)
        return convert_usage_error("%s", "--boot-check boots an image file: not with -o - or an NBD target");
    if (ti.to_stdout && a->json)
        return convert_usage_error("%s", "--json and -o - both want standard output");
    /* An NBD export receives the disk itself. */
    if (ti.raw_only && !a->format_given)
        a->sink.format = SINK_RAW;
    return 0;
}

/* With --plan the selections and the layout come from the plan file. */
static int check_plan_args(const struct convert_args *a)
{
    /* DISK...: the disks to look on. A DISK:N is a selection, which the plan makes. */
    for (int i = 0; i < a->nsels; i++) {
        char *p;
        unsigned n;
        struct stat st;
        bool sel = stat(a->sels[i], &st) < 0 && strncmp(a->sels[i], "nbd", 3) &&
                   strncmp(a->sels[i], "rbd:", 4) && convert_parse_sel(a->sels[i], &p, &n) == 0;
        if (sel)
            free(p);
        if (sel)
            return convert_usage_error("--plan: the selections come from the plan file, not "
                                       "'%s' (DISK arguments name the disks to look on)",
                                       a->sels[i]);
    }
    if (a->layout_option)
        return convert_usage_error("--plan: --%s comes from the plan file; make a new plan to "
                                   "change it", a->layout_option);
    return 0;
}

/* Without --plan: an OUTPUT, selections that parse, options that fit the format. */
static int check_command_line(const struct convert_args *a)
{
    if (!a->output && !a->dry_run && !a->save_plan)
        return convert_usage_error("%s", "no OUTPUT given (-o OUTPUT)");
    if (a->nsels == 0)
        return convert_usage_error("%s", "no partition selected (SEL = DISK:N)");
    if (a->sink.compression && a->sink.format == SINK_RAW)
        return convert_usage_error("%s", "-c/--compress applies to qcow2 output only, not -O raw");
    if (a->cluster_given && a->sink.format == SINK_RAW)
        return convert_usage_error("%s", "--cluster-size applies to qcow2 output only, not -O raw");
    for (int i = 0; i < a->nsels; i++) {
        char *p;
        unsigned n;
        uint64_t sz;
        bool min;
        if (convert_parse_sel_sized(a->sels[i], &p, &n, &sz, &min) < 0)
            return convert_usage_error("'%s' is not a partition selection (DISK:N, DISK:N=SIZE or "
                                       "DISK:N=min, e.g. /dev/sda:2 or pc.img:3=60G)", a->sels[i]);
        free(p);
    }
    return 0;
}

int convert_parse_args(int argc, char **argv, struct convert_args *a)
{
    int c, r;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, SHORT_OPTS, longopts, NULL)) != -1) {
        note_layout_option(a, c);
        if ((r = apply_option(a, c, optarg, argv)))
            return r;
    }
    a->sels = argv + optind;
    a->nsels = argc - optind;
    if ((r = check_combinations(a)))
        return r;
    return a->plan_file ? check_plan_args(a) : check_command_line(a);
}
