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

#include "boot/boot.h"
#include "cli/commands.h"
#include "copy/copy.h"
#include "fs/fsmap.h"
#include "fs/relocate.h"
#include "plan/plan.h"
#include "fs/probe.h"
#include "ptable/ptable.h"
#include "sink/guard.h"
#include "sink/sink.h"
#include "util/json.h"
#include "util/size.h"

static const char convert_usage[] =
    "Usage: p2v convert [OPTIONS] -o OUTPUT SEL...\n"
    "\n"
    "Write the selected partitions, in the order given, into a new disk image with\n"
    "a new partition table (fresh MBR signature or GPT disk GUID). SEL is DISK:N,\n"
    "partition N of DISK (a block device or an image file) as Linux numbers it\n"
    "(MBR logical partitions from 5). Sources are only read.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUTPUT              the image to create\n"
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
    "      --sector-size 512|4096       read image-file sources with this logical sector\n"
    "                                   size (default: detected; block devices report\n"
    "                                   their own)\n"
    "      --active DISK:N              MBR target: make this SEL the active partition\n"
    "                                   (default: the one active on its disk; with bios\n"
    "                                   and none, one whose boot sector has boot code,\n"
    "                                   else the first; a notice says which)\n"
    "  -h, --help                       this text\n"
    "\n"
    "SIZE takes bytes or K/M/G/T suffixes (powers of 1024).\n"
    "The image is written under a temporary name beside OUTPUT and renamed at the end;\n"
    "on an error or a signal (INT, TERM, HUP, PIPE, QUIT, USR1, USR2) it is removed.\n"
    "A partition type with no equivalent in the target table, a BIOS boot partition\n"
    "into MBR, LDM (dynamic disk) and Storage Spaces partitions are refused.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static volatile sig_atomic_t g_cancel;


struct convert_args {
    const char *output;
    sink_opts sink;
    plan_opts plan;
    plan_extra add_esp;         /* --add-esp: plan.extra points here */
    bool copy_all;
    bool cluster_given;
    const char *active;         /* --active DISK:N */
    uint32_t sector_size;       /* --sector-size for image files; 0: detected */
    bool verify, dry_run, json, progress, force, allow_dirty;
    char **sels;
    int nsels;
};

struct source {
    char *path;
    blockdev *bd;
    ptable *pt;
    struct stat st;
};

struct convert_ctx {
    struct convert_args a;
    struct source *src;
    size_t nsrc;
    plan_source *psrc;
    plan_sel *psel;
    plan *plan;
    char *write_path;   /* where the image goes: OUTPUT, or the file a symlink OUTPUT names */
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
                                        "--cluster-size", "--add-esp", "--active" };
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
    OPT_JSON, OPT_NO_MSR, OPT_ALLOW_DIRTY, OPT_ADD_ESP, OPT_ACTIVE, OPT_SECTOR_SIZE,
};

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
        { "add-esp", required_argument, NULL, OPT_ADD_ESP },
        { "active", required_argument, NULL, OPT_ACTIVE },
        { "sector-size", required_argument, NULL, OPT_SECTOR_SIZE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t v;
    int c, r;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:O:t:c::pfh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': a->output = optarg; break;
        case 'O':
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
        case 'h': fputs(convert_usage, stdout); return -1;
        case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    a->sels = argv + optind;
    a->nsels = argc - optind;
    if (!a->output && !a->dry_run)
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

/* ---- sources ---- */

static int open_source(struct convert_ctx *cx, const char *path, size_t *index)
{
    struct stat st;
    p2v_err err;
    if (stat(path, &st) < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < cx->nsrc; i++)
        if (sink_same_file(&st, &cx->src[i].st)) {
            *index = i;
            return 0;
        }
    struct source *s = &cx->src[cx->nsrc];
    memset(s, 0, sizeof *s);
    s->st = st;
    if (!(s->path = strdup(path)))
        return -1;
    cx->nsrc++;
    if (bd_open(path, &s->bd, &err) < 0) {
        cli_error("%s", err.msg);
        return -1;
    }
    /* Like p2v disks: the option speaks for image files; a block device
     * reports its own logical sector size. */
    if (cx->a.sector_size && bd_sector_size_is_default(s->bd))
        bd_set_sector_size(s->bd, cx->a.sector_size);
    if (ptable_read(s->bd, &s->pt, &err) < 0) {
        cli_error("%s", err.msg);
        return -1;
    }
    for (size_t w = 0; w < s->pt->warnings.count; w++)
        cli_warning("%s", s->pt->warnings.msgs[w]);
    for (size_t w = 0; w < s->pt->notices.count; w++)
        cli_notice("%s", s->pt->notices.msgs[w]);
    *index = cx->nsrc - 1;
    return 0;
}

/* Does the NTFS/FAT boot sector at `off` look bootable for BIOS? */
static bool bios_boot_sector(blockdev *bd, uint64_t off, const char *fstype)
{
    uint8_t b[512];
    p2v_err e;
    return bd_pread(bd, b, sizeof b, off, &e) == 0 && boot_vbr_has_code(b, fstype);
}

/* --active DISK:N: which selection (1-based); 0 and a message if none. */
static size_t find_active(const struct convert_ctx *cx)
{
    char *path;
    unsigned n;
    struct stat st;
    if (parse_sel(cx->a.active, &path, &n) < 0)
        return 0;
    int r = stat(path, &st);
    free(path);
    for (size_t i = 0; r == 0 && i < (size_t)cx->a.nsels; i++)
        if (cx->psel[i].number == n && sink_same_file(&st, &cx->src[cx->psel[i].disk].st))
            return i + 1;
    return 0;
}

static int open_sources(struct convert_ctx *cx)
{
    size_t n = (size_t)cx->a.nsels;
    cx->src = calloc(n, sizeof *cx->src);
    cx->psel = calloc(n, sizeof *cx->psel);
    cx->psrc = calloc(n, sizeof *cx->psrc);
    if (!cx->src || !cx->psel || !cx->psrc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *path;
        unsigned number;
        if (parse_sel(cx->a.sels[i], &path, &number) < 0)
            return -1;
        int r = open_source(cx, path, &cx->psel[i].disk);
        free(path);
        if (r < 0)
            return -1;
        cx->psel[i].number = number;
        const struct source *s = &cx->src[cx->psel[i].disk];
        const ptable_part *pp = ptable_find(s->pt, number);
        if (pp && !pp->container) {
            uint64_t off = pp->start * s->pt->sector_size, len = pp->size * s->pt->sector_size;
            struct fs_identity id;
            p2v_err perr;
            if (off + len <= bd_size(s->bd) && fs_probe(s->bd, off, len, &id, &perr) == 0) {
                snprintf(cx->psel[i].fstype, sizeof cx->psel[i].fstype, "%s", id.type);
                snprintf(cx->psel[i].label, sizeof cx->psel[i].label, "%s", id.label);
                cx->psel[i].bios_boot_code = bios_boot_sector(s->bd, off, id.type);
            }
        }
    }
    for (size_t i = 0; i < cx->nsrc; i++) {
        cx->psrc[i].bd = cx->src[i].bd;
        cx->psrc[i].pt = cx->src[i].pt;
        cx->psrc[i].name = cx->src[i].path;
    }
    return 0;
}

/* OUTPUT must not be a source by any name; an existing OUTPUT needs --force
 * (sink/guard.c). */
static int check_output(struct convert_ctx *cx)
{
    p2v_err err;
    sink_source *ss = calloc(cx->nsrc ? cx->nsrc : 1, sizeof *ss);
    if (!ss) {
        cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < cx->nsrc; i++)
        ss[i] = (sink_source){ .path = cx->src[i].path, .st = cx->src[i].st, .bd = cx->src[i].bd };
    int r = sink_guard_output(cx->a.output, ss, cx->nsrc, cx->a.force, &cx->write_path, &err);
    free(ss);
    if (r < 0)
        cli_error("%s", err.msg);
    return r;
}

/* ---- the layout as text and JSON ---- */

static void part_source_name(const struct convert_ctx *cx, const plan_part *pp, char *out,
                             size_t len)
{
    if (pp->kind == PLAN_PART_COPY)
        snprintf(out, len, "%s:%u", cx->src[pp->disk].path, pp->src->number);
    else
        snprintf(out, len, "(new %s)", pp->kind == PLAN_PART_MSR ? "MSR"
                                       : pp->role == PLAN_ROLE_ESP ? "ESP" : "partition");
}

static void part_type_str(const plan *p, const plan_part *pp, char *out, size_t len)
{
    if (p->table == PTABLE_MBR) {
        snprintf(out, len, "0x%02x %s", pp->mbr_type, ptable_mbr_type_name(pp->mbr_type));
    } else {
        snprintf(out, len, "%s", ptable_gpt_type_name(&pp->type_guid));
    }
}

static void print_layout_text(const struct convert_ctx *cx, FILE *f)
{
    const plan *p = cx->plan;
    char h[32], id[P2V_GUID_STRLEN + 16];
    if (p->table == PTABLE_MBR)
        snprintf(id, sizeof id, "disk signature 0x%08x", p->mbr_signature);
    else {
        char g[P2V_GUID_STRLEN];
        guid_format(&p->disk_guid, g);
        snprintf(id, sizeof id, "disk GUID %s", g);
    }
    fprintf(f, "Target: %s table, %s (%llu bytes), %u-byte sectors, %s alignment\n",
            p->table == PTABLE_MBR ? "MBR" : "GPT", size_human(plan_disk_bytes(p), h, sizeof h),
            (unsigned long long)plan_disk_bytes(p), p->sector_size,
            size_human(p->align, (char[32]){ 0 }, 32));
    fprintf(f, "New identity: %s\n", id);
    fprintf(f, "Firmware: %s%s", plan_firmware_str(p->firmware),
            p->firmware_from_source ? " (from the source)" : "");
    if (p->table == PTABLE_MBR && p->firmware == PLAN_FW_BIOS)
        fprintf(f, ", boot code: %s", p->has_boot_code ? p->boot_code_from : "none");
    fputc('\n', f);
    if (p->has_extended)
        fprintf(f, "Extended partition %u: sectors %llu-%llu\n", p->ext_number,
                (unsigned long long)p->ext_start,
                (unsigned long long)(p->ext_start + p->ext_sectors - 1));
    int wsrc = 6, wtype = 4, wfs = 2, wlabel = 5;
    for (size_t i = 0; i < p->nparts; i++) {
        char srcname[300], type[128];
        part_source_name(cx, &p->parts[i], srcname, sizeof srcname);
        part_type_str(p, &p->parts[i], type, sizeof type);
        wsrc = (int)strlen(srcname) > wsrc ? (int)strlen(srcname) : wsrc;
        wtype = (int)strlen(type) > wtype ? (int)strlen(type) : wtype;
        wfs = (int)strlen(p->parts[i].fstype) > wfs ? (int)strlen(p->parts[i].fstype) : wfs;
        wlabel = (int)strlen(p->parts[i].label) > wlabel ? (int)strlen(p->parts[i].label) : wlabel;
    }
    fprintf(f, "\n%-3s  %-*s  %10s  %10s  %-*s  %-*s  %-*s  %s\n", "NEW", wsrc, "SOURCE", "START",
            "SIZE", wtype, "TYPE", wfs, "FS", wlabel, "LABEL", "FLAGS");
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        char srcname[300], type[128], flags[64] = "";
        part_source_name(cx, pp, srcname, sizeof srcname);
        part_type_str(p, pp, type, sizeof type);
        if (pp->bootable)
            strcat(flags, "active ");
        if (pp->logical)
            strcat(flags, "logical ");
        if (p->table == PTABLE_GPT && pp->attrs)
            snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "attrs=0x%llx",
                     (unsigned long long)pp->attrs);
        if (flags[0] && flags[strlen(flags) - 1] == ' ')
            flags[strlen(flags) - 1] = '\0';
        fprintf(f, "%-3u  %-*s  %10llu  %10s  %-*s  %-*s  %-*s  %s\n", pp->number, wsrc, srcname,
                (unsigned long long)pp->start,
                size_human(pp->sectors * p->sector_size, h, sizeof h), wtype, type, wfs,
                pp->fstype[0] ? pp->fstype : "-", wlabel, pp->label[0] ? pp->label : "-", flags);
    }
}

struct result {
    bool done;
    uint64_t planned, read, written, file_bytes, verified;
    double seconds;
    bool verify_ok;
};

static void json_layout(const struct convert_ctx *cx, json_writer *j, const struct result *res)
{
    const plan *p = cx->plan;
    char g[P2V_GUID_STRLEN], buf[64];
    json_obj_begin(j);
    json_kstr(j, "output", cx->a.output);
    json_kstr(j, "format", cx->a.sink.format == SINK_RAW ? "raw" : "qcow2");
    json_kbool(j, "dry_run", cx->a.dry_run);
    json_kstr(j, "table", ptable_type_str(p->table));
    json_kstr(j, "firmware", plan_firmware_str(p->firmware));
    json_kbool(j, "firmware_from_source", p->firmware_from_source);
    json_ku64(j, "virtual_size", plan_disk_bytes(p));
    json_ku64(j, "sector_size", p->sector_size);
    json_ku64(j, "align", p->align);
    if (p->table == PTABLE_MBR) {
        snprintf(buf, sizeof buf, "0x%08x", p->mbr_signature);
        json_kstr(j, "id", buf);
        json_kstr(j, "boot_code", p->has_boot_code ? p->boot_code_from : NULL);
    } else {
        guid_format(&p->disk_guid, g);
        json_kstr(j, "id", g);
    }
    json_key(j, "partitions");
    json_arr_begin(j);
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        json_obj_begin(j);
        json_ku64(j, "number", pp->number);
        json_kstr(j, "kind", pp->kind == PLAN_PART_COPY ? "copy"
                             : pp->kind == PLAN_PART_MSR ? "msr" : "new");
        if (pp->kind == PLAN_PART_COPY) {
            json_kstr(j, "source_disk", cx->src[pp->disk].path);
            json_ku64(j, "source_number", pp->src->number);
            json_ku64(j, "source_start", pp->src->start);
        } else {
            json_knull(j, "source_disk");
        }
        json_ku64(j, "start", pp->start);
        json_ku64(j, "size", pp->sectors);
        json_ku64(j, "start_bytes", pp->start * p->sector_size);
        json_ku64(j, "size_bytes", pp->sectors * p->sector_size);
        if (p->table == PTABLE_MBR) {
            snprintf(buf, sizeof buf, "0x%02x", pp->mbr_type);
            json_kstr(j, "type", buf);
            json_kstr(j, "type_name", ptable_mbr_type_name(pp->mbr_type));
            json_kbool(j, "bootable", pp->bootable);
            json_kbool(j, "logical", pp->logical);
        } else {
            guid_format(&pp->type_guid, g);
            json_kstr(j, "type", g);
            json_kstr(j, "type_name", ptable_gpt_type_name(&pp->type_guid));
            guid_format(&pp->uuid, g);
            json_kstr(j, "uuid", g);
            json_kstr(j, "name", pp->name);
            /* as in p2v disks --json: a hex string (JSON numbers lose bits above 2^53) */
            snprintf(buf, sizeof buf, "0x%016llx", (unsigned long long)pp->attrs);
            json_kstr(j, "attrs", buf);
        }
        json_kstr(j, "fstype", pp->fstype[0] ? pp->fstype : NULL);
        json_kstr(j, "label", pp->label[0] ? pp->label : NULL);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_key(j, "notices");
    json_arr_begin(j);
    for (size_t i = 0; i < p->notes.count; i++)
        json_str(j, p->notes.msgs[i]);
    json_arr_end(j);
    if (res && res->done) {
        json_ku64(j, "copied_bytes", res->read);
        json_ku64(j, "written_bytes", res->written);
        json_ku64(j, "image_bytes", res->file_bytes);
        json_key(j, "seconds");
        json_double(j, res->seconds);
        json_kbool(j, "verified", res->verify_ok);
        json_ku64(j, "verified_bytes", res->verified);
    }
    json_obj_end(j);
    json_end(j);
}

/* ---- progress ---- */

struct progress {
    bool on;
    const char *what;
    struct timespec t0;
    double last;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *pr = ctx;
    double t = now_s(), start = (double)pr->t0.tv_sec + (double)pr->t0.tv_nsec / 1e9;
    if (!pr->on || (t - pr->last < 0.2 && done < total))
        return;
    pr->last = t;
    double el = t - start, rate = el > 0 ? (double)done / el : 0;
    int pct = total ? (int)(done * 100 / total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%s [%s] %3d%% %7.1f MiB/s ETA %d:%02d ", pr->what, bar, pct,
            rate / 1048576.0, (int)eta / 60, (int)eta % 60);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- the table regions, written in offset order between partitions ---- */

struct region {
    uint64_t off;
    size_t len;
    uint8_t *data;
};

struct regions {
    struct region *v;
    size_t n, next;
    sink *sink;
};

static int capture_region(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    struct regions *rs = ctx;
    struct region *n = realloc(rs->v, (rs->n + 1) * sizeof *n);
    if (!n)
        return p2v_errf(err, -ENOMEM, "out of memory");
    rs->v = n;
    if (!(n[rs->n].data = malloc(len)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    memcpy(n[rs->n].data, buf, len);
    n[rs->n].off = offset;
    n[rs->n].len = len;
    rs->n++;
    return 0;
}

static int cmp_region(const void *a, const void *b)
{
    const struct region *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int flush_regions(struct regions *rs, uint64_t limit, p2v_err *err)
{
    for (; rs->next < rs->n && rs->v[rs->next].off < limit; rs->next++) {
        int r = sink_write(rs->sink, rs->v[rs->next].off, rs->v[rs->next].data,
                           rs->v[rs->next].len, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int before_range(void *ctx, const copy_range *r, p2v_err *err)
{
    return flush_regions(ctx, r->dst_offset, err);
}

static void regions_free(struct regions *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].data);
    free(rs->v);
}

/* ---- the conversion ---- */

struct job {
    copy_range *ranges;
    fsmap *maps;
    reloc_patches *patches;
    char (*names)[300];
    size_t n;
};

static void job_free(struct job *jb)
{
    for (size_t i = 0; i < jb->n; i++) {
        fsmap_free(&jb->maps[i]);
        reloc_patches_free(&jb->patches[i]);
    }
    free(jb->ranges);
    free(jb->maps);
    free(jb->patches);
    free(jb->names);
}

/* One copy range per copied partition: the used map and the boot-sector patches. */
static int prepare_job(struct convert_ctx *cx, struct job *jb, p2v_err *err)
{
    const plan *p = cx->plan;
    size_t n = p->nparts;
    jb->ranges = calloc(n, sizeof *jb->ranges);
    jb->maps = calloc(n, sizeof *jb->maps);
    jb->patches = calloc(n, sizeof *jb->patches);
    jb->names = calloc(n, sizeof *jb->names);
    if (!jb->ranges || !jb->maps || !jb->patches || !jb->names)
        return p2v_errf(err, -ENOMEM, "out of memory");
    fsmap_opts fo = { .allow_dirty = cx->a.allow_dirty };
    for (size_t i = 0; i < n; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_COPY)
            continue;
        size_t k = jb->n++;
        blockdev *bd = cx->src[pp->disk].bd;
        copy_range *r = &jb->ranges[k];
        part_source_name(cx, pp, jb->names[k], sizeof jb->names[k]);
        *r = (copy_range){ .src = bd, .src_offset = pp->src_offset, .src_len = pp->src_bytes,
                           .dst_offset = pp->start * p->sector_size,
                           .dst_len = pp->sectors * p->sector_size, .what = jb->names[k] };
        if (!cx->a.copy_all) {
            int rc = fsmap_build(bd, pp->src_offset, pp->src_bytes, &fo, &jb->maps[k], err);
            if (rc < 0) {
                /* fsmap names the disk ("DISK: partition at byte ..."): DISK:N
                 * replaces it rather than repeating it. */
                const char *path = bd_path(bd);
                size_t pl = strlen(path);
                if (!strncmp(err->msg, path, pl) && !strncmp(err->msg + pl, ": ", 2)) {
                    char rest[sizeof err->msg];
                    snprintf(rest, sizeof rest, "%s", err->msg + pl + 2);
                    return p2v_errf(err, rc, "%s: %s", jb->names[k], rest);
                }
                return p2v_err_prefix(err, rc, "%s", jb->names[k]);
            }
            if (jb->maps[k].full) {
                if (jb->maps[k].notice[0])
                    cli_notice("%s: copying every sector: %s", jb->names[k], jb->maps[k].notice);
            } else {
                r->used = &jb->maps[k].used;
            }
        }
        int rc = reloc_build(bd, pp->src_offset, pp->src_bytes, pp->start, r->dst_len,
                             p->sector_size, jb->names[k], &jb->patches[k], err);
        if (rc < 0)
            return rc;
        reloc_patches *rp = &jb->patches[k];
        if (rp->hidden_too_big)
            cli_warning("%s: starts beyond sector 2^32; its boot sector cannot record that "
                        "position and is left as it was", jb->names[k]);
        if (rp->backup_bad)
            cli_warning("%s: the backup boot sector is not valid on the source; left as it was",
                        jb->names[k]);
        r->patches = rp;
    }
    return 0;
}

/* --add-esp: the new ESP's few non-zero sectors join the table regions. */
static int format_new_esps(const plan *p, struct regions *rs, p2v_err *err)
{
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        if (pp->kind != PLAN_PART_SYNTHETIC || pp->role != PLAN_ROLE_ESP)
            continue;
        int r = boot_format_esp(pp->start, pp->sectors, p->sector_size, capture_region, rs, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* --add-esp SIZE must make a FAT32 ESP; under UEFI without any ESP the
 * image cannot boot, which the user hears about before anything is written. */
static int check_esp(struct convert_ctx *cx)
{
    plan *p = cx->plan;
    bool has_esp = false, copied_esp = false;
    p2v_guid esp_type;
    guid_parse(GPT_TYPE_ESP, &esp_type);
    for (size_t i = 0; i < p->nparts; i++) {
        plan_part *pp = &p->parts[i];
        if (pp->kind == PLAN_PART_SYNTHETIC && pp->role == PLAN_ROLE_ESP) {
            /* what the layout table and JSON show for it */
            snprintf(pp->fstype, sizeof pp->fstype, "vfat");
            snprintf(pp->label, sizeof pp->label, "EFI");
            uint64_t min = boot_esp_min_sectors(p->sector_size);
            if (pp->sectors < min) {
                char h[32];
                cli_error("--add-esp: %llu bytes is too small for a FAT32 ESP on %u-byte "
                          "sectors (at least %s)",
                          (unsigned long long)(pp->sectors * p->sector_size), p->sector_size,
                          size_human(min * p->sector_size, h, sizeof h));
                return -1;
            }
        }
        if (p->table == PTABLE_GPT ? guid_equal(&pp->type_guid, &esp_type) : pp->mbr_type == 0xEF) {
            has_esp = true;
            if (pp->kind == PLAN_PART_COPY)
                copied_esp = true;
        }
    }
    if (copied_esp && cx->a.plan.nextra)
        cli_warning("--add-esp adds a second EFI System Partition: one is already selected");
    if (p->firmware == PLAN_FW_UEFI && !has_esp)
        cli_warning("no EFI System Partition is selected: the image will not boot under UEFI "
                    "until one is made (--add-esp SIZE adds an empty one)");
    return 0;
}

static int write_image(struct convert_ctx *cx, sink *sk, struct job *jb, struct result *res,
                       p2v_err *err)
{
    int r;
    struct regions rs = { .sink = sk };
    ptable *t = NULL;
    struct progress pr = { .on = cx->a.progress, .what = "copying" };
    clock_gettime(CLOCK_MONOTONIC, &pr.t0);

    if ((r = plan_to_ptable(cx->plan, &t, err)) < 0 ||
        (r = ptable_serialize(t, capture_region, &rs, err)) < 0 ||
        (r = format_new_esps(cx->plan, &rs, err)) < 0)
        goto out;
    qsort(rs.v, rs.n, sizeof *rs.v, cmp_region);
    copy_opts co = { .write = sink_write, .write_ctx = sk, .granularity = sink_granularity(sk),
                     .progress = progress_cb, .progress_ctx = &pr, .cancel = &g_cancel,
                     .before_range = before_range, .before_ctx = &rs };
    copy_stats st;
    if ((r = copy_run(jb->ranges, jb->n, &co, &st, err)) < 0 ||
        (r = flush_regions(&rs, UINT64_MAX, err)) < 0)
        goto out;
    if (g_cancel) {
        r = p2v_errf(err, -EINTR, "interrupted by a signal");
        goto out;
    }
    if ((r = sink_finish(sk, err)) < 0)
        goto out;
    res->planned = st.planned;
    res->read = st.read;
    res->written = st.written;
    res->file_bytes = sink_file_bytes(sk);

    if (cx->a.verify) {
        blockdev *img = NULL;
        struct progress vp = { .on = cx->a.progress, .what = "verifying" };
        clock_gettime(CLOCK_MONOTONIC, &vp.t0);
        co.progress_ctx = &vp;
        if ((r = bd_open(sink_temp_path(sk), &img, err)) < 0) {
            r = p2v_err_prefix(err, r, "verify");
            goto out;
        }
        if (bd_size(img) != plan_disk_bytes(cx->plan)) {
            r = p2v_errf(err, -EIO, "verify: the image's virtual size is %llu, not %llu",
                         (unsigned long long)bd_size(img),
                         (unsigned long long)plan_disk_bytes(cx->plan));
        } else {
            r = copy_verify(jb->ranges, jb->n, img, &co, &res->verified, err);
        }
        bd_close(img);
        if (r < 0)
            goto out;
        res->verify_ok = true;
    }
    if (g_cancel) {
        r = p2v_errf(err, -EINTR, "interrupted by a signal");
        goto out;
    }
    r = sink_commit(sk, err);
out:
    if (pr.on && r < 0)
        fputc('\n', stderr);
    regions_free(&rs);
    plan_ptable_free(t);
    return r;
}

static int convert(struct convert_ctx *cx)
{
    p2v_err err = { { 0 } };
    struct job jb = { 0 };
    struct result res = { 0 };
    sink *sk = NULL;
    int status = P2V_EXIT_FAIL;
    /* Every signal that would kill us mid-copy cancels instead, so that the
     * temporary file is removed: Ctrl-C, kill, a dropped ssh session (HUP),
     * a closed pipe, Ctrl-\ and the user signals (Ctrl-\ is QUIT). */
    sink_signals sigs;
    sink_catch_signals(&sigs, &g_cancel);
    double t0 = now_s();

    if (prepare_job(cx, &jb, &err) < 0 || sink_create(cx->write_path ? cx->write_path : cx->a.output, plan_disk_bytes(cx->plan),
                                                      &cx->a.sink, &sk, &err) < 0)
        goto fail;
    if (write_image(cx, sk, &jb, &res, &err) < 0)
        goto fail;
    res.done = true;
    res.seconds = now_s() - t0;
    if (cx->a.json) {
        json_writer j;
        json_init(&j, stdout);
        json_layout(cx, &j, &res);
    }
    char h1[32], h2[32], h3[32];
    cli_notice("%s written: %s virtual, %s copied, %s in the file, %.1f s%s", cx->a.output,
               size_human(plan_disk_bytes(cx->plan), h1, sizeof h1),
               size_human(res.read, h2, sizeof h2), size_human(res.file_bytes, h3, sizeof h3),
               res.seconds, res.verify_ok ? ", verified" : "");
    status = P2V_EXIT_OK;
    goto out;
fail:
    if (g_cancel && !strstr(err.msg, "interrupted"))
        cli_error("interrupted by a signal (%s)", err.msg);
    else
        cli_error("%s", err.msg);
    cli_error("%s was not written", cx->a.output);
out:
    sink_close(sk);
    job_free(&jb);
    sink_restore_signals(&sigs);
    return status;
}

static void ctx_free(struct convert_ctx *cx)
{
    plan_free(cx->plan);
    for (size_t i = 0; i < cx->nsrc; i++) {
        ptable_free(cx->src[i].pt);
        bd_close(cx->src[i].bd);
        free(cx->src[i].path);
    }
    free(cx->src);
    free(cx->psrc);
    free(cx->psel);
    free(cx->write_path);
}

int cmd_convert(int argc, char **argv)
{
    struct convert_ctx cx = { 0 };
    int nargc, status = P2V_EXIT_FAIL;
    char **joined = NULL;
    char **nargv = join_compress_args(argc, argv, &nargc, &joined);
    if (!nargv) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    int r = parse_args(nargc, nargv, &cx.a);
    if (r != 0) {
        status = r < 0 ? P2V_EXIT_OK : r;
        goto out;
    }
    cx.a.progress = cx.a.progress || isatty(STDERR_FILENO);
    if (open_sources(&cx) < 0)
        goto out;
    /* A dry run refuses what the real run would refuse; it writes nothing. */
    if (cx.a.output && check_output(&cx) < 0)
        goto out;
    if (cx.a.active && !(cx.a.plan.active = find_active(&cx))) {
        status = usage_error("--active %s: not one of the selected partitions", cx.a.active);
        goto out;
    }
    p2v_err err;
    if (plan_build(cx.psrc, cx.nsrc, cx.psel, (size_t)cx.a.nsels, &cx.a.plan, &cx.plan, &err) < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < cx.plan->notes.count; i++)
        cli_notice("%s", cx.plan->notes.msgs[i]);
    if (check_esp(&cx) < 0) {
        status = P2V_EXIT_USAGE;
        goto out;
    }
    if (cx.a.dry_run) {
        if (cx.a.json) {
            json_writer j;
            json_init(&j, stdout);
            json_layout(&cx, &j, NULL);
        } else {
            print_layout_text(&cx, stdout);
        }
        status = P2V_EXIT_OK;
        goto out;
    }
    if (!cx.a.json)
        print_layout_text(&cx, stderr);
    status = convert(&cx);
out:
    ctx_free(&cx);
    free_joined_args(nargv, joined, argc);
    return status;
}
