/* p2v disks: list disks and their partitions, as a table or JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "convert/convert.h"
#include "ptable/ptable.h"
#include "util/json.h"
#include "util/size.h"
#include "vmdef/vmdef.h"

static const char disks_usage[] =
    "Usage: p2v disks [--json] [--sector-size 512|4096] [DISK...]\n"
    "\n"
    "List disks and their partitions. DISK is a block device or an image file\n"
    "(raw, qcow2, VHD, VHDX or VMDK). With no DISK, every block device of the machine:\n"
    "whole disks, and loop devices that have a backing file.\n"
    "\n"
    "For each disk: size, logical sector size, table type (mbr, gpt or none) and\n"
    "identity (MBR disk signature or GPT disk GUID). For each partition: number\n"
    "(Linux numbering: MBR logical partitions from 5), first and last sector, size,\n"
    "type (MBR byte or GPT type GUID) and its name, GPT name, flags, filesystem\n"
    "type, label and UUID (libblkid; BitLocker volumes show as \"bitlocker\"), and\n"
    "used bytes when the filesystem is understood. An NTFS partition holding\n"
    "Windows shows its version, build and architecture (from its registry), and a\n"
    "partition holding a Windows boot store (\\Boot\\BCD, \\EFI\\Microsoft\\Boot\\BCD)\n"
    "says so, in the Windows column.\n"
    "\n"
    "Flags: active (MBR boot flag), extended (MBR container), logical, GPT\n"
    "attributes (required, no-block-io, legacy-boot, read-only, shadow, hidden,\n"
    "no-letter), and problems: past-end, overlap, outside (outside the extended\n"
    "partition or the GPT usable area), on-table.\n"
    "\n"
    "Options:\n"
    "  --json               machine-readable output on stdout:\n"
    "                       {\"disks\": [{path, size, sector_size, table, id,\n"
    "                       partitions: [{number, start, end, size, type, type_name,\n"
    "                       name, uuid, bootable, attrs, container, fstype, label,\n"
    "                       fs_uuid, used, windows, boot_stores}]}]}; start, end,\n"
    "                       size in sectors; windows: null or {product, build,\n"
    "                       arch, installation_type}; boot_stores: BCD paths;\n"
    "                       then \"machine\": this machine (on p2v Live the PC):\n"
    "                       {vendor, product, version, serial, uuid, family (SMBIOS,\n"
    "                       null when unknown), macs (wired NICs), memory (bytes),\n"
    "                       cpus, msdm (an ACPI MSDM table, the OEM Windows key,\n"
    "                       exists)}\n"
    "  --sector-size N      read image files with N-byte sectors (512 or 4096;\n"
    "                       block devices keep their own; image files default to\n"
    "                       512, or 4096 when the GPT header is at byte 4096 or\n"
    "                       the MBR partitions hold filesystems with 4096-byte\n"
    "                       sectors)\n"
    "  -h, --help           this help\n"
    "\n"
    "Damaged tables: problems that leave the rest usable (a bad primary or backup\n"
    "GPT, a broken EBR chain, a partition past the end or overlapping another) are\n"
    "printed as \"p2v: warning: ...\" on stderr; a disk with nothing usable is an\n"
    "error.\n"
    "\n"
    "Exit status: 0 success, 1 a disk could not be read or has no usable table,\n"
    "2 usage error. Without DISK arguments, a device that cannot be opened (no\n"
    "medium, no permission) is a warning and is skipped.\n";

struct disks_opts {
    bool json;
    uint32_t sector_size; /* 0: automatic */
};

static void part_flags(const ptable *t, const ptable_part *p, char *out, size_t outlen)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } attrs[] = {
        { GPT_ATTR_REQUIRED, "required" },       { GPT_ATTR_NO_BLOCK_IO, "no-block-io" },
        { GPT_ATTR_LEGACY_BOOT, "legacy-boot" }, { GPT_ATTR_MS_READ_ONLY, "read-only" },
        { GPT_ATTR_MS_SHADOW, "shadow" },        { GPT_ATTR_MS_HIDDEN, "hidden" },
        { GPT_ATTR_MS_NO_LETTER, "no-letter" },
    };
    size_t o = 0;
    out[0] = '\0';
#define ADD(s)                                                                          \
    do {                                                                                \
        int n_ = snprintf(out + o, outlen - o, "%s%s", o ? "," : "", (s));              \
        if (n_ > 0 && (size_t)n_ < outlen - o)                                          \
            o += (size_t)n_;                                                            \
    } while (0)
    if (t->type == PTABLE_MBR) {
        if (p->bootable)
            ADD("active");
        if (p->container)
            ADD("extended");
        if (p->logical)
            ADD("logical");
    } else {
        uint64_t rest = p->attrs;
        for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
            if (p->attrs & attrs[i].bit) {
                ADD(attrs[i].name);
                rest &= ~attrs[i].bit;
            }
        if (rest) {
            char hex[32];
            snprintf(hex, sizeof hex, "attrs=0x%" PRIx64, rest);
            ADD(hex);
        }
    }
    if (p->problems & PTABLE_PROBLEM_PAST_END)
        ADD("PAST-END");
    if (p->problems & PTABLE_PROBLEM_OVERLAP)
        ADD("OVERLAP");
    if (p->problems & PTABLE_PROBLEM_OUTSIDE)
        ADD("OUTSIDE");
    if (p->problems & PTABLE_PROBLEM_ON_TABLE)
        ADD("ON-TABLE");
#undef ADD
}

static void type_str(const ptable *t, const ptable_part *p, char *out, size_t outlen)
{
    if (t->type == PTABLE_GPT)
        guid_format(&p->type_guid, out);
    else
        snprintf(out, outlen, "0x%02x", p->mbr_type);
}

static const char *type_name(const ptable *t, const ptable_part *p)
{
    return t->type == PTABLE_GPT ? ptable_gpt_type_name(&p->type_guid)
                                 : ptable_mbr_type_name(p->mbr_type);
}

static const char *or_null(const char *s) { return s && *s ? s : NULL; }

/* Windows found on a partition, and the boot stores it holds. */
static void print_json_windows(json_writer *j, const convert_part *v)
{
    const win_volume *w = &v->win;
    if (v->win_probed && w->win.present) {
        json_key(j, "windows");
        json_obj_begin(j);
        json_kstr(j, "product", or_null(w->win.product));
        json_kstr(j, "build", or_null(w->win.build));
        json_kstr(j, "arch", or_null(w->win.arch));
        json_kstr(j, "installation_type", or_null(w->win.installation_type));
        json_obj_end(j);
    } else {
        json_knull(j, "windows");
    }
    json_key(j, "boot_stores");
    json_arr_begin(j);
    if (v->win_probed && w->bcd_bios)
        json_str(j, "\\Boot\\BCD");
    if (v->win_probed && w->bcd_efi)
        json_str(j, "\\EFI\\Microsoft\\Boot\\BCD");
    json_arr_end(j);
}

/* The Windows column: "Windows 10 Pro (19045, x64)", boot stores after it. */
static void windows_cell(const convert_part *v, char *out, size_t len)
{
    const win_volume *w = &v->win;
    out[0] = '\0';
    if (!v->win_probed)
        return;
    if (w->win.present)
        win_install_summary(&w->win, out, len);
    size_t o = strlen(out);
    if (w->bcd_bios && o < len)
        o += (size_t)snprintf(out + o, len - o, "%s\\Boot\\BCD", o ? ", " : "");
    if (w->bcd_efi && o < len)
        snprintf(out + o, len - o, "%s\\EFI\\Microsoft\\Boot\\BCD", o ? ", " : "");
}

static void print_json_disk(json_writer *j, blockdev *bd, const ptable *t,
                            const convert_part *v)
{
    char buf[64];
    json_obj_begin(j);
    json_kstr(j, "path", bd_path(bd));
    json_ku64(j, "size", bd_size(bd));
    json_ku64(j, "sector_size", t->sector_size);
    json_kstr(j, "table", ptable_type_str(t->type));
    if (t->type == PTABLE_MBR) {
        snprintf(buf, sizeof buf, "0x%08x", t->mbr_signature);
        json_kstr(j, "id", buf);
    } else if (t->type == PTABLE_GPT) {
        guid_format(&t->disk_guid, buf);
        json_kstr(j, "id", buf);
    } else {
        json_knull(j, "id");
    }
    json_key(j, "partitions");
    json_arr_begin(j);
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = v[i].p;
        json_obj_begin(j);
        json_ku64(j, "number", p->number);
        json_ku64(j, "start", p->start);
        json_ku64(j, "end", ptable_part_end(p));
        json_ku64(j, "size", p->size);
        type_str(t, p, buf, sizeof buf);
        json_kstr(j, "type", buf);
        json_kstr(j, "type_name", type_name(t, p));
        if (t->type == PTABLE_GPT) {
            json_kstr(j, "name", p->name);
            guid_format(&p->uuid, buf);
            json_kstr(j, "uuid", buf);
        } else {
            json_knull(j, "name");
            json_knull(j, "uuid");
        }
        json_kbool(j, "bootable", p->bootable);
        if (t->type == PTABLE_GPT) {
            snprintf(buf, sizeof buf, "0x%016" PRIx64, p->attrs);
            json_kstr(j, "attrs", buf);
        } else {
            json_knull(j, "attrs");
        }
        json_kbool(j, "container", p->container);
        json_kstr(j, "fstype", or_null(v[i].fs.type));
        json_kstr(j, "label", or_null(v[i].fs.label));
        json_kstr(j, "fs_uuid", or_null(v[i].fs.uuid));
        if (v[i].used_known)
            json_ku64(j, "used", v[i].used);
        else
            json_knull(j, "used");
        print_json_windows(j, &v[i]);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}

/* ---- text table ---- */

enum { C_NUM, C_START, C_END, C_SIZE, C_TYPE, C_NAME, C_FS, C_LABEL, C_USED, C_FLAGS, C_WIN,
       NCOLS };
static const char *const col_head[NCOLS] = { "#", "Start", "End", "Size", "Type", "Name",
                                             "Filesystem", "Label", "Used", "Flags",
                                             "Windows" };
static const bool col_right[NCOLS] = { true, true, true, true, false, false, false, false, true,
                                       false, false };

struct cell {
    char s[160];
};

static void print_text_disk(blockdev *bd, const ptable *t, const convert_part *v,
                            const struct fs_identity *whole)
{
    char hs[32], guid[P2V_GUID_STRLEN];
    printf("Disk %s: %s, %" PRIu64 " bytes, %" PRIu64 " sectors of %u bytes\n", bd_path(bd),
           size_human(bd_size(bd), hs, sizeof hs), bd_size(bd), t->disk_sectors, t->sector_size);
    if (t->type == PTABLE_MBR) {
        printf("Table: mbr, disk signature 0x%08x\n", t->mbr_signature);
    } else if (t->type == PTABLE_GPT) {
        guid_format(&t->disk_guid, guid);
        printf("Table: gpt, disk GUID %s, usable LBA %" PRIu64 "-%" PRIu64 "%s%s\n", guid,
               t->first_usable_lba, t->last_usable_lba, t->gpt_from_backup ? ", read from the backup" : "",
               t->hybrid_mbr ? ", hybrid MBR" : "");
    } else if (whole->type[0]) {
        printf("Table: none; %s filesystem on the whole disk%s%s\n", whole->type,
               whole->label[0] ? ", label " : "", whole->label);
    } else {
        printf("Table: none\n");
    }
    if (t->nparts == 0) {
        printf("No partitions.\n\n");
        return;
    }
    struct cell *cells = calloc((t->nparts + 1) * NCOLS, sizeof *cells);
    if (!cells)
        return;
    bool show[NCOLS];
    size_t width[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        show[c] = c != C_NAME && c != C_USED && c != C_WIN;
        snprintf(cells[c].s, sizeof cells[c].s, "%s", col_head[c]);
    }
    show[C_NAME] = t->type == PTABLE_GPT;
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = v[i].p;
        struct cell *row = cells + (i + 1) * NCOLS;
        snprintf(row[C_NUM].s, sizeof row[C_NUM].s, "%u", p->number);
        snprintf(row[C_START].s, sizeof row[C_START].s, "%" PRIu64, p->start);
        snprintf(row[C_END].s, sizeof row[C_END].s, "%" PRIu64, ptable_part_end(p));
        uint64_t bytes = p->size <= UINT64_MAX / t->sector_size ? p->size * t->sector_size : UINT64_MAX;
        size_human(bytes, row[C_SIZE].s, sizeof row[C_SIZE].s);
        if (t->type == PTABLE_GPT)
            snprintf(row[C_TYPE].s, sizeof row[C_TYPE].s, "%s", type_name(t, p));
        else
            snprintf(row[C_TYPE].s, sizeof row[C_TYPE].s, "0x%02x %s", p->mbr_type, type_name(t, p));
        snprintf(row[C_NAME].s, sizeof row[C_NAME].s, "%s", p->name);
        snprintf(row[C_FS].s, sizeof row[C_FS].s, "%s", v[i].fs.type[0] ? v[i].fs.type : "-");
        snprintf(row[C_LABEL].s, sizeof row[C_LABEL].s, "%s", v[i].fs.label);
        if (v[i].used_known) {
            size_human(v[i].used, row[C_USED].s, sizeof row[C_USED].s);
            show[C_USED] = true;
        }
        part_flags(t, p, row[C_FLAGS].s, sizeof row[C_FLAGS].s);
        windows_cell(&v[i], row[C_WIN].s, sizeof row[C_WIN].s);
        if (row[C_WIN].s[0])
            show[C_WIN] = true;
    }
    for (int c = 0; c < NCOLS; c++) {
        width[c] = 0;
        for (size_t i = 0; i <= t->nparts; i++) {
            size_t l = strlen(cells[i * NCOLS + c].s);
            width[c] = l > width[c] ? l : width[c];
        }
    }
    for (size_t i = 0; i <= t->nparts; i++) {
        const struct cell *row = cells + i * NCOLS;
        int last = NCOLS - 1;
        while (last > 0 && (!show[last] || !row[last].s[0]))
            last--;
        for (int c = 0; c <= last; c++) {
            if (!show[c])
                continue;
            if (c > 0)
                fputs("  ", stdout);
            if (col_right[c])
                printf("%*s", (int)width[c], row[c].s);
            else if (c == last)
                fputs(row[c].s, stdout);
            else
                printf("%-*s", (int)width[c], row[c].s);
        }
        putchar('\n');
    }
    putchar('\n');
    free(cells);
}

/* ---- one disk ---- */

/* quiet_open: a device of the machine that cannot be opened (no medium, no
 * permission) is a warning, not a failure, when listing all of them. */
static int show_disk(const char *path, const struct disks_opts *o, json_writer *j, bool quiet_open)
{
    blockdev *bd = NULL;
    convert_disk *d = NULL;
    p2v_err err;

    if (source_open(path, NULL, &bd, &err) < 0) {
        if (quiet_open) {
            cli_warning("%s; skipped", err.msg);
            return P2V_EXIT_OK;
        }
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    convert_disk_opts dopts = { .sector_size = o->sector_size, .used = true, .whole = !o->json };
    if (convert_disk_from_bd(bd, &dopts, &d, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    const ptable *t = d->pt;
    for (size_t i = 0; i < t->notices.count; i++)
        cli_notice("%s", t->notices.msgs[i]);
    for (size_t i = 0; i < t->warnings.count; i++)
        cli_warning("%s", t->warnings.msgs[i]);
    for (size_t i = 0; i < t->nparts; i++) {
        const convert_part *v = &d->parts[i];
        if (v->probe_error[0])
            cli_warning("%s", v->probe_error); /* "<path>: partition at byte N: ..." */
        if (!v->probed)
            continue;
        if (v->fs.ambivalent)
            cli_warning("%s: partition %u: several filesystem signatures match; type unknown",
                        path, v->p->number);
        if (v->fs.bitlocker)
            cli_notice("%s: partition %u is BitLocker-encrypted: it can only be copied whole",
                       path, v->p->number);
    }
    if (o->json)
        print_json_disk(j, d->bd, t, d->parts);
    else
        print_text_disk(d->bd, t, d->parts, &d->whole);
    convert_disk_free(d);
    return P2V_EXIT_OK;
}

/* ---- all disks of the machine ---- */

static int show_all(const struct disks_opts *o, json_writer *j)
{
    char **paths;
    size_t n;
    p2v_err err;
    if (bd_list_machine_disks(&paths, &n, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    int rc = P2V_EXIT_OK;
    for (size_t i = 0; i < n; i++)
        if (show_disk(paths[i], o, j, true) != P2V_EXIT_OK)
            rc = P2V_EXIT_FAIL;
    bd_list_free(paths, n);
    return rc;
}

int cmd_disks(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "sector-size", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct disks_opts o = { 0 };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o.json = true;
            break;
        case 's':
            if (cli_sector_size_opt("disks", optarg, &o.sector_size))
                return P2V_EXIT_USAGE;
            break;
        case 'h':
            fputs(disks_usage, stdout);
            return P2V_EXIT_OK;
        default:
            return cli_option_error("disks", c, argv, disks_usage);
        }
    }
    json_writer j;
    if (o.json) {
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "disks");
        json_arr_begin(&j);
    }
    int rc = P2V_EXIT_OK;
    if (optind >= argc) {
        rc = show_all(&o, &j);
    } else {
        for (int i = optind; i < argc; i++)
            if (show_disk(argv[i], &o, &j, false) != P2V_EXIT_OK)
                rc = P2V_EXIT_FAIL;
    }
    if (o.json) {
        json_arr_end(&j);
        /* the PC itself (on p2v Live, the one being converted); a sysfs
         * root of its own in tests: P2V_MACHINE_ROOT */
        struct vm_machine m;
        const char *root = getenv("P2V_MACHINE_ROOT");
        json_key(&j, "machine");
        if (vm_machine_read(root ? root : "/", &m, NULL) == 0)
            vm_machine_json(&m, &j);
        else
            json_null(&j);
        json_obj_end(&j);
        json_end(&j);
    }
    return rc;
}
