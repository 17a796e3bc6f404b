/* p2v convert: selected partitions of one or more disks into a new image with
 * a fresh partition table. Argument parsing, output and orchestration only:
 * the layout is plan/, the data path copy/ and sink/, the fixups fs/. */
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

#include "cli/commands.h"
#include "convert/convert.h"
#include "convert/planfile.h"
#include "sink/sink.h"
#include "util/json.h"
#include "windows/drivers.h"
#include "util/size.h"

static const char convert_usage[] =
    "Usage: p2v convert [OPTIONS] -o OUTPUT SEL...\n"
    "       p2v convert --plan FILE [-o OUTPUT] [-f] [--verify] [--dry-run] [--json]\n"
    "\n"
    "Write the selected partitions, in the order given, into a new disk image with\n"
    "a new partition table (fresh MBR signature or GPT disk GUID). SEL is DISK:N,\n"
    "partition N of DISK (a block device or an image file) as Linux numbers it\n"
    "(MBR logical partitions from 5). Sources are only read.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUTPUT              the image to create; '-' streams it to standard\n"
    "                                   output (qcow2 laid out in advance, or -O raw; no\n"
    "                                   -c, no --verify); nbd://HOST[:PORT]/EXPORT or\n"
    "                                   nbd+unix:///EXPORT?socket=PATH writes the disk into\n"
    "                                   an NBD export of at least the layout's size (raw;\n"
    "                                   the disk takes the export's size)\n"
    "  -O, --output-format qcow2|raw    default: qcow2 (raw output is sparse)\n"
    "  -t, --table gpt|mbr              default: gpt for --boot uefi, mbr for --boot bios,\n"
    "                                   else the table type of the first SEL's disk\n"
    "      --boot uefi|bios             target firmware (default: the source's)\n"
    "      --size SIZE                  virtual disk size (default: the smallest that\n"
    "                                   holds the layout); grows the LAST partition\n"
    "      --align SIZE                 partition alignment, default 1M\n"
    "      --copy used|all              used (default): only blocks the filesystem uses\n"
    "                                   where it is understood; all: every sector.\n"
    "                                   Zero blocks are never written.\n"
    "  -c, --compress [zlib|zstd]       compressed qcow2 clusters (default zlib; -c before\n"
    "                                   a SEL or an option means zlib)\n"
    "      --cluster-size SIZE          qcow2 cluster size, default 64K (-c and\n"
    "                                   --cluster-size: qcow2 only)\n"
    "      --verify                     read the image back and compare with the sources\n"
    "      --dry-run                    print the planned layout, write nothing\n"
    "      --json                       machine-readable layout and result on stdout\n"
    "  -p, --progress                   progress bar (default when stderr is a terminal)\n"
    "  -f, --force                      replace an existing OUTPUT (a symlink: the file it\n"
    "                                   points to); never a source or the file behind\n"
    "                                   a source loop device. --dry-run checks the same\n"
    "      --no-msr                     no Microsoft Reserved partition when the table\n"
    "                                   becomes GPT\n"
    "      --add-esp SIZE               add an empty FAT32 EFI System Partition of SIZE\n"
    "                                   (at least 33M) in front, formatted by p2v\n"
    "      --allow-dirty                copy a dirty or hibernated filesystem anyway\n"
    "      --bad-sectors fail|zero      unreadable source sectors (found exactly, after\n"
    "                                   retries): fail (default) stops and lists them;\n"
    "                                   zero writes zeros in their place, their map in\n"
    "                                   OUTPUT.badmap (ddrescue format) and names the\n"
    "                                   files that lost data\n"
    "      --allow-mounted              copy a partition mounted read-write anyway (the\n"
    "                                   copy may be inconsistent); without it such a\n"
    "                                   partition is refused, naming the mount point.\n"
    "                                   Mounted read-only is copied with a notice\n"
    "      --no-windows-fixups          leave Windows' boot stores (BCD), drive letters\n"
    "                                   (MountedDevices) and drivers as they are\n"
    "      --sector-size 512|4096       read image-file sources with this logical sector\n"
    "                                   size (default: detected; block devices report\n"
    "                                   their own)\n"
    "      --active DISK:N              MBR target: make this SEL the active partition\n"
    "                                   (default: the one active on its disk; with bios\n"
    "                                   and none, one whose boot sector has boot code,\n"
    "                                   else the first; a notice says which)\n"
    "      --drivers DIR|ISO            a virtio-win tree or ISO image: each selected\n"
    "                                   Windows gets the virtio storage drivers (viostor,\n"
    "                                   vioscsi) registered offline and the others\n"
    "                                   (netkvm, balloon, vioserial, qemu-ga) staged for\n"
    "                                   its first boot (docs/drivers.md)\n"
    "      --target-bus virtio-blk|virtio-scsi|sata|ide\n"
    "                                   the disk controller the image must boot on;\n"
    "                                   virtio-blk/virtio-scsi need the driver from\n"
    "                                   --drivers, else the conversion is refused\n"
    "      --save-plan FILE             write the validated selection and options as a plan\n"
    "                                   file (JSON, docs/plan-files.md); without -o only that\n"
    "      --plan FILE                  take the selections and options from a plan file;\n"
    "                                   its disks are found by identity (table, signature or\n"
    "                                   GUID, size) if their device names changed, and a\n"
    "                                   disk or partition that changed is refused. -o, -f,\n"
    "                                   --verify, --dry-run, --json and -p may be added\n"
    "  -h, --help                       this text\n"
    "\n"
    "A selected Windows always gets its built-in AHCI and IDE drivers (storahci or\n"
    "msahci, atapi, intelide, pciide) set to boot start, so it boots on a SATA or IDE\n"
    "controller; the dry run lists every driver and registry value it sets.\n"
    "SIZE takes bytes or K/M/G/T suffixes (powers of 1024).\n"
    "The image is written under a temporary name beside OUTPUT and renamed at the end;\n"
    "on an error or a signal (INT, TERM, HUP, PIPE, QUIT, USR1, USR2) it is removed\n"
    "(when it cannot be, the error names it). A temporary file of an interrupted\n"
    "run to the same OUTPUT that no process has open is named, or removed with -f.\n"
    "--dry-run also checks that OUTPUT's directory can take a new file.\n"
    "A partition type with no equivalent in the target table, a BIOS boot partition\n"
    "into MBR, LDM (dynamic disk) and Storage Spaces partitions are refused.\n"
    "Windows: every BCD device element (\\Boot\\BCD, \\EFI\\Microsoft\\Boot\\BCD on the\n"
    "selected NTFS and FAT partitions) and every MountedDevices value naming a\n"
    "copied partition is rewritten to its new place, in a copy-on-write overlay\n"
    "(the source is never written); the dry run and --json list each change.\n"
    "Windows selected without any boot store (no BCD, no ESP, no BCD-Template) is\n"
    "refused. A UEFI Windows moved to --boot bios gets bootmgr, \\Boot and a new\n"
    "BCD (from BCD-Template) on the active partition.\n"
    "See docs/windows.md.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

struct convert_args {
    const char *output;
    sink_opts sink;
    plan_opts plan;
    plan_extra add_esp;         /* --add-esp: plan.extra points here */
    bool copy_all;
    bool cluster_given;
    bool format_given;
    const char *active;         /* --active DISK:N */
    uint32_t sector_size;       /* --sector-size for image files; 0: detected */
    bool verify, dry_run, json, progress, force, allow_dirty, no_windows_fixups, allow_mounted;
    enum salvage_policy bad_sectors;
    const char *drivers;        /* --drivers DIR|ISO */
    int target_bus;             /* enum drv_bus; 0: not given */
    const char *plan_file;      /* --plan FILE */
    const char *save_plan;      /* --save-plan FILE */
    const char *layout_option;  /* the first option that shapes the layout (long name) */
    char **sels;
    int nsels;
};

/* ---- arguments ---- */

static int usage_error(const char *fmt, const char *arg)
{
    fputs("p2v: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(convert_usage, stderr);
    return P2V_EXIT_USAGE;
}

/* SEL = DISK:N, split at the last colon (a path may hold colons). */
static int parse_sel(const char *s, char **path, unsigned *number)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return -EINVAL;
    unsigned long n = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > 1000000)
            return -EINVAL;
    }
    if (n == 0)
        return -EINVAL;
    *path = strndup(s, (size_t)(colon - s));
    *number = (unsigned)n;
    return *path ? 0 : -ENOMEM;
}

static int parse_size_opt(const char *name, const char *v, uint64_t *out)
{
    if (size_parse(v, out) < 0 || *out == 0)
        return usage_error("invalid size for %s", name);
    return 0;
}

/* Options whose argument may be the next word (skipped by the join below). */
static bool takes_next_word(const char *a)
{
    static const char *const opts[] = { "-o", "-O", "-t", "--output", "--output-format",
                                        "--table", "--boot", "--size", "--align", "--copy",
                                        "--cluster-size", "--add-esp", "--active",
                                        "--bad-sectors", "--plan", "--save-plan" };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strcmp(a, opts[i]))
            return true;
    return false;
}

/* "-c zstd" / "--compress zlib": getopt cannot take an optional argument in
 * the next word, so such pairs are joined first. The next word is the
 * compression name when it is zlib or zstd, or any word that is not a SEL
 * (no ':') and not an option; "-c lz4" then fails as an unknown compression.
 * "-c" before a SEL or an option means zlib. The joined words are in
 * *joined_out, freed with free_joined_args(). */
static char **join_compress_args(int argc, char **argv, int *nargc, char ***joined_out)
{
    char **v = calloc((size_t)argc + 1, sizeof *v);
    char **joined = calloc((size_t)argc + 1, sizeof *joined);
    int n = 0;
    if (!v || !joined) {
        free(v);
        free(joined);
        return NULL;
    }
    for (int i = 0; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (i > 0 && !strcmp(argv[i], "--")) {
            for (; i < argc; i++)
                v[n++] = argv[i];
            break;
        }
        if (i > 0 && (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--compress")) && next &&
            next[0] != '-' &&
            (!strcmp(next, "zlib") || !strcmp(next, "zstd") || !strchr(next, ':'))) {
            size_t len = strlen(next) + sizeof "--compress=";
            if (!(joined[n] = malloc(len))) {
                for (int k = 0; k < argc; k++)
                    free(joined[k]);
                free(joined);
                free(v);
                return NULL;
            }
            snprintf(joined[n], len, "--compress=%s", next);
            v[n] = joined[n];
            n++;
            i++;
        } else if (i > 0 && takes_next_word(argv[i]) && next) {
            v[n++] = argv[i];
            v[n++] = argv[++i];
        } else {
            v[n++] = argv[i];
        }
    }
    *joined_out = joined;
    *nargc = n;
    return v;
}

static void free_joined_args(char **v, char **joined, int argc)
{
    for (int k = 0; joined && k < argc; k++)
        free(joined[k]);
    free(joined);
    free(v);
}

enum {
    OPT_BOOT = 256, OPT_SIZE, OPT_ALIGN, OPT_COPY, OPT_CLUSTER, OPT_VERIFY, OPT_DRY_RUN,
    OPT_JSON, OPT_NO_MSR, OPT_ALLOW_DIRTY, OPT_NO_WINDOWS_FIXUPS, OPT_ADD_ESP, OPT_ACTIVE, OPT_SECTOR_SIZE,
    OPT_DRIVERS, OPT_TARGET_BUS,
    OPT_PLAN, OPT_SAVE_PLAN, OPT_BAD_SECTORS, OPT_ALLOW_MOUNTED,
};

/* Options that shape the layout or the copy: with --plan they come from the
 * plan file, so giving one as well is a usage error. */
static bool is_layout_option(int c)
{
    switch (c) {
    case 'O': case 't': case 'c': case OPT_BOOT: case OPT_SIZE: case OPT_ALIGN: case OPT_COPY:
    case OPT_CLUSTER: case OPT_NO_MSR: case OPT_ALLOW_DIRTY: case OPT_ADD_ESP: case OPT_ACTIVE:
    case OPT_SECTOR_SIZE:
        return true;
    default:
        return false;
    }
}

static int parse_args(int argc, char **argv, struct convert_args *a)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "output-format", required_argument, NULL, 'O' },
        { "table", required_argument, NULL, 't' },
        { "boot", required_argument, NULL, OPT_BOOT },
        { "size", required_argument, NULL, OPT_SIZE },
        { "align", required_argument, NULL, OPT_ALIGN },
        { "copy", required_argument, NULL, OPT_COPY },
        { "compress", optional_argument, NULL, 'c' },
        { "cluster-size", required_argument, NULL, OPT_CLUSTER },
        { "verify", no_argument, NULL, OPT_VERIFY },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "json", no_argument, NULL, OPT_JSON },
        { "progress", no_argument, NULL, 'p' },
        { "force", no_argument, NULL, 'f' },
        { "no-msr", no_argument, NULL, OPT_NO_MSR },
        { "allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY },
        { "no-windows-fixups", no_argument, NULL, OPT_NO_WINDOWS_FIXUPS },
        { "add-esp", required_argument, NULL, OPT_ADD_ESP },
        { "active", required_argument, NULL, OPT_ACTIVE },
        { "sector-size", required_argument, NULL, OPT_SECTOR_SIZE },
        { "drivers", required_argument, NULL, OPT_DRIVERS },
        { "target-bus", required_argument, NULL, OPT_TARGET_BUS },
        { "plan", required_argument, NULL, OPT_PLAN },
        { "save-plan", required_argument, NULL, OPT_SAVE_PLAN },
        { "bad-sectors", required_argument, NULL, OPT_BAD_SECTORS },
        { "allow-mounted", no_argument, NULL, OPT_ALLOW_MOUNTED },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t v;
    int c, r;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:O:t:c::pfh", longopts, NULL)) != -1) {
        if (is_layout_option(c) && !a->layout_option)
            for (const struct option *lo = longopts; lo->name && !a->layout_option; lo++)
                if (lo->val == c)
                    a->layout_option = lo->name;
        switch (c) {
        case 'o': a->output = optarg; break;
        case OPT_PLAN: a->plan_file = optarg; break;
        case OPT_SAVE_PLAN: a->save_plan = optarg; break;
        case 'O':
            a->format_given = true;
            if (!strcmp(optarg, "qcow2"))
                a->sink.format = SINK_QCOW2;
            else if (!strcmp(optarg, "raw"))
                a->sink.format = SINK_RAW;
            else
                return usage_error("unknown output format '%s' (qcow2 or raw)", optarg);
            break;
        case 't':
            if (!strcmp(optarg, "gpt"))
                a->plan.table = PTABLE_GPT;
            else if (!strcmp(optarg, "mbr") || !strcmp(optarg, "dos"))
                a->plan.table = PTABLE_MBR;
            else
                return usage_error("unknown table type '%s' (gpt or mbr)", optarg);
            break;
        case OPT_BOOT:
            if (!strcmp(optarg, "uefi"))
                a->plan.boot = PLAN_FW_UEFI;
            else if (!strcmp(optarg, "bios"))
                a->plan.boot = PLAN_FW_BIOS;
            else
                return usage_error("unknown firmware '%s' (uefi or bios)", optarg);
            break;
        case OPT_SIZE:
            if ((r = parse_size_opt("--size", optarg, &a->plan.size)))
                return r;
            break;
        case OPT_ALIGN:
            if ((r = parse_size_opt("--align", optarg, &a->plan.align)))
                return r;
            break;
        case OPT_COPY:
            if (!strcmp(optarg, "used"))
                a->copy_all = false;
            else if (!strcmp(optarg, "all"))
                a->copy_all = true;
            else
                return usage_error("unknown --copy mode '%s' (used or all)", optarg);
            break;
        case 'c':
            if (!optarg || !strcmp(optarg, "zlib"))
                a->sink.compression = SINK_COMPRESS_ZLIB;
            else if (!strcmp(optarg, "zstd"))
                a->sink.compression = SINK_COMPRESS_ZSTD;
            else
                return usage_error("unknown compression '%s' (zlib or zstd)", optarg);
            break;
        case OPT_CLUSTER:
            if ((r = parse_size_opt("--cluster-size", optarg, &v)))
                return r;
            if (v < 512 || v > (2u << 20) || (v & (v - 1)))
                return usage_error("--cluster-size %s: must be a power of two from 512 to 2M",
                                   optarg);
            a->sink.cluster_size = (uint32_t)v;
            a->cluster_given = true;
            break;
        case OPT_VERIFY: a->verify = true; break;
        case OPT_DRY_RUN: a->dry_run = true; break;
        case OPT_JSON: a->json = true; break;
        case 'p': a->progress = true; break;
        case 'f': a->force = a->sink.force = true; break;
        case OPT_NO_MSR: a->plan.no_msr = true; break;
        case OPT_ALLOW_DIRTY: a->allow_dirty = true; break;
        case OPT_ALLOW_MOUNTED: a->allow_mounted = true; break;
        case OPT_BAD_SECTORS:
            if (!strcmp(optarg, "fail"))
                a->bad_sectors = SALVAGE_FAIL;
            else if (!strcmp(optarg, "zero"))
                a->bad_sectors = SALVAGE_ZERO;
            else
                return usage_error("unknown --bad-sectors mode '%s' (fail or zero)", optarg);
            break;
        case OPT_NO_WINDOWS_FIXUPS: a->no_windows_fixups = true; break;
        case OPT_SECTOR_SIZE:
            if (size_parse(optarg, &v) < 0 || (v != 512 && v != 4096))
                return usage_error("--sector-size must be 512 or 4096, not '%s'", optarg);
            a->sector_size = (uint32_t)v;
            break;
        case OPT_ADD_ESP:
            if ((r = parse_size_opt("--add-esp", optarg, &v)))
                return r;
            a->add_esp = (plan_extra){ .before = 0, .kind = PLAN_PART_SYNTHETIC,
                                       .role = PLAN_ROLE_ESP, .bytes = v,
                                       .gpt_type = GPT_TYPE_ESP, .mbr_type = 0xEF,
                                       .name = "EFI system partition" };
            a->plan.extra = &a->add_esp;
            a->plan.nextra = 1;
            break;
        case OPT_ACTIVE: {
            char *ap;
            unsigned an;
            if (parse_sel(optarg, &ap, &an) < 0)
                return usage_error("--active '%s': not DISK:N (one of the SELs)", optarg);
            free(ap);
            a->active = optarg;
            break;
        }
        case OPT_DRIVERS: a->drivers = optarg; break;
        case OPT_TARGET_BUS: {
            enum drv_bus bus;
            if (drv_bus_parse(optarg, &bus) < 0)
                return usage_error("unknown --target-bus '%s' (virtio-blk, virtio-scsi, sata or ide)",
                                   optarg);
            a->target_bus = (int)bus;
            break;
        }
        case 'h': fputs(convert_usage, stdout); return -1;
        case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    a->sels = argv + optind;
    a->nsels = argc - optind;
    if (sink_output_is_stream(a->output) && a->json)
        return usage_error("%s", "--json and -o - both want standard output");
    /* An NBD export receives the disk itself. */
    if (sink_output_is_nbd(a->output) && !a->format_given)
        a->sink.format = SINK_RAW;
    if (a->plan_file) {
        if (a->nsels)
            return usage_error("--plan: the selections come from the plan file, not '%s'",
                               a->sels[0]);
        if (a->layout_option)
            return usage_error("--plan: --%s comes from the plan file; make a new plan to "
                               "change it", a->layout_option);
        return 0;
    }
    if (!a->output && !a->dry_run && !a->save_plan)
        return usage_error("%s", "no OUTPUT given (-o OUTPUT)");
    if (a->nsels == 0)
        return usage_error("%s", "no partition selected (SEL = DISK:N)");
    if (a->sink.compression && a->sink.format == SINK_RAW)
        return usage_error("%s", "-c/--compress applies to qcow2 output only, not -O raw");
    if (a->cluster_given && a->sink.format == SINK_RAW)
        return usage_error("%s", "--cluster-size applies to qcow2 output only, not -O raw");
    for (int i = 0; i < a->nsels; i++) {
        char *p;
        unsigned n;
        if (parse_sel(a->sels[i], &p, &n) < 0)
            return usage_error("'%s' is not a partition selection (DISK:N, e.g. /dev/sda:2)",
                               a->sels[i]);
        free(p);
    }
    return 0;
}

/* ---- progress and messages ---- */

struct progress {
    bool on;
    bool open;                  /* a bar is on the line, not yet ended */
    enum convert_phase phase;
    double t0, last;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const convert_progress *p)
{
    struct progress *pr = ctx;
    double t = now_s();
    if (!pr->on)
        return;
    if (!pr->open || p->phase != pr->phase) {
        if (pr->open)
            fputc('\n', stderr);
        pr->phase = p->phase;
        pr->t0 = t;
        pr->last = 0;
        pr->open = true;
    }
    if (t - pr->last < 0.2 && p->done < p->total)
        return;
    pr->last = t;
    double el = t - pr->t0, rate = el > 0 ? (double)p->done / el : 0;
    int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\r%s [%s] %3d%% %7.1f MiB/s ETA %d:%02d ",
            p->phase == CONVERT_PHASE_VERIFY ? "verifying" : "copying", bar, pct,
            rate / 1048576.0, (int)eta / 60, (int)eta % 60);
    if (p->done >= p->total) {
        fputc('\n', stderr);
        pr->open = false;
    }
    fflush(stderr);
}

static void on_message(void *ctx, enum convert_level level, const char *msg)
{
    (void)ctx;
    if (level == CONVERT_WARNING)
        cli_warning("%s", msg);
    else
        cli_notice("%s", msg);
}

/* ---- the command ---- */

static volatile sig_atomic_t g_cancel;

static int run(convert_job *job, const char *output, const struct convert_args *a)
{
    struct progress pr = { .on = a->progress };
    convert_events ev = { .message = on_message, .progress = on_progress, .ctx = &pr };
    convert_result res;
    p2v_err err = { { 0 } };
    /* Every signal that would kill us mid-copy cancels instead, so that the
     * temporary file is removed: Ctrl-C, kill, a dropped ssh session (HUP),
     * a closed pipe, Ctrl-\ and the user signals. */
    sink_signals sigs;
    sink_catch_signals(&sigs, &g_cancel);
    int r = convert_run(job, &ev, &g_cancel, &res, &err);
    sink_restore_signals(&sigs);
    if (pr.open)
        fputc('\n', stderr);
    if (r < 0) {
        cli_error("%s", err.msg);
        if (sink_output_is_stream(output))
            cli_error("the image on standard output is incomplete");
        else if (!sink_output_is_nbd(output))
            cli_error("%s was not written", output);
        return P2V_EXIT_FAIL;
    }
    if (a->json) {
        json_writer j;
        json_init(&j, stdout);
        convert_layout_json(job, &j, &res);
    }
    char h1[32], h2[32], h3[32];
    bool direct = sink_output_is_stream(output) || sink_output_is_nbd(output);
    cli_notice("%s written: %s virtual, %s copied, %s %s, %.1f s%s",
               sink_output_is_stream(output) ? "standard output" : output,
               size_human(plan_disk_bytes(convert_job_plan(job)), h1, sizeof h1),
               size_human(res.read, h2, sizeof h2), size_human(res.file_bytes, h3, sizeof h3),
               direct ? "sent" : "in the file", res.seconds, res.verify_ok ? ", verified" : "");
    return P2V_EXIT_OK;
}

/* The request the library takes, from the parsed arguments. */
static int make_request(struct convert_args *a, convert_request *rq, convert_sel **sels,
                        convert_sel *active)
{
    convert_sel *s = calloc((size_t)a->nsels, sizeof *s);
    if (!s)
        return -1;
    *sels = s;
    for (int i = 0; i < a->nsels; i++)
        if (parse_sel(a->sels[i], (char **)&s[i].disk, &s[i].number) < 0)
            return -1;
    if (a->active && parse_sel(a->active, (char **)&active->disk, &active->number) < 0)
        return -1;
    *rq = (convert_request){ .output = a->output, .sink = a->sink, .plan = a->plan,
                             .sels = s, .nsels = (size_t)a->nsels,
                             .active = a->active ? active : NULL,
                             .sector_size = a->sector_size, .copy_all = a->copy_all,
                             .allow_dirty = a->allow_dirty, .verify = a->verify,
                             .allow_mounted = a->allow_mounted, .bad_sectors = a->bad_sectors,
                             .force = a->force, .no_windows_fixups = a->no_windows_fixups,
                             .drivers = a->drivers, .target_bus = a->target_bus };
    return 0;
}

/* --plan FILE: the request from the file, its disks found again by identity;
 * -o, -f, --verify, --bad-sectors and --allow-mounted given here apply on top. */
static int load_plan(const struct convert_args *a, const convert_events *ev,
                     convert_planfile **pf, convert_request *rq)
{
    p2v_err err;
    if (convert_planfile_load(a->plan_file, pf, &err) < 0 ||
        convert_planfile_resolve(*pf, NULL, 0, ev, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    const convert_request *prq = convert_planfile_request(*pf);
    if (!prq) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    *rq = *prq;
    if (a->output)
        rq->output = a->output;
    rq->force = rq->sink.force = a->force;
    rq->verify = rq->verify || a->verify;
    rq->allow_mounted = a->allow_mounted;
    rq->bad_sectors = a->bad_sectors;
    if (sink_output_is_nbd(rq->output))
        rq->sink.format = SINK_RAW;   /* an NBD export receives the disk itself */
    rq->no_windows_fixups = rq->no_windows_fixups || a->no_windows_fixups;
    rq->drivers = a->drivers; /* the driver options are not part of a plan file */
    rq->target_bus = a->target_bus;
    if (!rq->output && !a->dry_run && !a->save_plan)
        return usage_error("%s", "no OUTPUT given (-o OUTPUT; the plan names none)");
    return 0;
}

static void free_sels(convert_sel *sels, int n, convert_sel *active)
{
    for (int i = 0; sels && i < n; i++)
        free((char *)sels[i].disk);
    free(sels);
    free((char *)active->disk);
}

int cmd_convert(int argc, char **argv)
{
    struct convert_args a = { 0 };
    convert_request rq;
    convert_sel *sels = NULL, active = { 0 };
    convert_job *job = NULL;
    convert_planfile *pf = NULL;
    int nargc, status = P2V_EXIT_FAIL;
    char **joined = NULL;
    char **nargv = join_compress_args(argc, argv, &nargc, &joined);
    if (!nargv) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    int r = parse_args(nargc, nargv, &a);
    if (r != 0) {
        status = r < 0 ? P2V_EXIT_OK : r;
        goto out;
    }
    a.progress = a.progress || isatty(STDERR_FILENO);
    convert_events ev = { .message = on_message };
    p2v_err err;
    if (a.plan_file) {
        if ((r = load_plan(&a, &ev, &pf, &rq)) != 0) {
            status = r;
            goto out;
        }
    } else if (make_request(&a, &rq, &sels, &active) < 0) {
        cli_error("out of memory");
        goto out;
    }
    if ((r = convert_plan_from_request(&rq, &ev, &job, &err)) < 0) {
        if (r == CONVERT_EUSAGE) {
            status = usage_error("%s", err.msg);
        } else {
            cli_error("%s", err.msg);
        }
        goto out;
    }
    if (a.save_plan) {
        if (convert_planfile_save(job, a.save_plan, &err) < 0) {
            cli_error("%s", err.msg);
            goto out;
        }
        cli_notice("plan saved to %s", a.save_plan);
    }
    if (!rq.output && !a.dry_run) {
        status = P2V_EXIT_OK;   /* --save-plan alone */
        goto out;
    }
    if (a.dry_run) {
        if (a.json) {
            json_writer j;
            json_init(&j, stdout);
            convert_layout_json(job, &j, NULL);
        } else {
            convert_layout_text(job, stdout);
        }
        status = P2V_EXIT_OK;
        goto out;
    }
    if (!a.json)
        convert_layout_text(job, stderr);
    status = run(job, rq.output, &a);
out:
    convert_job_free(job);
    convert_planfile_free(pf);
    free_sels(sels, a.nsels, &active);
    free_joined_args(nargv, joined, argc);
    return status;
}
