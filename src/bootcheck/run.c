/* One boot check: start qemu, watch the serial console, the screen and the
 * VM's state until something decides, then stop it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "bootcheck/bootcheck_impl.h"
#include "util/io.h"

#define TICK_MS 200
#define SHOT_CHANGED 3            /* thumbnail cells: fewer is a cursor blinking */
#define SERIAL_MAX (1024 * 1024)  /* serial text kept for matching (the log has it all) */
#define QMP_TIMEOUT_MS 10000
#define START_TIMEOUT_S 20.0
/* Under a working KVM the firmware draws its first screen within a second
 * or two; on hosts whose /dev/kvm works but real-mode firmware crawls
 * (and later stops with an emulation failure) it takes far longer. */
#define KVM_PROBE_S 6.0

enum step { STEP_GOING = 0, STEP_DECIDED, STEP_KVM_FAILED };

typedef struct run {
    const bootcheck_opts *o;
    bootcheck_result *res;
    bootcheck_ocr *ocr;
    unsigned timeout_s, interval_s, settle_s;
    char rundir[PATH_MAX];        /* QMP socket and the variable store; always removed */
    char sock[PATH_MAX], vars[PATH_MAX], qemu_log[PATH_MAX];
    bool temp_dir;                /* res->dir is ours to remove after a good boot */
    /* the current attempt */
    enum bootcheck_accel accel;
    pid_t pid;
    bootcheck_qmp *qmp;
    double t0, next_shot, next_status, last_shot_t;
    char *serial;
    size_t serial_len;
    uint64_t serial_off;
    bootcheck_print prev, ocr_print, first_screen;
    bool fw_text, past_fw;
    bool placeholder;             /* qemu's "Guest has not initialized the display" */
    bool alive;                   /* the firmware drew a screen or wrote to serial */
    unsigned still_s;
    char kvm_why[128];
} run;

static void notice(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(run *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!r->o->notice)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->o->notice(r->o->notice_ctx, msg);
}

static double elapsed(const run *r)
{
    return bootcheck_now() - r->t0;
}

static int decide(run *r, enum bootcheck_verdict v, const char *how, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int decide(run *r, enum bootcheck_verdict v, const char *how, const char *fmt, ...)
{
    va_list ap;
    r->res->verdict = v;
    r->res->seconds = elapsed(r);
    snprintf(r->res->how, sizeof r->res->how, "%s", how);
    va_start(ap, fmt);
    vsnprintf(r->res->reason, sizeof r->res->reason, fmt, ap);
    va_end(ap);
    return STEP_DECIDED;
}

static const char *fail_what(enum bootcheck_fail_kind k, enum bootcheck_fw fw)
{
    switch (k) {
    case BOOTCHECK_FAIL_FIRMWARE:
        return fw == BOOTCHECK_FW_UEFI ? "OVMF found nothing to boot" : "SeaBIOS found nothing to boot";
    case BOOTCHECK_FAIL_NETBOOT: return "the firmware fell back to network boot (PXE)";
    case BOOTCHECK_FAIL_BOOTLOADER: return "a boot loader stopped with an error";
    case BOOTCHECK_FAIL_BOOTMGR: return "Windows Boot Manager / recovery error screen";
    case BOOTCHECK_FAIL_STOP: return "Windows stop screen";
    default: return "failure";
    }
}

/* Expected text wins (the user said it means booted); then known failures. */
static int check_text(run *r, const char *text, size_t len, const char *where)
{
    bootcheck_failure f;
    if (r->o->expect && bootcheck_text_has(text, len, r->o->expect))
        return decide(r, BOOTCHECK_BOOTED, !strcmp(where, "screen") ? "expect-screen" : "expect-serial",
                      "\"%s\" seen on the %s after %.1fs", r->o->expect, where, elapsed(r));
    if (!bootcheck_find_failure(text, len, &f))
        return STEP_GOING;
    snprintf(r->res->code, sizeof r->res->code, "%s", f.code);
    return decide(r, BOOTCHECK_FAILED, bootcheck_fail_kind_name(f.kind),
                  "%s: \"%s\"%s%s on the %s after %.1fs", fail_what(f.kind, r->res->firmware),
                  f.words, f.code[0] ? ", code " : "", f.code, where, elapsed(r));
}

/* ---- serial console ------------------------------------------------------ */

/* Append what qemu wrote since last time; true when there was something. */
static bool read_serial(run *r)
{
    char chunk[16384];
    size_t got = 0;
    bool any = false;
    int fd = open(r->res->serial_log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    while (pread_full(fd, chunk, sizeof chunk, r->serial_off, &got) == 0 && got > 0) {
        if (r->serial_len + got > SERIAL_MAX) { /* keep the newer half */
            size_t drop = r->serial_len / 2;
            memmove(r->serial, r->serial + drop, r->serial_len - drop);
            r->serial_len -= drop;
        }
        char *grown = realloc(r->serial, r->serial_len + got + 1);
        if (!grown)
            break;
        r->serial = grown;
        memcpy(r->serial + r->serial_len, chunk, got);
        r->serial_len += got;
        r->serial[r->serial_len] = '\0';
        r->serial_off += got;
        any = true;
    }
    close(fd);
    return any;
}

static int watch_serial(run *r)
{
    if (!read_serial(r))
        return STEP_GOING;
    r->alive = true;
    return check_text(r, r->serial, r->serial_len, "serial console");
}

/* ---- screen -------------------------------------------------------------- */

static void keep_screen_text(run *r, const char *text)
{
    char *o = r->res->screen_text, *end = o + sizeof r->res->screen_text - 1;
    bool space = false;
    for (const char *t = text; *t && o < end; t++) {
        if (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t') {
            space = o != r->res->screen_text;
            continue;
        }
        if (space && o + 1 < end)
            *o++ = ' ';
        space = false;
        *o++ = *t;
    }
    *o = '\0';
}

/* Past the firmware: a screen that is neither blank, nor qemu's "not
 * initialized" placeholder, nor showing firmware words, nor (under OVMF,
 * whose logo has no words) the first screen drawn. Settled: such a screen
 * unchanged for settle_s. */
static int judge_screen(run *r, const bootcheck_print *p, bool changed)
{
    if (bootcheck_print_blank(p) || r->placeholder) {
        r->still_s = 0;
        return STEP_GOING;
    }
    if (!r->first_screen.valid)
        r->first_screen = *p;
    if (!r->past_fw && !r->fw_text &&
        (r->res->firmware == BOOTCHECK_FW_BIOS ||
         bootcheck_print_diff(&r->first_screen, p) >= SHOT_CHANGED)) {
        r->past_fw = true;
        notice(r, "the screen moved past the firmware after %.0fs", elapsed(r));
        changed = true;
    }
    r->still_s = r->past_fw && !changed && !r->fw_text ? r->still_s + r->interval_s : 0;
    if (r->past_fw && !r->o->expect && r->still_s >= r->settle_s)
        return decide(r, BOOTCHECK_BOOTED, "screen-settled",
                      "the screen moved past the firmware and stayed unchanged for %us "
                      "(after %.1fs)", r->still_s, elapsed(r));
    return STEP_GOING;
}

static int read_screen(run *r, const char *png, p2v_err *err)
{
    bootcheck_print p;
    char *text = NULL;
    int rc, step = STEP_GOING;
    if ((rc = bootcheck_screen_read(r->ocr, png, &p, NULL, err)) < 0)
        return rc;
    bool changed = bootcheck_print_diff(&r->prev, &p) >= SHOT_CHANGED;
    r->prev = p;
    if (bootcheck_print_diff(&r->ocr_print, &p) >= SHOT_CHANGED) {
        if ((rc = bootcheck_screen_read(r->ocr, png, &p, &text, err)) < 0)
            return rc;
        r->ocr_print = p;
        keep_screen_text(r, text);
        r->fw_text = bootcheck_is_firmware_text(text, strlen(text));
        r->placeholder = bootcheck_text_has(text, strlen(text), "Guest has not initialized");
        if (!bootcheck_print_blank(&p) && !r->placeholder)
            r->alive = true;
        step = check_text(r, text, strlen(text), "screen");
        free(text);
    }
    return step != STEP_GOING ? step : judge_screen(r, &p, changed);
}

/* Take a screenshot; judge it unless only evidence is wanted. */
static int shoot(run *r, bool judge, p2v_err *err)
{
    char name[32], path[PATH_MAX];
    p2v_err qerr;
    int rc;
    snprintf(name, sizeof name, "shot-%03u.png", r->res->screenshots + 1);
    if ((rc = bootcheck_path(path, sizeof path, r->res->dir, name, err)) < 0)
        return rc;
    r->last_shot_t = bootcheck_now();
    if (bootcheck_qmp_screendump(r->qmp, path, QMP_TIMEOUT_MS, &qerr) < 0)
        return STEP_GOING; /* qemu is going away: the state tells why */
    r->res->screenshots++;
    snprintf(r->res->last_screenshot, sizeof r->res->last_screenshot, "%s", path);
    return judge ? read_screen(r, path, err) : STEP_GOING;
}

/* ---- the VM's state ------------------------------------------------------ */

static int on_shutdown(run *r, const char *reason)
{
    int step;
    if ((step = watch_serial(r)) != STEP_GOING) /* the last words before power-off */
        return step;
    if (!strcmp(reason, "guest-shutdown")) {
        if (r->o->expect)
            return decide(r, BOOTCHECK_FAILED, "powered-off",
                          "the guest powered off after %.1fs without \"%s\" appearing",
                          elapsed(r), r->o->expect);
        return decide(r, BOOTCHECK_BOOTED, "powered-off",
                      "the guest powered itself off after %.1fs (an operating system ran)",
                      elapsed(r));
    }
    if (!strcmp(reason, "guest-reset"))
        return decide(r, BOOTCHECK_FAILED, "guest-reset",
                      "the guest reset after %.1fs (a reboot, a stop screen's automatic "
                      "restart, or a triple fault)", elapsed(r));
    if (!strcmp(reason, "guest-panic"))
        return decide(r, BOOTCHECK_FAILED, "guest-panic", "the guest panicked after %.1fs",
                      elapsed(r));
    return decide(r, BOOTCHECK_FAILED, "qemu-exit", "qemu stopped after %.1fs (%s)", elapsed(r),
                  reason[0] ? reason : "no reason given");
}

static int watch_events(run *r)
{
    bootcheck_qmp_msg ev;
    p2v_err qerr;
    while (bootcheck_qmp_next_event(r->qmp, &ev, &qerr) == 1) {
        if (!strcmp(ev.event, "SHUTDOWN"))
            return on_shutdown(r, ev.reason);
        if (!strcmp(ev.event, "GUEST_PANICKED"))
            return on_shutdown(r, "guest-panic");
    }
    return STEP_GOING;
}

static bool kvm_failed(run *r, const char *status)
{
    if (r->accel != BOOTCHECK_ACCEL_KVM)
        return false;
    if (!strcmp(status, "internal-error") || bootcheck_file_has(r->qemu_log, "emulation failure") ||
        bootcheck_file_has(r->qemu_log, "KVM internal error")) {
        snprintf(r->kvm_why, sizeof r->kvm_why, "KVM internal error, emulation failure");
        return true;
    }
    return false;
}

static int watch_status(run *r)
{
    bootcheck_qmp_msg m;
    p2v_err qerr;
    if (bootcheck_now() < r->next_status)
        return STEP_GOING;
    r->next_status = bootcheck_now() + 1.0;
    if (bootcheck_qmp_command(r->qmp, "{\"execute\": \"query-status\"}", QMP_TIMEOUT_MS, &m,
                              &qerr) < 0)
        return STEP_GOING; /* exiting: the events or the process tell */
    if (kvm_failed(r, m.status))
        return STEP_KVM_FAILED;
    if (!strcmp(m.status, "internal-error") || !strcmp(m.status, "guest-panicked"))
        return decide(r, BOOTCHECK_FAILED, "qemu-exit", "the VM stopped after %.1fs: %s",
                      elapsed(r), m.status);
    return STEP_GOING;
}

static int watch_process(run *r)
{
    char line[256];
    if (!bootcheck_proc_ended(r->pid, NULL))
        return STEP_GOING;
    r->pid = -1;
    int step = watch_events(r); /* a SHUTDOWN said before going */
    if (step != STEP_GOING)
        return step;
    if (kvm_failed(r, ""))
        return STEP_KVM_FAILED;
    bootcheck_last_line(r->qemu_log, line, sizeof line);
    return decide(r, BOOTCHECK_FAILED, "qemu-exit", "qemu ended after %.1fs%s%s", elapsed(r),
                  line[0] ? ": " : "", line);
}

static int timed_out(run *r, p2v_err *err)
{
    int step = shoot(r, true, err);
    if (step != STEP_GOING)
        return step;
    const char *where = r->past_fw ? "the screen moved past the firmware"
                                   : "the screen never got past the firmware";
    if (r->o->expect)
        return decide(r, BOOTCHECK_FAILED, "timeout", "\"%s\" not seen within %us; %s",
                      r->o->expect, r->timeout_s, where);
    return decide(r, BOOTCHECK_FAILED, "timeout", "no verdict within %us: %s%s", r->timeout_s,
                  where, r->past_fw ? " but did not settle" : "");
}

/* One tick of watching; negative on an error that stops the check. */
static int tick(run *r, p2v_err *err)
{
    int step;
    if (r->o->cancel && *r->o->cancel)
        return p2v_errf(err, -EINTR, "boot-check interrupted");
    if ((step = watch_serial(r)) != STEP_GOING || (step = watch_events(r)) != STEP_GOING ||
        (step = watch_process(r)) != STEP_GOING || (step = watch_status(r)) != STEP_GOING)
        return step;
    if (bootcheck_now() >= r->next_shot) {
        r->next_shot = bootcheck_now() + r->interval_s;
        if ((step = shoot(r, true, err)) != STEP_GOING)
            return step;
    }
    if (r->accel == BOOTCHECK_ACCEL_KVM && r->o->accel == BOOTCHECK_ACCEL_AUTO && !r->alive &&
        elapsed(r) >= KVM_PROBE_S) {
        snprintf(r->kvm_why, sizeof r->kvm_why,
                 "the firmware drew no screen within %.0fs under KVM", KVM_PROBE_S);
        return STEP_KVM_FAILED;
    }
    if (elapsed(r) >= r->timeout_s)
        return timed_out(r, err);
    bootcheck_sleep_ms(TICK_MS);
    return STEP_GOING;
}

/* ---- one attempt --------------------------------------------------------- */

static void reset_attempt(run *r, enum bootcheck_accel accel)
{
    free(r->serial);
    r->serial = NULL;
    r->serial_len = 0;
    r->serial_off = 0;
    r->accel = accel;
    r->pid = -1;
    r->qmp = NULL;
    memset(&r->prev, 0, sizeof r->prev);
    memset(&r->ocr_print, 0, sizeof r->ocr_print);
    memset(&r->first_screen, 0, sizeof r->first_screen);
    r->fw_text = r->past_fw = r->alive = r->placeholder = false;
    r->still_s = 0;
    r->kvm_why[0] = '\0';
    r->res->screen_text[0] = '\0';
    r->res->code[0] = '\0';
}

static int start_vm(run *r, p2v_err *err)
{
    bootcheck_vm vm = {
        .qemu = r->o->qemu, .image = r->o->image, .format = r->res->format,
        .fw = r->res->firmware, .bus = r->res->bus, .accel = r->accel,
        .memory_mib = r->o->memory_mib ? r->o->memory_mib : 2048,
        .ovmf_code = r->o->ovmf_code ? r->o->ovmf_code : BOOTCHECK_OVMF_CODE,
        .ovmf_vars = r->vars, .qmp_socket = r->sock, .serial_log = r->res->serial_log,
    };
    char **argv = NULL;
    int rc;
    if (vm.fw == BOOTCHECK_FW_UEFI && access(vm.ovmf_code, R_OK) < 0)
        return p2v_errf(err, -errno, "OVMF firmware %s: %s (Debian package ovmf)", vm.ovmf_code,
                        strerror(errno));
    if (vm.fw == BOOTCHECK_FW_UEFI &&
        (rc = bootcheck_copy_file(r->o->ovmf_vars ? r->o->ovmf_vars : BOOTCHECK_OVMF_VARS,
                                  r->vars, err)) < 0)
        return p2v_err_prefix(err, rc, "OVMF variable store (Debian package ovmf)");
    if ((rc = bootcheck_qemu_argv(&vm, &argv, err)) < 0)
        return rc;
    unlink(r->sock);
    unlink(r->res->serial_log); /* a KVM attempt's output is not this one's */
    rc = bootcheck_proc_start(argv, r->qemu_log, &r->pid, err);
    bootcheck_argv_free(argv);
    r->t0 = bootcheck_now();
    return rc;
}

/* Connect to QMP while qemu starts; qemu dying first is the error. */
static int connect_vm(run *r, p2v_err *err)
{
    char line[256];
    p2v_err cerr;
    while (bootcheck_now() - r->t0 < START_TIMEOUT_S) {
        if (bootcheck_qmp_connect(r->sock, 250, &r->qmp, &cerr) == 0)
            return 0;
        if (bootcheck_proc_ended(r->pid, NULL)) {
            r->pid = -1;
            if (kvm_failed(r, ""))
                return STEP_KVM_FAILED;
            bootcheck_last_line(r->qemu_log, line, sizeof line);
            if (r->accel == BOOTCHECK_ACCEL_KVM) {
                snprintf(r->kvm_why, sizeof r->kvm_why, "%.120s", line);
                return STEP_KVM_FAILED;
            }
            return p2v_errf(err, -EIO, "qemu did not start: %s",
                            line[0] ? line : "no message (see qemu.log)");
        }
        bootcheck_sleep_ms(100);
    }
    return p2v_errf(err, -ETIMEDOUT, "qemu did not open its QMP socket within %.0fs: %s",
                    START_TIMEOUT_S, cerr.msg);
}

static void stop_vm(run *r)
{
    p2v_err qerr;
    if (r->qmp && r->pid > 0)
        bootcheck_qmp_command(r->qmp, "{\"execute\": \"quit\"}", 2000, NULL, &qerr);
    bootcheck_qmp_close(r->qmp);
    r->qmp = NULL;
    bootcheck_proc_stop(r->pid, 3000);
    r->pid = -1;
}

static int attempt(run *r, enum bootcheck_accel accel, p2v_err *err)
{
    int step;
    reset_attempt(r, accel);
    r->res->accel = accel;
    notice(r, "booting %s under %s (%s, %s bus, accelerator %s)", r->o->image,
           bootcheck_fw_firmware(r->res->firmware), r->res->firmware_why,
           bootcheck_bus_name(r->res->bus), bootcheck_accel_name(accel));
    if ((step = start_vm(r, err)) < 0)
        goto out;
    if ((step = connect_vm(r, err)) != 0)
        goto out;
    r->next_shot = bootcheck_now() + r->interval_s;
    r->next_status = bootcheck_now();
    while ((step = tick(r, err)) == STEP_GOING)
        ;
    /* The screen at the end, as evidence, unless one was just taken. */
    if (step == STEP_DECIDED && r->pid > 0 && bootcheck_now() - r->last_shot_t > 1.0)
        shoot(r, false, err);
out:
    stop_vm(r);
    return step;
}

/* ---- setup and cleanup ----------------------------------------------------- */

static void remove_in(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path)
        unlink(path);
}

/* Remove the screenshots taken so far; forget them when `forget`. */
static void remove_shots(run *r, bool forget)
{
    char name[32];
    for (unsigned i = 1; i <= r->res->screenshots; i++) {
        snprintf(name, sizeof name, "shot-%03u.png", i);
        remove_in(r->res->dir, name);
    }
    if (forget) {
        r->res->screenshots = 0;
        r->res->last_screenshot[0] = '\0';
    }
}

static int open_image(run *r, p2v_err *err)
{
    blockdev *bd = NULL;
    ptable *t = NULL;
    p2v_err terr;
    int rc = source_open(r->o->image, NULL, &bd, err);
    if (rc < 0)
        return rc;
    snprintf(r->res->format, sizeof r->res->format, "%s", bd_format(bd));
    if (ptable_read(bd, &t, &terr) < 0)
        t = NULL;
    r->res->firmware = r->o->fw;
    if (r->o->fw == BOOTCHECK_FW_AUTO)
        r->res->firmware = bootcheck_choose_firmware(t, r->res->firmware_why,
                                                     sizeof r->res->firmware_why);
    else
        snprintf(r->res->firmware_why, sizeof r->res->firmware_why, "%s",
                 r->o->fw_reason ? r->o->fw_reason : "given");
    ptable_free(t);
    bd_close(bd);
    return 0;
}

static int make_dirs(run *r, p2v_err *err)
{
    int rc;
    if ((rc = bootcheck_tempdir("bootcheck-run", r->rundir, err)) < 0)
        return rc;
    if (r->o->shots_dir) {
        if ((rc = bootcheck_ensure_dir(r->o->shots_dir, err)) < 0)
            return rc;
        snprintf(r->res->dir, sizeof r->res->dir, "%s", r->o->shots_dir);
    } else {
        char tmp[PATH_MAX];
        if ((rc = bootcheck_tempdir("bootcheck", tmp, err)) < 0)
            return rc;
        snprintf(r->res->dir, sizeof r->res->dir, "%s", tmp);
        r->temp_dir = true;
    }
    if ((rc = bootcheck_path(r->sock, sizeof r->sock, r->rundir, "qmp.sock", err)) < 0 ||
        (rc = bootcheck_path(r->vars, sizeof r->vars, r->rundir, "OVMF_VARS.fd", err)) < 0 ||
        (rc = bootcheck_path(r->qemu_log, sizeof r->qemu_log, r->res->dir, "qemu.log", err)) < 0 ||
        (rc = bootcheck_path(r->res->serial_log, sizeof r->res->serial_log, r->res->dir,
                             "serial.log", err)) < 0)
        return rc;
    return 0;
}

/* The run directory always goes; a temporary evidence directory goes after
 * a good boot (a failure keeps it: the report names its files). */
static void cleanup(run *r, bool keep_evidence)
{
    if (r->rundir[0]) {
        remove_in(r->rundir, "qmp.sock");
        remove_in(r->rundir, "OVMF_VARS.fd");
        rmdir(r->rundir);
    }
    if (!r->temp_dir || keep_evidence || !r->res->dir[0])
        return;
    remove_shots(r, false);
    remove_in(r->res->dir, "serial.log");
    remove_in(r->res->dir, "qemu.log");
    rmdir(r->res->dir);
    r->res->dir[0] = r->res->last_screenshot[0] = r->res->serial_log[0] = '\0';
}

static bool kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static int boot_with_fallback(run *r, p2v_err *err)
{
    enum bootcheck_accel accel = r->o->accel;
    if (accel == BOOTCHECK_ACCEL_AUTO) {
        accel = kvm_usable() ? BOOTCHECK_ACCEL_KVM : BOOTCHECK_ACCEL_TCG;
        if (accel == BOOTCHECK_ACCEL_TCG)
            snprintf(r->res->accel_note, sizeof r->res->accel_note, "no usable /dev/kvm");
    }
    int step = attempt(r, accel, err);
    if (step != STEP_KVM_FAILED)
        return step < 0 ? step : 0;
    if (r->o->accel == BOOTCHECK_ACCEL_KVM)
        return p2v_errf(err, -ENODEV, "KVM fails on this host (%s); try --accel tcg", r->kvm_why);
    snprintf(r->res->accel_note, sizeof r->res->accel_note, "KVM unusable on this host: %s",
             r->kvm_why);
    notice(r, "KVM unusable on this host (%s); booting again under TCG", r->kvm_why);
    remove_shots(r, true); /* the KVM attempt's screens are not this verdict's evidence */
    step = attempt(r, BOOTCHECK_ACCEL_TCG, err);
    if (step == STEP_KVM_FAILED)
        return p2v_errf(err, -EIO, "qemu failed under TCG too");
    return step < 0 ? step : 0;
}

int bootcheck_run(const bootcheck_opts *opts, bootcheck_result *res, p2v_err *err)
{
    run r = { .o = opts, .res = res, .pid = -1 };
    int rc;
    memset(res, 0, sizeof *res);
    res->verdict = BOOTCHECK_FAILED;
    res->bus = opts->bus;
    r.timeout_s = opts->timeout_s ? opts->timeout_s : 300;
    r.interval_s = opts->interval_s ? opts->interval_s : 2;
    r.settle_s = opts->settle_s ? opts->settle_s : 10;
    if ((rc = open_image(&r, err)) < 0)
        return rc;
    const char *qemu = opts->qemu ? opts->qemu : BOOTCHECK_QEMU;
    if (!bootcheck_program_exists(qemu))
        return p2v_errf(err, -ENOENT, "%s not found (Debian package qemu-system-x86)", qemu);
    if ((rc = bootcheck_ocr_open(&r.ocr, err)) < 0)
        return rc;
    if ((rc = make_dirs(&r, err)) == 0)
        rc = boot_with_fallback(&r, err);
    cleanup(&r, rc == 0 && res->verdict != BOOTCHECK_BOOTED);
    bootcheck_ocr_close(r.ocr);
    free(r.serial);
    return rc;
}
