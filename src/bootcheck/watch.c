/* What decides a boot check: text on the serial console or the screen
 * (expected text, known failures), the VM's state (shutdown, KVM failing),
 * the process, the timeouts; bc_tick is one turn of the watch loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/run_impl.h"
#include "util/io.h"

void bc_notice(run *r, const char *fmt, ...)
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
        bc_notice(r, "the screen moved past the firmware after %.0fs", elapsed(r));
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
int bc_shoot(run *r, bool judge, p2v_err *err)
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

bool bc_kvm_failed(run *r, const char *status)
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
    if (bc_kvm_failed(r, m.status))
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
    if (bc_kvm_failed(r, ""))
        return STEP_KVM_FAILED;
    bootcheck_last_line(r->qemu_log, line, sizeof line);
    return decide(r, BOOTCHECK_FAILED, "qemu-exit", "qemu ended after %.1fs%s%s", elapsed(r),
                  line[0] ? ": " : "", line);
}

static int timed_out(run *r, p2v_err *err)
{
    int step = bc_shoot(r, true, err);
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
int bc_tick(run *r, p2v_err *err)
{
    int step;
    if (r->o->cancel && *r->o->cancel)
        return p2v_errf(err, -EINTR, "boot-check interrupted");
    if ((step = watch_serial(r)) != STEP_GOING || (step = watch_events(r)) != STEP_GOING ||
        (step = watch_process(r)) != STEP_GOING || (step = watch_status(r)) != STEP_GOING)
        return step;
    if (bootcheck_now() >= r->next_shot) {
        r->next_shot = bootcheck_now() + r->interval_s;
        if ((step = bc_shoot(r, true, err)) != STEP_GOING)
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

