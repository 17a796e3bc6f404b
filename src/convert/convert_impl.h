/* Inside the convert module: the job a request becomes. */
#ifndef P2V_CONVERT_IMPL_H
#define P2V_CONVERT_IMPL_H

#include "convert/convert.h"
#include "fs/fsmap.h"
#include "fs/resize.h"

/* The Windows step (convert/windows.c): per plan part the overlay holding
 * its edits (NULL: read from the source as it is), the identity map, and
 * what was changed. */
typedef struct convert_winfix {
    blockdev **overlays;
    size_t noverlays;
    win_move *moves;
    size_t nmoves;
    win_report rep;
    unsigned bcd_changed;       /* BCD device elements rewritten */
    unsigned md_changed;        /* MountedDevices values rewritten */
    unsigned reagent_changed;   /* ReAgent.xml locations rewritten */
    plan_extra auto_esp;        /* the ESP made for a BIOS Windows going UEFI */
    struct fatbuild *esp_tree;  /* what the firmware switch puts in the new ESP */
    size_t esp_part;            /* the plan part of that ESP */
} convert_winfix;

/* A copied partition whose size differs from its source (convert/resize.c):
 * what its filesystem allows and what is done to it. */
typedef struct convert_resize_part {
    bool resized;               /* the target partition is not the source's size */
    fsresize_info fi;
    uint64_t old_bytes;         /* the source partition */
    uint64_t new_bytes;         /* the target partition */
    uint64_t fs_new;            /* the filesystem's size in the image (0: unknown) */
    uint64_t relocated;         /* bytes of data moved to a new place */
    blockdev *window;           /* the source partition, zero-extended when it grows */
    blockdev *edit;             /* overlay the resize edits the volume on */
    blockdev *view;             /* edit with moved clusters shown at their new places */
    blockdev *overlay;          /* over view: the resized filesystem (NULL: copied as it is) */
    char action[200];           /* what happens to the filesystem, for reports */
} convert_resize_part;

typedef struct convert_resize {
    convert_resize_part *parts; /* one per plan part */
    size_t n;
} convert_resize;

struct convert_job {
    convert_request rq;         /* the caller's request; rq.plan.active resolved */
    convert_disk **src;         /* distinct source disks, in order of first selection */
    bool *owned;                /* src[i] was opened here (not preopened) */
    size_t nsrc;
    plan_source *psrc;
    plan_sel *psel;
    plan *plan;
    char *write_path;           /* a symlink OUTPUT: the file it names, else NULL */
    uint64_t nbd_size;          /* OUTPUT is an NBD export of this size (0: not NBD) */
    convert_winfix win;
    struct drv_tree *drv_tree;  /* --drivers, opened */
    struct drv_job **drv;       /* per plan part: the driver step of a Windows, else NULL */
    convert_resize rs;
    fs_sysfiles *sysfiles;      /* per plan part: Windows' page/swap/hibernation files */
};

/* Before planning: the byte sizes of DISK:N=SIZE and DISK:N=min selections
 * (into psel[].bytes), refusing a size the filesystem cannot take. */
int convert_resize_sizes(convert_job *job, const convert_events *ev, p2v_err *err);
/* After planning: every copied partition of another size than its source
 * gets its filesystem fitted on an overlay (NTFS) or a notice (others). */
int convert_resize_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
/* The overlay plan part `part` is copied from after a resize, or NULL. */
blockdev *convert_resize_overlay(const convert_job *job, size_t part);
const convert_resize_part *convert_resize_part_of(const convert_job *job, size_t part);
void convert_resize_free(convert_resize *rs);

/* Make the Windows edits on overlays (unless rq.no_windows_fixups); refuse a
 * Windows without a reachable boot store. Warnings go to ev. */
int convert_windows_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
/* Hives are read whole, up to this size. */
#define CONVERT_HIVE_MAX ((size_t)1 << 30)
/* Plan part pp as Windows will name it in the image (MBR: signature +
 * offset; GPT: disk and partition GUIDs; the byte offset in both). */
win_part_id convert_win_target_id(const plan *p, const plan_part *pp);
/* The probed source partition of a copied plan part, or NULL. */
const convert_part *convert_win_source_part(const convert_job *job, const plan_part *pp);

/* The firmware switches (convert/bcdboot.c), run by convert_windows_prepare
 * after the rewrites: BIOS target, Windows without a BIOS boot store in the
 * selection: bootmgr, \Boot and a new BCD on the active partition; UEFI
 * target, Windows without an EFI boot store, an ESP p2v formats: that ESP's
 * files (job->win.esp_tree). 0 when there is nothing to switch. */
int convert_bcdboot_bios(convert_job *job, p2v_err *err);
int convert_bcdboot_uefi(convert_job *job, p2v_err *err);

/* Before planning, what a firmware switch of Windows needs (each with a
 * notice): --boot uefi with a Windows that has no ESP selected and no
 * --add-esp gets one (rq.plan.extra); --boot bios from a Windows without a
 * BIOS boot store and without --active makes a selected System Reserved
 * partition active, else Windows' partition (rq.plan.active). */
void convert_windows_plan_options(convert_job *job, const convert_events *ev);
/* The files the firmware switch put in the new ESP of plan part `part`
 * (for boot_format_esp_tree), or NULL. */
struct fatbuild *convert_windows_esp_tree(const convert_job *job, size_t part);
/* The overlay plan part `part` is copied from, or NULL. */
blockdev *convert_windows_overlay(const convert_job *job, size_t part);
/* The overlay plan part i is edited in (Windows fixups, drivers): its resize
 * overlay when it was resized (the resize step owns it), else the Windows
 * step's own (job->win.overlays[i]), made on first use. */
int convert_part_overlay(convert_job *job, size_t i, blockdev **ov, p2v_err *err);
void convert_winfix_free(convert_winfix *wf);

/* The driver step (convert/drivers.c), after convert_windows_prepare: for
 * every selected Windows, planned from its hives and carried out on the
 * overlay the copy reads (made here when the Windows step made none). */
int convert_drivers_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_drivers_free(convert_job *job);
void convert_drivers_json(const convert_job *job, json_writer *j);

/* Windows' page, swap and hibernation files of each copied NTFS partition
 * (convert/sysfiles.c), looked up after the driver step on the view the copy
 * reads; the dry run's list and each partition's "system_files" in JSON. */
int convert_sysfiles_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_sysfiles_text(const convert_job *job, FILE *f);
void convert_sysfiles_json(const convert_job *job, json_writer *j, size_t part);
void convert_sysfiles_free(convert_job *job);

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
