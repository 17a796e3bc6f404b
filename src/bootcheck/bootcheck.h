/* Boot an image in qemu and judge from what is seen whether it comes up:
 * firmware chosen from the image's partition table, the qemu command line
 * (always -snapshot: the image is never written), a QMP client for
 * screendumps and the VM's state, the serial console in a log, OCR of the
 * screenshots (libtesseract), and the verdict. */
#ifndef P2V_BOOTCHECK_H
#define P2V_BOOTCHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptable/ptable.h"
#include "util/err.h"

enum bootcheck_fw { BOOTCHECK_FW_AUTO = 0, BOOTCHECK_FW_BIOS, BOOTCHECK_FW_UEFI };
enum bootcheck_bus { BOOTCHECK_BUS_SATA = 0, BOOTCHECK_BUS_VIRTIO_BLK, BOOTCHECK_BUS_IDE };
enum bootcheck_accel { BOOTCHECK_ACCEL_AUTO = 0, BOOTCHECK_ACCEL_KVM, BOOTCHECK_ACCEL_TCG };

/* Where firmware files are looked for unless the caller names others
 * (Debian's ovmf package; SeaBIOS is qemu's built-in default). */
#define BOOTCHECK_OVMF_CODE "/usr/share/OVMF/OVMF_CODE.fd"
#define BOOTCHECK_OVMF_VARS "/usr/share/OVMF/OVMF_VARS.fd"
#define BOOTCHECK_QEMU "qemu-system-x86_64"

const char *bootcheck_fw_name(enum bootcheck_fw fw);       /* "bios", "uefi", "auto" */
const char *bootcheck_fw_firmware(enum bootcheck_fw fw);   /* "SeaBIOS", "OVMF" */
const char *bootcheck_bus_name(enum bootcheck_bus bus);    /* "sata", "virtio-blk", "ide" */
const char *bootcheck_accel_name(enum bootcheck_accel a);  /* "kvm", "tcg", "auto" */
/* Parse a name as the CLI takes it; -EINVAL for anything else. */
int bootcheck_fw_parse(const char *s, enum bootcheck_fw *out);
int bootcheck_bus_parse(const char *s, enum bootcheck_bus *out);
int bootcheck_accel_parse(const char *s, enum bootcheck_accel *out);

/* ---- firmware.c: which firmware the image's table asks for ---------------- */

/* MBR with an active partition -> BIOS; GPT with an ESP -> UEFI; an MBR
 * whose only way to boot is an 0xEF partition -> UEFI; anything else
 * (no table, GPT without ESP, MBR without active partition) -> BIOS, the
 * firmware that at least runs the boot code in LBA 0. why (why_len bytes)
 * gets one line saying which rule decided. t may be NULL (unreadable table). */
enum bootcheck_fw bootcheck_choose_firmware(const ptable *t, char *why, size_t why_len);

/* ---- qemu.c: the command line --------------------------------------------- */

typedef struct bootcheck_vm {
    const char *qemu;        /* binary (NULL: BOOTCHECK_QEMU from PATH) */
    const char *image;
    const char *format;      /* qemu format name: raw, qcow2, vpc */
    enum bootcheck_fw fw;    /* BIOS or UEFI (not AUTO) */
    enum bootcheck_bus bus;
    enum bootcheck_accel accel; /* KVM or TCG (not AUTO) */
    unsigned memory_mib;
    const char *ovmf_code;   /* UEFI: firmware code (read-only) */
    const char *ovmf_vars;   /* UEFI: this run's own copy of the variable store */
    const char *qmp_socket;  /* unix socket path qemu listens on */
    const char *serial_log;  /* file the serial console goes to */
} bootcheck_vm;

/* A NULL-terminated argv for execvp, every string malloc'd; q35, -snapshot,
 * -no-reboot, -nodefaults with a std VGA, the disk on the chosen bus with
 * bootindex 0. -EINVAL (and a message) for an incomplete vm; -ENOMEM. */
int bootcheck_qemu_argv(const bootcheck_vm *vm, char ***argv_out, p2v_err *err);
void bootcheck_argv_free(char **argv);

/* ---- qmp.c: the QEMU Machine Protocol over a unix socket ------------------ */

enum bootcheck_qmp_kind {
    BOOTCHECK_QMP_GREETING = 1, /* {"QMP": ...} */
    BOOTCHECK_QMP_RETURN,       /* {"return": ...} */
    BOOTCHECK_QMP_ERROR,        /* {"error": {"class", "desc"}} */
    BOOTCHECK_QMP_EVENT,        /* {"event": NAME, "data": ...} */
};

/* One message from qemu, the fields p2v acts on. */
typedef struct bootcheck_qmp_msg {
    enum bootcheck_qmp_kind kind;
    char event[48];   /* EVENT: its name (SHUTDOWN, RESET, STOP, GUEST_PANICKED...) */
    char reason[48];  /* EVENT SHUTDOWN: data.reason (guest-shutdown, guest-reset...) */
    char status[32];  /* RETURN of query-status: return.status (running, internal-error...) */
    char desc[256];   /* ERROR: error.desc */
} bootcheck_qmp_msg;

/* Parse one QMP line (untrusted bytes, not NUL-terminated). -EINVAL with a
 * message for anything that is not one JSON object of a known kind. */
int bootcheck_qmp_parse(const char *line, size_t len, bootcheck_qmp_msg *msg, p2v_err *err);

typedef struct bootcheck_qmp bootcheck_qmp;

/* Connect to qemu's QMP socket, read the greeting and leave capabilities
 * negotiation. Retries while the socket is not there yet, up to timeout_ms. */
int bootcheck_qmp_connect(const char *socket_path, int timeout_ms, bootcheck_qmp **out,
                          p2v_err *err);
/* Run one command (a JSON object as text) and wait up to timeout_ms for its
 * reply, which lands in *reply (may be NULL). Events read meanwhile are
 * kept for bootcheck_qmp_next_event. An error reply gives -EIO with its desc. */
int bootcheck_qmp_command(bootcheck_qmp *q, const char *json, int timeout_ms,
                          bootcheck_qmp_msg *reply, p2v_err *err);
/* Read what has arrived without waiting and hand out the oldest event:
 * 1 and *ev filled, 0 when none, negative when the connection is gone. */
int bootcheck_qmp_next_event(bootcheck_qmp *q, bootcheck_qmp_msg *ev, p2v_err *err);
/* Ask qemu for a PNG of the screen at png_path (written when it returns). */
int bootcheck_qmp_screendump(bootcheck_qmp *q, const char *png_path, int timeout_ms, p2v_err *err);
void bootcheck_qmp_close(bootcheck_qmp *q);

/* ---- verdict.c: what the words on the serial console or the screen mean --- */

enum bootcheck_fail_kind {
    BOOTCHECK_FAIL_NONE = 0,
    BOOTCHECK_FAIL_FIRMWARE,     /* SeaBIOS/OVMF found nothing to boot */
    BOOTCHECK_FAIL_NETBOOT,      /* the firmware fell back to PXE */
    BOOTCHECK_FAIL_BOOTLOADER,   /* MBR/VBR/boot loader error message */
    BOOTCHECK_FAIL_BOOTMGR,      /* Windows Boot Manager / recovery error screen */
    BOOTCHECK_FAIL_STOP,         /* Windows stop ("blue") screen */
};
const char *bootcheck_fail_kind_name(enum bootcheck_fail_kind k); /* "firmware", ... */

typedef struct bootcheck_failure {
    enum bootcheck_fail_kind kind;
    char words[64];  /* the recognised message, as the program prints it */
    char code[64];   /* a stop code name or 0x... status found with it, or "" */
} bootcheck_failure;

/* Look for a known failure in text (untrusted, any bytes). The match is
 * loose on purpose, for OCR output: case, spaces, punctuation, ANSI escapes
 * and the OCR confusions O/0 and I/l/1 do not matter. true when found. */
bool bootcheck_find_failure(const char *text, size_t len, bootcheck_failure *f);
/* needle in text, with the same looseness. An empty needle never matches. */
bool bootcheck_text_has(const char *text, size_t len, const char *needle);
/* Words of SeaBIOS, OVMF or iPXE in text: the screen still belongs to the firmware. */
bool bootcheck_is_firmware_text(const char *text, size_t len);

/* ---- screen.c: screenshots ------------------------------------------------ */

#define BOOTCHECK_PRINT_W 64
#define BOOTCHECK_PRINT_H 32

/* A coarse grey thumbnail of a screenshot, to tell whether the screen moved. */
typedef struct bootcheck_print {
    uint8_t cell[BOOTCHECK_PRINT_W * BOOTCHECK_PRINT_H];
    bool valid;
} bootcheck_print;

/* Thumbnail of an 8-bit grey image (w x h, row stride `stride` bytes). */
void bootcheck_print_from_grey(const uint8_t *grey, uint32_t w, uint32_t h, size_t stride,
                               bootcheck_print *p);
/* Cells that differ noticeably between two thumbnails (an invalid one
 * differs everywhere). */
unsigned bootcheck_print_diff(const bootcheck_print *a, const bootcheck_print *b);
/* One flat colour: nothing on the screen. */
bool bootcheck_print_blank(const bootcheck_print *p);

typedef struct bootcheck_ocr bootcheck_ocr;
/* Start tesseract with English (tesseract-ocr-eng). */
int bootcheck_ocr_open(bootcheck_ocr **out, p2v_err *err);
void bootcheck_ocr_close(bootcheck_ocr *o);
/* Load the PNG at path: its thumbnail in *print and, when text is not NULL,
 * the words read from it (malloc'd, caller frees). */
int bootcheck_screen_read(bootcheck_ocr *o, const char *png_path, bootcheck_print *print,
                          char **text, p2v_err *err);

/* ---- run.c: one boot and its verdict -------------------------------------- */

typedef struct bootcheck_opts {
    const char *image;
    enum bootcheck_fw fw;         /* AUTO: from the table */
    const char *fw_reason;        /* why fw was forced, for the report (NULL: "given") */
    enum bootcheck_bus bus;
    enum bootcheck_accel accel;   /* AUTO: KVM when it works, else TCG */
    unsigned memory_mib;          /* 0: 2048 */
    unsigned timeout_s;           /* 0: 300 */
    unsigned interval_s;          /* between screenshots; 0: 2 */
    unsigned settle_s;            /* unchanged screen past the firmware = booted; 0: 10 */
    const char *expect;           /* text that means booted (serial or screen), or NULL */
    const char *shots_dir;        /* keep screenshots and logs here; NULL: a temporary
                                     directory, kept only when the boot failed */
    const char *qemu;             /* NULL: BOOTCHECK_QEMU */
    const char *ovmf_code;        /* NULL: BOOTCHECK_OVMF_CODE */
    const char *ovmf_vars;        /* NULL: BOOTCHECK_OVMF_VARS */
    /* Told what happens (the accelerator chosen, a KVM fallback, each
     * screenshot); may be NULL. */
    void (*notice)(void *ctx, const char *msg);
    void *notice_ctx;
    volatile sig_atomic_t *cancel; /* set by a signal handler to stop */
} bootcheck_opts;

enum bootcheck_verdict { BOOTCHECK_BOOTED = 0, BOOTCHECK_FAILED };

typedef struct bootcheck_result {
    enum bootcheck_verdict verdict;
    char how[32];                 /* booted: expect-serial, expect-screen, screen-settled,
                                     powered-off; failed: a fail kind name, timeout,
                                     guest-reset, guest-panic, qemu-exit */
    char reason[768];             /* one line */
    char code[64];                /* stop/status code when one was read, else "" */
    enum bootcheck_fw firmware;
    char firmware_why[160];
    enum bootcheck_bus bus;
    enum bootcheck_accel accel;   /* the one the verdict comes from */
    char accel_note[160];         /* why not KVM, when it was not used */
    char format[16];
    double seconds;               /* of the boot that gave the verdict */
    unsigned screenshots;
    char dir[4096];               /* where screenshots and logs are ("" if removed) */
    char last_screenshot[4200];   /* "" if none was taken */
    char serial_log[4200];        /* "" if removed */
    char screen_text[1024];       /* OCR of the last screen read, trimmed */
} bootcheck_result;

/* Boot opts->image once (twice when KVM fails and TCG is tried) and fill
 * *res. 0 when there is a verdict (booted or failed); negative with a
 * message when the check could not run (image unreadable, qemu or firmware
 * missing, qemu refusing its command line, cancelled). */
int bootcheck_run(const bootcheck_opts *opts, bootcheck_result *res, p2v_err *err);

#endif
