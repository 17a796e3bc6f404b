/* p2v convert: selected partitions of one or more disks into a new image with
 * a fresh partition table. The run and its output; the arguments are parsed
 * in convert_args.c, the work is src/convert/. */
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
#include "windows/drivers.h"
#include "util/size.h"
#include "vmdef/vmdef.h"

#include "cli/convert_args.h"
#include "cli/convert_report.h"

const char convert_usage[] =
    "Usage: p2v convert [OPTIONS] -o OUTPUT SEL...\n"
    "       p2v convert --plan FILE [-o OUTPUT] [--drivers DIR|ISO] [-f] [--verify] [--dry-run] [--json]\n"
    "\n"
    "Write the selected partitions, in the order given, into a new disk image with\n"
    "a new partition table (fresh MBR signature or GPT disk GUID). SEL is DISK:N,\n"
    "partition N of DISK (a block device or an image file) as Linux numbers it\n"
    "(MBR logical partitions from 5). Sources are only read.\n"
    "DISK:N=SIZE gives the partition its own size and fits its filesystem to it\n"
    "(NTFS grown or shrunk; ext2/3/4 grown where its features allow, never shrunk;\n"
    "FAT keeps its size; neither is ever cut);\n"
    "DISK:N=min makes it as small as its used space plus a margin (the larger of\n"
    "10 % and 1 GiB, or --min-free). See docs/resize.md.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUTPUT              the image to create; '-' streams it to standard\n"
    "                                   output (qcow2 laid out in advance, or -O raw; no\n"
    "                                   -c, no --verify; refused when standard output is a\n"
    "                                   terminal); nbd://HOST[:PORT]/EXPORT or\n"
    "                                   nbd+unix:///EXPORT?socket=PATH writes the disk into\n"
    "                                   an NBD export of at least the layout's size (raw;\n"
    "                                   the disk takes the export's size);\n"
    "                                   rbd:POOL[/NAMESPACE]/IMAGE[:conf=FILE][:id=USER]\n"
    "                                   [:keyring=FILE] creates a Ceph RBD image (raw,\n"
    "                                   only the used data sent, written as\n"
    "                                   IMAGE.p2v-partial and renamed when complete)\n"
    "  -O, --output-format qcow2|raw    default: qcow2 (raw output is sparse)\n"
    "  -t, --table gpt|mbr              default: gpt for --boot uefi, mbr for --boot bios,\n"
    "                                   else the table type of the first SEL's disk\n"
    "      --boot uefi|bios             target firmware (default: the source's)\n"
    "      --size SIZE                  virtual disk size (default: the smallest that\n"
    "                                   holds the layout); grows the LAST partition\n"
    "                                   (an NTFS or ext2/3/4 filesystem in it grows\n"
    "                                   with it)\n"
    "      --min-free SIZE              free space DISK:N=min leaves in the filesystem\n"
    "                                   (0: none, the used space only)\n"
    "      --align SIZE                 partition alignment, default 1M\n"
    "      --copy used|all              used (default): only blocks the filesystem uses\n"
    "                                   where it is understood; all: every sector.\n"
    "                                   Zero blocks are never written.\n"
    "      --copy-system-files          copy pagefile.sys, swapfile.sys and hiberfil.sys\n"
    "                                   too; without it their clusters read as zeros in\n"
    "                                   the image (Windows recreates them; size and place\n"
    "                                   kept; a notice names the bytes saved)\n"
    "  -c, --compress [zlib|zstd][:LEVEL]\n"
    "                                   compressed qcow2 clusters (default zlib; -c before\n"
    "                                   a SEL or an option means zlib); LEVEL zlib 1-9\n"
    "                                   (default 6), zstd 1-19 (default 3)\n"
    "  -j, --threads N                  compressing threads (default: the online CPUs);\n"
    "                                   the image is the same for every N; high zstd levels\n"
    "                                   use fewer threads (codec memory at most 24 MiB)\n"
    "      --queue-depth N              source reads in flight, 1-16 (default 4)\n"
    "      --io-timeout SECONDS         an NBD server (source or -o nbd://...) that\n"
    "                                   neither sends nor takes a byte for this long\n"
    "                                   while p2v waits for it fails the run, naming\n"
    "                                   it (default 60, at most 86400); for RBD, every\n"
    "                                   OSD operation\n"
    "      --rbd-timeout SECONDS        reaching a Ceph cluster's monitors (default 30)\n"
    "      --rbd-features LIST          features of a new RBD image, comma-separated\n"
    "                                   (default layering,exclusive-lock,object-map,\n"
    "                                   fast-diff,deep-flatten; also journaling)\n"
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
    "                                   (at least 33M) in front, formatted by p2v (with\n"
    "                                   --boot uefi and a BIOS Windows, one of 100M is\n"
    "                                   made without it, and filled as bcdboot would)\n"
    "      --allow-dirty                copy a dirty or hibernated filesystem anyway\n"
    "      --no-windows-fixups          leave Windows' boot stores (BCD), drive letters\n"
    "                                   (MountedDevices), WinRE (ReAgent.xml) and\n"
    "                                   drivers as they are (saved in plan files)\n"
    "      --bad-sectors fail|zero      unreadable source sectors (found exactly, after\n"
    "                                   retries): fail (default) stops and lists them;\n"
    "                                   zero writes zeros in their place, their map in\n"
    "                                   OUTPUT.badmap (ddrescue format) and names the\n"
    "                                   files that lost data\n"
    "      --bad-sectors-map FILE       with --bad-sectors zero: the map's path instead\n"
    "                                   of OUTPUT.badmap; needed with -o - and NBD\n"
    "                                   targets (checked before the copy starts)\n"
    "      --allow-mounted              copy a partition mounted read-write anyway (the\n"
    "                                   copy may be inconsistent); without it such a\n"
    "                                   partition is refused, naming the mount point.\n"
    "                                   Mounted read-only is copied with a notice\n"
    "      --sector-size 512|4096       read image-file sources with this logical sector\n"
    "                                   size (default: detected; block devices report\n"
    "                                   their own)\n"
    "      --active DISK:N              MBR target: make this SEL the active partition\n"
    "                                   (default: the one active on its disk; with bios\n"
    "                                   and none, one whose boot sector has boot code,\n"
    "                                   else the first; a notice says which; a UEFI\n"
    "                                   Windows moved to bios: System Reserved, else\n"
    "                                   Windows' partition)\n"
    "      --drivers DIR|ISO            a virtio-win tree or ISO image: each selected\n"
    "                                   Windows gets the virtio storage drivers (viostor,\n"
    "                                   vioscsi) registered offline and the others\n"
    "                                   (netkvm, balloon, vioserial, qemu-ga) staged for\n"
    "                                   its first boot (docs/drivers.md)\n"
    "      --target-bus virtio-blk|virtio-scsi|sata|ide\n"
    "                                   the disk controller the image must boot on;\n"
    "                                   virtio-blk/virtio-scsi need the driver from\n"
    "                                   --drivers, else the conversion is refused\n"
    "      --keep-services              leave the old PC's services (VMware Tools,\n"
    "                                   VirtualBox additions, Intel RST manager) and the\n"
    "                                   storage filters of hardware a VM lacks as they\n"
    "                                   are; filters whose driver is missing are still\n"
    "                                   removed (docs/windows.md)\n"
    "      --network keep|dhcp          the old PC's network settings (listed in the dry\n"
    "                                   run): keep (default) re-applies static addresses,\n"
    "                                   gateways, DNS servers and suffixes to the new\n"
    "                                   adapter at the first boot and removes the old\n"
    "                                   adapters (Windows 8 and later); dhcp leaves\n"
    "                                   the new adapter to DHCP\n"
    "      --save-plan FILE             write the validated selection and options as a plan\n"
    "                                   file (JSON, docs/plan-files.md); without -o only that\n"
    "      --plan FILE                  take the selections and options from a plan file;\n"
    "                                   its disks are found by identity (table, signature or\n"
    "                                   GUID, size) if their device names changed, and a\n"
    "                                   disk or partition that changed is refused. What\n"
    "                                   shapes the result comes from the plan only; -o,\n"
    "                                   --drivers and --bad-sectors-map (paths on this\n"
    "                                   machine) replace the plan's,\n"
    "                                   and -f, --verify, -j, --queue-depth, --allow-mounted,\n"
    "                                   --boot-check, --report-url, --report-token-file,\n"
    "                                   --vm-def (and its options),\n"
    "                                   --dry-run, --json, -p and --save-plan may be added\n"
    "      --boot-check                 after writing, boot the image in qemu as\n"
    "                                   'p2v boot-check' does (firmware from the plan,\n"
    "                                   SATA disk); the image is kept either way, and\n"
    "                                   a boot that fails makes the exit status 1.\n"
    "                                   With --json the report is under \"boot_check\"\n"
    "      --report-url URL             send the run's events (start, progress every few\n"
    "                                   seconds, finish or failed) as JSON to URL by\n"
    "                                   HTTP POST (docs/fleet.md); a start or finish\n"
    "                                   the receiver does not take after 5 tries fails\n"
    "                                   the run, progress events are dropped instead;\n"
    "                                   each try bounded by --io-timeout\n"
    "      --report-token-file FILE     send the token in FILE's first line with each\n"
    "                                   event (Authorization: Bearer)\n"
    "      --vm-def FORMAT[:FILE]       after writing, a definition of the VM around the\n"
    "                                   image: libvirt (domain XML), qemu (a script),\n"
    "                                   proxmox (a qm config) or openstack (image\n"
    "                                   properties, JSON); FILE defaults to OUTPUT\n"
    "                                   with the format's extension (.xml, .sh, .conf,\n"
    "                                   .json), required for -o -, NBD and RBD. Firmware\n"
    "                                   from the plan, disk bus from --target-bus (else\n"
    "                                   virtio-blk when viostor was staged, else sata),\n"
    "                                   NIC virtio when netkvm was staged, else e1000e.\n"
    "                                   A failure to write it exits 1; the image stays\n"
    "                                   (docs/vm-definition.md)\n"
    "      --keep-mac                   with --vm-def: this machine's first wired MAC\n"
    "      --keep-smbios                with --vm-def: this machine's SMBIOS vendor,\n"
    "                                   product, serial and UUID, and its ACPI MSDM\n"
    "                                   table (OEM Windows key) copied beside FILE as\n"
    "                                   NAME.msdm.bin\n"
    "      --memory SIZE                with --vm-def: the VM's memory (default: this\n"
    "                                   machine's RAM when every source is one of its\n"
    "                                   block devices, capped by SIZE; else 4G)\n"
    "      --cpus N                     with --vm-def: vCPUs, the same rule (default 2)\n"
    "      --secure-boot                with --vm-def and UEFI: Secure Boot on\n"
    "  -h, --help                       this text\n"
    "\n"
    "A selected Windows always gets its built-in AHCI and IDE drivers (storahci or\n"
    "msahci, atapi, intelide, pciide) set to boot start, so it boots on a SATA or IDE\n"
    "controller; storage and volume filter drivers that cannot load are removed and\n"
    "other virtualisers' guest services disabled; the dry run lists every driver\n"
    "and registry value it sets, and why.\n"
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
    "copied partition is rewritten to its new place, and so is WinRE's ReAgent.xml,\n"
    "in a copy-on-write overlay (the source is never written); the dry run and\n"
    "--json list each change. Windows selected without any boot store (no BCD, no\n"
    "ESP, no BCD-Template) is refused. A UEFI Windows moved to --boot bios gets\n"
    "bootmgr, \\Boot and a new BCD (from BCD-Template) on the active partition; a\n"
    "BIOS Windows moved to --boot uefi gets an ESP (--add-esp, or 100M made for it)\n"
    "holding \\EFI\\Microsoft\\Boot from \\Windows\\Boot\\EFI, \\EFI\\Boot\\bootx64.efi\n"
    "and a new BCD (offline bcdboot).\n"
    "See docs/windows.md.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

struct progress {
    bool on;
    bool open;                  /* a bar is on the line, not yet ended */
    enum convert_phase phase;
    double t0, last;
    struct cli_report *report;  /* --report-url */
    const convert_job *job;
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
    cli_report_progress(pr->report, pr->job, p);
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

static void on_bootcheck_notice(void *ctx, const char *msg)
{
    (void)ctx;
    cli_notice("boot-check: %s", msg);
}

/* --boot-check: boot what was just written, with the firmware the plan made
 * it for. P2V_EXIT_OK when it booted; the verdict is in *bres when *checked. */
static int boot_check(convert_job *job, const char *output, bootcheck_result *bres,
                      bool *checked)
{
    enum plan_firmware fw = convert_job_plan(job)->firmware;
    bootcheck_opts o = { .image = output, .notice = on_bootcheck_notice, .cancel = &g_cancel,
                         .fw_reason = "the firmware the image was made for",
                         .fw = fw == PLAN_FW_UEFI   ? BOOTCHECK_FW_UEFI
                               : fw == PLAN_FW_BIOS ? BOOTCHECK_FW_BIOS
                                                    : BOOTCHECK_FW_AUTO };
    p2v_err err;
    sink_signals sigs;
    sink_catch_signals(&sigs, &g_cancel);
    int r = bootcheck_run(&o, bres, &err);
    sink_restore_signals(&sigs);
    *checked = r == 0;
    if (r < 0) {
        cli_error("boot-check %s: %s (the image is kept)", output, err.msg);
        return P2V_EXIT_FAIL;
    }
    if (bres->verdict != BOOTCHECK_BOOTED)
        return cli_bootcheck_failure_line(output, bres);
    cli_notice("boot-check %s: booted: %s", output, bres->reason);
    return P2V_EXIT_OK;
}

/* --vm-def: the VM around the committed image; a failure leaves the image. */
static int write_vmdef(const convert_job *job, const char *output, const struct convert_args *a)
{
    convert_vmdef_opts o = a->vmdef;
    convert_vmdef_done done;
    p2v_err err;
    /* P2V_MACHINE_ROOT: a sysfs tree standing for this PC (as for reports). */
    o.machine_root = getenv("P2V_MACHINE_ROOT");
    if (convert_write_vmdef(job, &o, &done, &err) < 0) {
        cli_error("%s (the image %s is kept)", err.msg, output);
        return P2V_EXIT_FAIL;
    }
    if (done.secure_boot_ignored)
        cli_warning("--secure-boot: the image boots with BIOS; the VM gets no Secure Boot");
    if (*done.msdm)
        cli_notice("the machine's ACPI MSDM table copied to %s", done.msdm);
    cli_notice("VM definition (%s) written to %s", done.format, done.file);
    return P2V_EXIT_OK;
}

static int run(convert_job *job, const char *output, const struct convert_args *a,
               struct cli_report *report)
{
    struct progress pr = { .on = a->progress, .report = report, .job = job };
    convert_events ev = { .message = on_message, .progress = on_progress, .ctx = &pr };
    convert_result res;
    p2v_err err = { { 0 } };
    struct sink_target_info ti;
    sink_target_info(output, &ti);
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
        if (ti.to_stdout)
            cli_error("the image on standard output is incomplete");
        else if (!ti.direct)
            cli_error("%s was not written", output);
        return P2V_EXIT_FAIL;
    }
    cli_print_copy_timing(&res.copy);
    char h1[32], h2[32], h3[32];
    bool direct = ti.direct;
    cli_notice("%s written: %s virtual, %s copied, %s %s, %.1f s%s",
               ti.to_stdout ? ti.what : output,
               size_human(plan_disk_bytes(convert_job_plan(job)), h1, sizeof h1),
               size_human(res.read, h2, sizeof h2), size_human(res.file_bytes, h3, sizeof h3),
               direct ? "sent" : "in the file", res.seconds, res.verify_ok ? ", verified" : "");
    int status = P2V_EXIT_OK;
    bootcheck_result bres;
    bool checked = false;
    if (a->vmdef.spec)
        status = write_vmdef(job, output, a);
    if (a->boot_check && status == P2V_EXIT_OK) {
        status = boot_check(job, output, &bres, &checked);
        if (checked && !a->json)
            cli_bootcheck_text(stderr, output, &bres);
    }
    if (cli_report_finish(report, job, &res, output, checked ? &bres : NULL) != P2V_EXIT_OK)
        status = P2V_EXIT_FAIL;
    if (a->json) {
        json_writer j;
        json_init(&j, stdout);
        convert_layout_json_open(job, &j, &res);
        if (checked) {
            json_key(&j, "boot_check");
            cli_bootcheck_json(&j, output, NULL, &bres);
        }
        json_obj_end(&j);
        json_end(&j);
    }
    return status;
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
        if (convert_parse_sel_sized(a->sels[i], (char **)&s[i].disk, &s[i].number, &s[i].size,
                            &s[i].size_min) < 0)
            return -1;
    if (a->active && convert_parse_sel(a->active, (char **)&active->disk, &active->number) < 0)
        return -1;
    *rq = (convert_request){ .output = a->output, .sink = a->sink, .plan = a->plan,
                             .sels = s, .nsels = (size_t)a->nsels,
                             .active = a->active ? active : NULL,
                             .sector_size = a->sector_size, .copy_all = a->copy_all,
                             .copy_system_files = a->copy_system_files,
                             .allow_dirty = a->allow_dirty, .verify = a->verify,
                             .force = a->force, .no_windows_fixups = a->no_windows_fixups,
                             .min_free = a->min_free, .min_free_set = a->min_free_set,
                             .drivers = a->drivers, .target_bus = a->target_bus,
                             .keep_services = a->keep_services,
                             .network_dhcp = a->network_dhcp,
                             .allow_mounted = a->allow_mounted, .bad_sectors = a->bad_sectors,
                             .bad_sectors_map = a->bad_sectors_map,
                             .queue_depth = a->queue_depth, .io_timeout = a->io_timeout };
    return 0;
}

/* --plan FILE: the request from the file, its disks found again by identity.
 * What shapes the result comes from the file (convert_args.c refuses it
 * here); where and how this run happens may be given on top: -o, --drivers
 * and --bad-sectors-map replace the plan's paths, -f, --verify, -j, --queue-depth and
 * --allow-mounted apply (docs/plan-files.md). */
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
    rq->sink.threads = a->sink.threads;
    rq->queue_depth = a->queue_depth;
    rq->io_timeout = a->io_timeout;
    struct sink_target_info ti;
    sink_target_info(rq->output, &ti);
    if (ti.raw_only)
        rq->sink.format = SINK_RAW;   /* an NBD export receives the disk itself */
    if (a->drivers)
        rq->drivers = a->drivers;   /* where the tree is on this machine */
    if (a->bad_sectors_map)
        rq->bad_sectors_map = a->bad_sectors_map;
    rq->allow_mounted = a->allow_mounted;
    if (!rq->output && !a->dry_run && !a->save_plan)
        return convert_usage_error("%s", "no OUTPUT given (-o OUTPUT; the plan names none)");
    return 0;
}

/* --vm-def without FILE names it after OUTPUT, which must then be a file. */
static int check_vmdef(const struct convert_args *a, const char *output)
{
    const struct vmdef_format *f;
    const char *file;
    p2v_err err;
    struct sink_target_info ti;
    if (a->dry_run)
        return convert_usage_error("%s", "--vm-def describes the written image: not with --dry-run");
    if (vmdef_parse_spec(a->vmdef.spec, &f, &file, &err) < 0)
        return convert_usage_error("%s", err.msg);
    if (!output)
        return 0;   /* --save-plan alone: nothing written */
    sink_target_info(output, &ti);
    if (!file && !ti.is_file)
        return convert_usage_error("--vm-def: the %s has no file name to follow; give "
                                   "FORMAT:FILE", ti.what);
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
    struct cli_report report = { 0 };
    convert_request rq;
    convert_sel *sels = NULL, active = { 0 };
    convert_job *job = NULL;
    convert_planfile *pf = NULL;
    int nargc, status = P2V_EXIT_FAIL;
    char **joined = NULL;
    char **nargv = convert_join_compress_args(argc, argv, &nargc, &joined);
    if (!nargv) {
        cli_error("out of memory");
        return P2V_EXIT_FAIL;
    }
    int r = convert_parse_args(nargc, nargv, &a);
    if (r != 0) {
        status = r < 0 ? P2V_EXIT_OK : r;
        goto out;
    }
    a.progress = a.progress || isatty(STDERR_FILENO);
    convert_events ev = { .message = on_message };
    p2v_err err;
    if ((status = cli_report_open(&report, a.report_url, a.report_token_file, a.io_timeout)) != 0)
        goto out;
    status = P2V_EXIT_FAIL;
    if (a.plan_file) {
        if ((r = load_plan(&a, &ev, &pf, &rq)) != 0) {
            status = r;
            goto out;
        }
    } else if (make_request(&a, &rq, &sels, &active) < 0) {
        cli_error("out of memory");
        goto out;
    }
    /* As gzip does: an image is never useful on a terminal, and would wreck it. */
    struct sink_target_info ti;
    sink_target_info(rq.output, &ti);
    if (!a.dry_run && ti.to_stdout && isatty(STDOUT_FILENO)) {
        cli_error("-o -: standard output is a terminal; not writing a disk image to it "
                  "(redirect it to a file or pipe it into a program)");
        goto out;
    }
    if (a.vmdef.spec && (r = check_vmdef(&a, rq.output)) != 0) {
        status = r;
        goto out;
    }
    if (cli_report_start(&report, &rq) != P2V_EXIT_OK)
        goto out;
    if ((r = convert_plan_from_request(&rq, &ev, &job, &err)) < 0) {
        if (r == CONVERT_EUSAGE) {
            status = convert_usage_error("%s", err.msg);
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
    status = run(job, rq.output, &a, &report);
out:
    status = cli_report_close(&report, status);
    convert_job_free(job);
    convert_planfile_free(pf);
    free_sels(sels, a.nsels, &active);
    convert_free_joined_args(nargv, joined, argc);
    return status;
}
