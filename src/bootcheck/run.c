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
#include "bootcheck/run_impl.h"
#include "source/source.h"
#include "util/io.h"

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
            if (bc_kvm_failed(r, ""))
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
    bc_notice(r, "booting %s under %s (%s, %s bus, accelerator %s)", r->o->image,
           bootcheck_fw_firmware(r->res->firmware), r->res->firmware_why,
           bootcheck_bus_name(r->res->bus), bootcheck_accel_name(accel));
    if ((step = start_vm(r, err)) < 0)
        goto out;
    if ((step = connect_vm(r, err)) != 0)
        goto out;
    r->next_shot = bootcheck_now() + r->interval_s;
    r->next_status = bootcheck_now();
    while ((step = bc_tick(r, err)) == STEP_GOING)
        ;
    /* The screen at the end, as evidence, unless one was just taken. */
    if (step == STEP_DECIDED && r->pid > 0 && bootcheck_now() - r->last_shot_t > 1.0)
        bc_shoot(r, false, err);
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
    bc_notice(r, "KVM unusable on this host (%s); booting again under TCG", r->kvm_why);
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
