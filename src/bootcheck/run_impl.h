/* One boot check's state, shared by its two files:
 *
 *   run.c    bootcheck_run: setup, one attempt (start qemu, connect QMP,
 *            watch, stop), the KVM-to-TCG fallback, cleanup
 *   watch.c  what decides: the serial console, the screen, the VM's state,
 *            the timeouts, one tick of the watch loop */
#ifndef P2V_BOOTCHECK_RUN_IMPL_H
#define P2V_BOOTCHECK_RUN_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bootcheck/bootcheck_impl.h"

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


/* A line for the caller's notice callback (e.g. "KVM failed, trying TCG"). */
void bc_notice(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One step of the watch: STEP_GOING, or a verdict was decided (or KVM
 * failed and the caller retries with TCG); < 0 on an error. */
int bc_tick(run *r, p2v_err *err);
/* A screenshot, judged (judge) or only kept as evidence. */
int bc_shoot(run *r, bool judge, p2v_err *err);
/* True (and r->kvm_why set) when qemu's status or log says KVM cannot run this guest. */
bool bc_kvm_failed(run *r, const char *status);

#endif
