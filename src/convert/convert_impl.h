/* Inside the convert module: the job a request becomes, as data. Every
 * file of the module reads it; none of it is job.c's. Who does what:
 * job.c orchestrates (convert/steps.h: the steps it calls in order), each
 * step fills its own part of the state, layers.c decides what each
 * partition is read from and edited in (convert/layers.h), the Windows
 * fixes are rows (convert/winfix.h). */
#ifndef P2V_CONVERT_IMPL_H
#define P2V_CONVERT_IMPL_H

#include "convert/convert.h"
#include "fs/fsmap.h"
#include "fs/resize.h"

/* What the Windows step (convert/windows.c) made: the identity map, what
 * each fix (a row of convert_winfixes[], convert/winfix.h) changed, and
 * the new ESP's files of a firmware switch. */
#define CONVERT_WINFIX_MAX 16
typedef struct convert_winstate {
    win_move *moves;
    size_t nmoves;
    win_report rep;
    unsigned changed[CONVERT_WINFIX_MAX]; /* per row of convert_winfixes[] */
    plan_extra auto_esp;        /* the ESP made for a BIOS Windows going UEFI */
    struct fatbuild *esp_tree;  /* what the firmware switch puts in the new ESP */
    size_t esp_part;            /* the plan part of that ESP */
} convert_winstate;

/* The layer stack's own layer (convert/layers.c): per plan part the
 * overlay the Windows fixes and the drivers edit in when the resize step
 * made none (NULL until first used). */
typedef struct convert_layers {
    blockdev **edit;
    size_t n;
} convert_layers;

/* A copied partition whose size differs from its source (convert/resize.c):
 * what its filesystem allows and what is done to it. */
typedef struct convert_resize_part {
    bool resized;               /* the target partition is not the source's size */
    fsresize_info fi;
    uint64_t old_bytes;         /* the source partition */
    uint64_t new_bytes;         /* the target partition */
    fsresize_done fs;           /* the layers the resize built, what it did (fs/resize.h) */
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
    convert_winstate win;
    struct drv_tree *drv_tree;  /* --drivers, opened */
    struct drv_job **drv;       /* per plan part: the driver step of a Windows, else NULL */
    convert_resize rs;
    char badmap[1024];          /* --bad-sectors zero: where the map goes ("" : none) */
    convert_layers layers;
    fs_sysfiles *sysfiles;      /* per plan part: Windows' page/swap/hibernation files */
    struct vm_machine *machine; /* --vm-def: this machine, read once (NULL: no --vm-def) */
    char vm_mac[18];            /* the MAC the VM definition gives the NIC ("" : none) */
    bool vm_mac_only;           /* ... and it is this machine's only wired NIC */
    bool bitlocker;             /* a selected partition is BitLocker-encrypted */
};

/* Hives are read whole, up to this size. */
#define CONVERT_HIVE_MAX ((size_t)1 << 30)

/* ---- services every file of the module shares (convert/services.c) ---- */

void convert_say(const convert_events *ev, enum convert_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
