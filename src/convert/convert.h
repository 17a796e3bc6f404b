/* The conversion as a library: from a request (selections and options) to a
 * planned job, and from a job to a written image. The CLI, the picking screen
 * and tests call the same functions; none of them prints. Messages reach the
 * caller through convert_events, errors through p2v_err.
 *
 *   convert_disk_open        one source disk: blockdev, table, filesystem probes
 *   convert_plan_from_request  sources opened, OUTPUT guarded, layout planned
 *   convert_run              tables, ESP, copy, verify, commit (all or nothing)
 *   convert_layout_text/json the planned layout and the result, for reports */
#ifndef P2V_CONVERT_H
#define P2V_CONVERT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "blockdev/blockdev.h"
#include "copy/copy.h"
#include "copy/salvage.h"
#include "fs/probe.h"
#include "plan/plan.h"
#include "ptable/ptable.h"
#include "sink/sink.h"
#include "util/err.h"
#include "util/json.h"
#include "windows/windows.h"

/* ---- source disks ---- */

/* One partition of a source disk as the front ends show it. */
typedef struct convert_part {
    const ptable_part *p;
    bool probed;                /* the filesystem probe ran (not for containers, past-end) */
    struct fs_identity fs;      /* valid when probed */
    char probe_error[512];      /* why the probe failed ("" when it did not) */
    bool used_known;            /* convert_disk_opts.used and the filesystem is understood */
    uint64_t used;              /* bytes */
    bool bios_boot_code;        /* its NTFS/FAT boot sector carries BIOS boot code */
    bool win_probed;            /* NTFS looked at for Windows (win valid) */
    win_volume win;             /* Windows installed, boot stores held */
} convert_part;

typedef struct convert_disk {
    char *path;                 /* as given */
    blockdev *bd;
    ptable *pt;                 /* its notices and warnings are for the caller to show */
    struct stat st;             /* stat() of path (zeroed for convert_disk_from_bd) */
    bool has_st;
    convert_part *parts;        /* pt->nparts entries, in pt->parts order */
    struct fs_identity whole;   /* table "none": a filesystem on the whole disk, if any */
} convert_disk;

typedef struct convert_disk_opts {
    uint32_t sector_size;       /* image files: read with this sector size; 0: detected */
    bool used;                  /* compute used bytes (builds each filesystem's map) */
    bool whole;                 /* no table: probe the whole disk for a filesystem */
    unsigned io_timeout;        /* network sources (NBD): seconds of silence before a
                                   wait fails; 0: the default (60) */
} convert_disk_opts;

/* Open PATH read-only, read its partition table and probe every partition's
 * filesystem: the one sequence `p2v disks`, `p2v convert` and the picking
 * screen share. Errors: the disk cannot be opened, or has no usable table. */
int convert_disk_open(const char *path, const convert_disk_opts *o, convert_disk **out,
                      p2v_err *err);
/* The same over an already open blockdev (memory disks in tests); takes
 * ownership of bd, also on failure. */
int convert_disk_from_bd(blockdev *bd, const convert_disk_opts *o, convert_disk **out,
                         p2v_err *err);
void convert_disk_free(convert_disk *d);

/* The partition numbered `number` (Linux numbering), or NULL. */
const convert_part *convert_disk_part(const convert_disk *d, unsigned number);

/* ---- requests and jobs ---- */

enum convert_level { CONVERT_NOTICE = 0, CONVERT_WARNING };
enum convert_phase { CONVERT_PHASE_COPY = 0, CONVERT_PHASE_VERIFY };

typedef struct convert_progress {
    enum convert_phase phase;
    uint64_t done;              /* bytes of this phase, never decreasing */
    uint64_t total;
    size_t part;                /* index into plan->parts of the partition in progress */
} convert_progress;

typedef struct convert_events {
    void (*message)(void *ctx, enum convert_level level, const char *msg);
    void (*progress)(void *ctx, const convert_progress *p);
    void *ctx;
} convert_events;

/* A partition selection: partition `number` of the disk named `disk`. */
typedef struct convert_sel {
    const char *disk;
    unsigned number;
    uint64_t size;              /* DISK:N=SIZE: the partition's own size in bytes; 0: as the source */
    bool size_min;              /* DISK:N=min: used space plus min_free (or the default margin) */
} convert_sel;

/* DISK:N=min without --min-free: used space plus the larger of 10 % of it and 1 GiB. */
#define CONVERT_MIN_FREE_FLOOR (1ULL << 30)

/* The SIZE of a selection's own size, DISK:N=SIZE or DISK:N=min (what follows
 * the '='), as `p2v convert` and the picking screen take it: "min", or bytes
 * with K/M/G/T suffixes, not zero. 0, or -EINVAL. */
int convert_parse_new_size(const char *text, uint64_t *size, bool *min);

/* What shapes the VM definition (--vm-def and its companions). */
enum convert_tpm { CONVERT_TPM_AUTO = 0, CONVERT_TPM_YES, CONVERT_TPM_NO };
typedef struct convert_vmdef_opts {
    const char *spec;           /* FORMAT[:FILE]; FILE defaults to OUTPUT's name + ext;
                                   NULL: no VM definition */
    bool keep_mac, keep_smbios, secure_boot;
    uint64_t memory;            /* --memory: a cap (0: none) */
    unsigned cpus;              /* --cpus: a cap (0: none) */
    enum convert_tpm tpm;       /* --tpm: auto gives one when BitLocker was in use */
    const char *machine_root;   /* sysfs root of this machine (NULL: "/") */
} convert_vmdef_opts;

typedef struct convert_request {
    const char *output;             /* NULL: plan only */
    sink_opts sink;
    plan_opts plan;                 /* plan.active is filled from `active` */
    const convert_sel *sels;
    size_t nsels;
    const convert_sel *active;      /* MBR target: this selection is made active; NULL: auto */
    uint32_t sector_size;           /* image-file sources; 0: detected */
    bool copy_all;                  /* every sector, not only the used blocks */
    bool allow_dirty;
    /* Copy pagefile.sys, swapfile.sys and hiberfil.sys of NTFS volumes'
     * roots too; without it their clusters read as zeros (docs/fsmap.md). */
    bool copy_system_files;
    /* A selected partition mounted read-write is refused (naming the mount
     * point) unless allow_mounted, then copied with a warning; mounted
     * read-only it is copied with a notice. */
    bool allow_mounted;
    /* Unreadable source sectors: SALVAGE_FAIL stops naming them;
     * SALVAGE_ZERO writes zeros, OUTPUT.badmap (ddrescue map) and names the
     * files that lost data through ev->message. */
    enum salvage_policy bad_sectors;
    /* SALVAGE_ZERO: the map's path; NULL: OUTPUT.badmap (required when
     * OUTPUT is a stream or an NBD export). */
    const char *bad_sectors_map;
    bool verify;
    bool force;                     /* replace an existing OUTPUT */
    unsigned queue_depth;           /* source reads in flight; 0: COPY_DEFAULT_QUEUE_DEPTH */
    unsigned io_timeout;            /* NBD sources and targets: seconds a server may stay
                                       silent while p2v waits for it; 0: the default (60),
                                       at most CONVERT_IO_TIMEOUT_MAX */
    bool no_windows_fixups;         /* leave every Windows as it is: BCD stores,
                                       MountedDevices, drivers */
    /* Windows drivers (docs/drivers.md): a virtio-win tree or ISO (NULL:
     * none) and the controller the image must boot on (enum drv_bus; 0:
     * not said). */
    const char *drivers;
    int target_bus;
    bool network_dhcp;              /* --network dhcp: the old PC's static network
                                       settings listed, not re-applied at first boot */
    bool keep_services;             /* leave the old PC's services and known-bad
                                       filters (docs/windows.md, leftovers) */
    convert_vmdef_opts vmdef;       /* --vm-def (vmdef.spec NULL: none) */
    uint64_t min_free;              /* free space DISK:N=min leaves; 0 and !min_free_set:
                                       the default margin */
    bool min_free_set;              /* min_free given, 0 included (--min-free 0) */
    /* Disks already open (tests: memory disks), matched by path == sel.disk;
     * they stay the caller's. */
    convert_disk *const *preopened;
    size_t npreopened;
} convert_request;

/* The request itself is wrong (an --active that is not selected, an ESP too
 * small): front ends report it as a usage error. */
#define CONVERT_EUSAGE (-EDOM)

/* The largest --io-timeout: a day. */
#define CONVERT_IO_TIMEOUT_MAX 86400u

typedef struct convert_job convert_job;

typedef struct convert_result {
    bool done;
    uint64_t planned;               /* bytes the used maps cover */
    uint64_t read;                  /* bytes read from the sources */
    uint64_t written;               /* bytes handed to the image (zeros excluded) */
    uint64_t file_bytes;            /* bytes the image file takes on disk */
    uint64_t verified;              /* bytes compared by verify */
    uint64_t system_files_bytes;    /* page/swap/hibernation file bytes not copied */
    bool verify_ok;
    double seconds;
    copy_stats copy;                /* the copy engine's figures and timers */
    uint64_t bad_bytes;             /* unreadable source bytes written as zeros */
    uint64_t bad_sectors;           /* the same in sectors of their disks */
    char badmap[1024];              /* the ddrescue map written ("" when none) */
    char target[1024];              /* where the image went, when not a file: the
                                       target's own words (an RBD image: its cluster,
                                       pool, features); "" for a file */
} convert_result;

/* Open the selected disks, check OUTPUT against them (when given), and plan
 * the layout. Table warnings, the planner's notes and layout advice arrive
 * through ev->message. Errors name the selection, disk or option;
 * CONVERT_EUSAGE for a request that contradicts itself. */
int convert_plan_from_request(const convert_request *rq, const convert_events *ev,
                              convert_job **out, p2v_err *err);

const plan *convert_job_plan(const convert_job *job);
const convert_request *convert_job_request(const convert_job *job);
/* The source disk of plan part pp (PLAN_PART_COPY), else NULL. */
const convert_disk *convert_job_disk(const convert_job *job, const plan_part *pp);
/* "DISK:N" for a copied partition, "(new ESP)" / "(new MSR)" otherwise. */
void convert_part_source_name(const convert_job *job, const plan_part *pp, char *out, size_t len);

/* Write the image: new tables, formatted ESPs, the used blocks of every
 * selected partition with their fixups, then verify (if asked) and give the
 * file its name. All or nothing: on any error or when *cancel becomes
 * non-zero (-EINTR) no file is left under OUTPUT. */
int convert_run(convert_job *job, const convert_events *ev, volatile sig_atomic_t *cancel,
                convert_result *res, p2v_err *err);

void convert_job_free(convert_job *job);

/* What the Windows step changed (BCD objects, drive letters) and could not
 * change (warnings), one line each; empty without Windows or with
 * no_windows_fixups. */
const win_report *convert_job_windows(const convert_job *job);

/* --vm-def (docs/vm-definition.md): after convert_run succeeded, the VM
 * definition of the image in rq.vmdef's FORMAT (vmdef/), from the plan's
 * firmware, the bus and NIC the Windows drivers were prepared for, whether
 * a selected volume is BitLocker-encrypted (a TPM), and this machine's
 * identity (read once while planning: the network step follows the MAC
 * it gives the VM). */
typedef struct convert_vmdef_done {
    const char *format;         /* "libvirt" ... */
    char file[4096];            /* the definition written */
    char msdm[4096];            /* the MSDM table's copy ("" : none) */
    bool secure_boot_ignored;   /* --secure-boot for a BIOS image */
    /* what the definition holds (the fields used) */
    char name[128];             /* the VM's name */
    char disk[4096];            /* the disk as the definition names it */
    uint64_t memory;            /* bytes */
    unsigned cpus;
    bool uefi, secure_boot, tpm;
    const char *bus;            /* "virtio-blk", "virtio-scsi", "sata", "ide" */
    const char *nic;            /* "virtio", "e1000e" */
    const char *mac;            /* the NIC's MAC (NULL: the platform's choice) */
    bool smbios;                /* this machine's SMBIOS strings carried over */
    char os_version[64];        /* a converted Windows' "10.0", else "" */
} convert_vmdef_done;
int convert_write_vmdef(const convert_job *job, convert_vmdef_done *done, p2v_err *err);
/* Whether spec is a --vm-def FORMAT[:FILE] (the picking screen's field);
 * -EINVAL naming the formats. */
int convert_vmdef_check(const char *spec, p2v_err *err);

/* ---- for front ends that list and check ---- */

/* The machine's disks (block devices), to free with convert_machine_disks_free. */
int convert_machine_disks(char ***paths, size_t *count, p2v_err *err);
void convert_machine_disks_free(char **paths, size_t count);
/* The size of an opened disk in bytes. */
uint64_t convert_disk_bytes(const convert_disk *d);

/* What was checked of a written OUTPUT (`qemu-img check` for a qcow2). */
/* NOT_FILE: written into a target that is no image file (an NBD export...) */
enum convert_checked { CONVERT_CHECKED_NOT_FILE = 0, CONVERT_CHECKED_RAW, CONVERT_CHECKED_QCOW2 };
typedef struct convert_output_check {
    enum convert_checked kind;          /* not a file, raw: no metadata, the counts are 0 */
    char what[64];                      /* the target, for a NOT_FILE ("NBD export") */
    uint64_t corruptions, leaks, check_errors;
    uint64_t allocated_clusters, total_clusters;
} convert_output_check;

/* Check the image convert_run wrote under OUTPUT (a qcow2's refcounts and
 * tables). Errors: it could not be opened or read, with nothing counted. */
int convert_check_output(const char *output, enum sink_format format, convert_output_check *c,
                         p2v_err *err);

/* ---- reports ---- */

/* The driver step of each Windows partition (what the dry run lists), as
 * text; nothing when no Windows is selected. convert_layout_json carries
 * the same under "windows_drivers". */
void convert_drivers_text(const convert_job *job, FILE *f);

/* The planned layout as the dry run prints it. */
void convert_layout_text(const convert_job *job, FILE *f);
/* The layout (and the result when res->done) as one JSON object. */
void convert_layout_json(const convert_job *job, json_writer *j, const convert_result *res);
/* The same object left open, for a caller that adds keys (convert
 * --boot-check adds "boot_check"), then closes it with json_obj_end and
 * json_end. */
void convert_layout_json_open(const convert_job *job, json_writer *j, const convert_result *res);

#endif
