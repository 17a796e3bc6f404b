/* p2v boot-check: boot an image in qemu (never writing it) and say whether
 * it comes up, from its serial console and its screen. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/bootcheck.h"
#include "cli/commands.h"
#include "sink/sink.h"
#include "util/json.h"
#include "util/size.h"

static const char bootcheck_usage[] =
    "Usage: p2v boot-check [OPTIONS] IMAGE\n"
    "\n"
    "Boot IMAGE (raw, qcow2 or fixed VHD) in qemu-system-x86_64 and say whether it\n"
    "comes up. The image is never written: qemu runs with -snapshot and guest\n"
    "writes go to a temporary overlay. The firmware follows the partition table:\n"
    "MBR with an active partition -> SeaBIOS; GPT with an EFI system partition ->\n"
    "OVMF with a fresh copy of its variable store; otherwise SeaBIOS. The machine\n"
    "is a q35 with a standard VGA and no network card.\n"
    "\n"
    "What is watched: the serial console (COM1, kept in serial.log), a screenshot\n"
    "every few seconds and at the end (PNG through QMP screendump), the words on\n"
    "each new screen (tesseract OCR), and the VM's state.\n"
    "\n"
    "Verdict, the first that applies:\n"
    "  booted   --expect TEXT seen on the serial console or the screen;\n"
    "           without --expect: the screen moved past the firmware and stayed\n"
    "           unchanged for --settle seconds, or the guest powered itself off\n"
    "  failed   firmware words (\"No bootable device\", \"Boot failed\", OVMF's\n"
    "           \"BdsDxe: failed to load\", the UEFI shell, a PXE fallback), a boot\n"
    "           loader's error (\"BOOTMGR is missing\", \"A disk read error occurred\"),\n"
    "           the Windows Boot Manager / recovery error screen or a Windows stop\n"
    "           screen (with its code: 0xc000000e, INACCESSIBLE_BOOT_DEVICE...),\n"
    "           a reset (reboot, a stop screen's restart), a panic, or --timeout\n"
    "Text is matched loosely (case, spaces and punctuation do not matter).\n"
    "\n"
    "Options:\n"
    "  --bus sata|virtio-blk|ide  disk controller (default sata: q35's AHCI)\n"
    "  --firmware auto|bios|uefi  override the firmware chosen from the table\n"
    "  --accel auto|kvm|tcg   auto (default): KVM when /dev/kvm works, else TCG;\n"
    "                         a KVM boot that stops with an emulation failure is\n"
    "                         booted again under TCG (the report says so)\n"
    "  --timeout SECONDS      give up after this long (default 300)\n"
    "  --memory SIZE          guest memory (default 2G; plain numbers are MiB)\n"
    "  --expect TEXT          text that means the system is up\n"
    "  --interval SECONDS     between screenshots (default 2)\n"
    "  --settle SECONDS       unchanged screen that counts as booted (default 10)\n"
    "  --screenshots DIR      keep screenshots (shot-NNN.png), serial.log and\n"
    "                         qemu.log in DIR (created if missing; files of an\n"
    "                         earlier run are overwritten). Without it they go to a\n"
    "                         temporary directory, kept only when the boot failed\n"
    "  --ovmf-code FILE       OVMF firmware (default " BOOTCHECK_OVMF_CODE ")\n"
    "  --ovmf-vars FILE       OVMF variable store template, copied for each run\n"
    "                         (default " BOOTCHECK_OVMF_VARS ")\n"
    "  --json                 report as JSON on stdout\n"
    "  -q, --quiet            no notices on stderr\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 booted, 1 did not boot (the reason and the last screenshot\n"
    "are named) or the check could not run, 2 usage error.\n";

static volatile sig_atomic_t bootcheck_cancel;

struct bootcheck_args {
    bootcheck_opts o;
    bool json, quiet;
};

enum {
    OPT_BUS = 256, OPT_FIRMWARE, OPT_ACCEL, OPT_TIMEOUT, OPT_MEMORY, OPT_EXPECT, OPT_INTERVAL,
    OPT_SETTLE, OPT_SHOTS, OPT_OVMF_CODE, OPT_OVMF_VARS, OPT_JSON,
};

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    cli_error("boot-check: %s", msg);
    fputs("Run 'p2v boot-check --help' for the options.\n", stderr);
    return P2V_EXIT_USAGE;
}

static int parse_seconds(const char *opt, const char *s, unsigned min, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > 86400) {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "%s needs whole seconds from %u to 86400, not '%%s'", opt, min);
        return usage_error(fmt, s);
    }
    *out = (unsigned)v;
    return 0;
}

/* "2048" is MiB (as qemu -m takes it); "2G", "512M" are sizes. */
static int parse_memory(const char *s, unsigned *mib)
{
    uint64_t v;
    char *end;
    unsigned long plain = strtoul(s, &end, 10);
    if (end != s && !*end && s[0] != '-') {
        v = (uint64_t)plain << 20;
    } else if (size_parse(s, &v) < 0) {
        return usage_error("--memory needs a size such as 2048 (MiB), 512M or 4G, not '%s'", s);
    }
    if (v < (64u << 20) || v > (1ull << 40))
        return usage_error("--memory %s: from 64M to 1T", s);
    *mib = (unsigned)(v >> 20);
    return 0;
}

static int parse_choice(int c, const char *arg, struct bootcheck_args *a)
{
    switch (c) {
    case OPT_BUS:
        if (bootcheck_bus_parse(arg, &a->o.bus) < 0)
            return usage_error("unknown --bus '%s' (sata, virtio-blk or ide)", arg);
        return 0;
    case OPT_FIRMWARE:
        if (bootcheck_fw_parse(arg, &a->o.fw) < 0)
            return usage_error("unknown --firmware '%s' (auto, bios or uefi)", arg);
        a->o.fw_reason = "--firmware";
        return 0;
    default:
        if (bootcheck_accel_parse(arg, &a->o.accel) < 0)
            return usage_error("unknown --accel '%s' (auto, kvm or tcg)", arg);
        return 0;
    }
}

static int parse_opt(int c, const char *arg, struct bootcheck_args *a)
{
    switch (c) {
    case OPT_BUS:
    case OPT_FIRMWARE:
    case OPT_ACCEL: return parse_choice(c, arg, a);
    case OPT_TIMEOUT: return parse_seconds("--timeout", arg, 5, &a->o.timeout_s);
    case OPT_INTERVAL: return parse_seconds("--interval", arg, 1, &a->o.interval_s);
    case OPT_SETTLE: return parse_seconds("--settle", arg, 1, &a->o.settle_s);
    case OPT_MEMORY: return parse_memory(arg, &a->o.memory_mib);
    case OPT_EXPECT:
        if (!bootcheck_text_has(arg, strlen(arg), arg))
            return usage_error("--expect '%s' needs letters or digits", arg);
        a->o.expect = arg;
        return 0;
    case OPT_SHOTS: a->o.shots_dir = arg; return 0;
    case OPT_OVMF_CODE: a->o.ovmf_code = arg; return 0;
    case OPT_OVMF_VARS: a->o.ovmf_vars = arg; return 0;
    case OPT_JSON: a->json = true; return 0;
    case 'q': a->quiet = true; return 0;
    default: return usage_error("%s", "internal: unknown option");
    }
}

/* 0 to go on, -1 after --help, else the exit status of a usage error. */
static int parse_args(int argc, char **argv, struct bootcheck_args *a)
{
    static const struct option longopts[] = {
        { "bus", required_argument, NULL, OPT_BUS },
        { "firmware", required_argument, NULL, OPT_FIRMWARE },
        { "accel", required_argument, NULL, OPT_ACCEL },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "expect", required_argument, NULL, OPT_EXPECT },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "settle", required_argument, NULL, OPT_SETTLE },
        { "screenshots", required_argument, NULL, OPT_SHOTS },
        { "ovmf-code", required_argument, NULL, OPT_OVMF_CODE },
        { "ovmf-vars", required_argument, NULL, OPT_OVMF_VARS },
        { "json", no_argument, NULL, OPT_JSON },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c, rc;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(bootcheck_usage, stdout);
            return -1;
        }
        if (c == ':')
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        if (c == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if ((rc = parse_opt(c, optarg, a)) != 0)
            return rc;
    }
    if (argc - optind != 1)
        return usage_error("%s", argc - optind == 0 ? "needs one IMAGE" : "takes one IMAGE");
    a->o.image = argv[optind];
    return 0;
}

void cli_bootcheck_notice(void *ctx, const char *msg)
{
    (void)ctx;
    cli_notice("boot-check: %s", msg);
}


void cli_bootcheck_json(json_writer *j, const char *image, const char *expect,
                        const bootcheck_result *r)
{
    json_obj_begin(j);
    json_kstr(j, "image", image);
    json_kstr(j, "format", r->format);
    json_kbool(j, "booted", r->verdict == BOOTCHECK_BOOTED);
    json_kstr(j, "how", r->how);
    json_kstr(j, "reason", r->reason);
    json_kstr_or_null(j, "code", r->code);
    json_kstr_or_null(j, "expect", expect);
    json_kstr(j, "firmware", bootcheck_fw_name(r->firmware));
    json_kstr(j, "firmware_name", bootcheck_fw_firmware(r->firmware));
    json_kstr(j, "firmware_reason", r->firmware_why);
    json_kstr(j, "bus", bootcheck_bus_name(r->bus));
    json_kstr(j, "accel", bootcheck_accel_name(r->accel));
    json_kstr_or_null(j, "accel_note", r->accel_note);
    json_kdouble(j, "seconds", r->seconds);
    json_ku64(j, "screenshots", r->screenshots);
    json_kstr_or_null(j, "dir", r->dir);
    json_kstr_or_null(j, "last_screenshot", r->last_screenshot);
    json_kstr_or_null(j, "serial_log", r->serial_log);
    json_kstr(j, "screen_text", r->screen_text);
    json_obj_end(j);
}

void cli_bootcheck_text(FILE *out, const char *image, const bootcheck_result *r)
{
    fprintf(out, "Boot check of %s: %s (%s)\n", image,
            r->verdict == BOOTCHECK_BOOTED ? "booted" : "did not boot", r->how);
    fprintf(out, "  %s\n", r->reason);
    fprintf(out, "  firmware %s (%s), bus %s, accelerator %s%s%s%s, %.1fs\n",
            bootcheck_fw_firmware(r->firmware), r->firmware_why, bootcheck_bus_name(r->bus),
            bootcheck_accel_name(r->accel), r->accel_note[0] ? " (" : "", r->accel_note,
            r->accel_note[0] ? ")" : "", r->seconds);
    if (r->last_screenshot[0])
        fprintf(out, "  last screenshot: %s (%u taken)\n", r->last_screenshot, r->screenshots);
    if (r->serial_log[0])
        fprintf(out, "  serial log: %s\n", r->serial_log);
}

int cli_bootcheck_failure_line(const char *image, const bootcheck_result *r)
{
    cli_error("boot-check %s: did not boot: %s%s%s", image, r->reason,
              r->last_screenshot[0] ? "; last screenshot " : "", r->last_screenshot);
    return P2V_EXIT_FAIL;
}

int cmd_bootcheck(int argc, char **argv)
{
    struct bootcheck_args a = { .o = { .notice = cli_bootcheck_notice } };
    bootcheck_result res;
    p2v_err err;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? P2V_EXIT_OK : rc;
    if (a.quiet)
        a.o.notice = NULL;
    bootcheck_cancel = 0;
    a.o.cancel = &bootcheck_cancel;
    /* Every signal that would kill us cancels instead, as in convert (a
     * dropped ssh session's HUP too), so that qemu is stopped and the
     * temporary directories are removed. */
    sink_signals sigs;
    sink_catch_signals(&sigs, &bootcheck_cancel);
    rc = bootcheck_run(&a.o, &res, &err);
    sink_restore_signals(&sigs);
    if (rc < 0) {
        cli_error("boot-check %s: %s", a.o.image, err.msg);
        return P2V_EXIT_FAIL;
    }
    if (a.json) {
        json_writer j;
        json_init(&j, stdout);
        cli_bootcheck_json(&j, a.o.image, a.o.expect, &res);
        json_end(&j);
    } else {
        cli_bootcheck_text(stdout, a.o.image, &res);
    }
    if (res.verdict != BOOTCHECK_BOOTED)
        return cli_bootcheck_failure_line(a.o.image, &res);
    return P2V_EXIT_OK;
}
