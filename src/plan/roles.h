/* Plans by role (plan schema 2): a fleet plan names partitions by what they
 * are on each PC ("the Windows volume", "the boot partition") instead of by
 * disk identity, so one plan fits every PC of a fleet. This resolves a list
 * of role entries against the facts p2v detected on the disks at hand; it
 * knows nothing of files or hives (the caller fills struct role_part). */
#ifndef P2V_PLAN_ROLES_H
#define P2V_PLAN_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum role_kind {
    ROLE_BOOT,     /* the boot store the firmware uses: the ESP, or the active partition
                      holding bootmgr or \Boot\BCD */
    ROLE_WINDOWS,  /* a volume holding \Windows and its hives */
    ROLE_RECOVERY, /* WinRE: MBR 0x27, the WinRE GPT type, or the volume ReAgent.xml names */
    ROLE_DATA,     /* any other NTFS/FAT/ext volume with files */
    ROLE_OEM,      /* vendor recovery or tool partitions */
    ROLE_SWAP,
    ROLE_LINUX,    /* a Linux root or other Linux filesystem */
    ROLE_NROLES
};

/* What p2v detected about one partition of the disks at hand. */
struct role_part {
    unsigned disk;        /* index of its disk among the disks given */
    unsigned number;      /* partition number */
    const char *what;     /* "DISK:N" for messages */
    const char *fs;       /* filesystem type as p2v disks shows it (ntfs, vfat, ...) or "" */
    const char *label;    /* "" when none */
    uint64_t size;        /* bytes */
    bool esp, active, boot_store, windows, winre, oem, swap, linux_fs, has_files;
    const char *win_version; /* e.g. "10.0.19045" when windows */
};

enum role_disk { ROLE_DISK_ANY = -1, ROLE_DISK_SYSTEM = -2, ROLE_DISK_OTHER = -3 };

/* One entry of a role plan's "select". */
struct role_sel {
    enum role_kind role;
    const char *label;    /* glob (fnmatch, case-insensitive) or NULL */
    const char *fs;       /* or NULL */
    uint64_t min_size, max_size; /* 0: no bound */
    int disk;             /* enum role_disk, or a disk index >= 0 */
    const char *version;  /* glob on win_version, windows only, or NULL */
    bool optional;
    const char *size;     /* "min", "grow", a SIZE, or NULL: kept as given, for the caller */
};

/* One resolved pick: parts[part] selected by sel[sel]. */
struct role_pick {
    size_t part, sel;
};

/* Resolve sel against parts, in the plan's order (Windows entries moved last
 * unless keep_order), each partition picked once. The roles that name one
 * partition (boot, windows, recovery) must match exactly one, or none when
 * optional; data, oem, swap and linux take every match. An entry whose one
 * match an earlier entry already picked (a boot store on the Windows volume)
 * adds nothing. picks holds nparts entries. -ENOENT / -EEXIST with the reason
 * naming what was found. */
int roles_resolve(const struct role_sel *sel, size_t nsel, const struct role_part *parts,
                  size_t nparts, bool keep_order, struct role_pick *picks, size_t *npicks,
                  p2v_err *err);

/* Which roles a partition has (bit per enum role_kind), for `plan show`. */
unsigned roles_of(const struct role_part *p);

const char *role_name(enum role_kind r);
int role_parse(const char *name, enum role_kind *r); /* -EINVAL for an unknown name */

#endif
