/* From a selection of source partitions to a target layout: order, alignment,
 * sizes, table type (MBR primaries / logicals, GPT), types, identities and
 * firmware. Pure: reads only the parsed tables it is given, writes nothing. */
#ifndef P2V_PLAN_H
#define P2V_PLAN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "ptable/ptable.h"
#include "util/err.h"
#include "util/guid.h"

enum plan_firmware { PLAN_FW_NONE = 0, PLAN_FW_BIOS, PLAN_FW_UEFI };

/* What a target partition holds. COPY: a source partition's sectors. MSR: the
 * empty Microsoft Reserved partition p2v adds. SYNTHETIC: content p2v creates
 * (e.g. a fresh ESP); its role says which generator fills it. */
enum plan_kind { PLAN_PART_COPY = 0, PLAN_PART_MSR, PLAN_PART_SYNTHETIC };

enum plan_role { PLAN_ROLE_NONE = 0, PLAN_ROLE_ESP };

#define PLAN_MSR_BYTES (16ULL << 20)
#define PLAN_GPT_ENTRIES 128
/* Bounds that keep every sector and byte count of a layout far from 2^64. */
#define PLAN_MAX_ALIGN (1ULL << 30)
#define PLAN_MAX_DISK_BYTES (1ULL << 56)
#define PLAN_GPT_ENTRY_SIZE 128
#define PLAN_MBR_MAX_SECTORS 0xFFFFFFFFULL

/* One source disk: its blockdev, its parsed table, and the name the user gave. */
typedef struct plan_source {
    blockdev *bd;
    const ptable *pt;
    const char *name;
} plan_source;

/* One user selection: partition `number` of source `disk`; fstype and label
 * come from the caller's probe ("" when unknown). */
typedef struct plan_sel {
    size_t disk;
    unsigned number;
    char fstype[32];
    char label[256];
    bool bios_boot_code;    /* its boot sector looks bootable for BIOS (caller's probe) */
} plan_sel;

/* A partition p2v creates, placed before selection `before` (nsel = at the end). */
typedef struct plan_extra {
    size_t before;
    enum plan_kind kind; /* PLAN_PART_SYNTHETIC or PLAN_PART_MSR */
    enum plan_role role;
    uint64_t bytes;
    const char *gpt_type;   /* GUID string */
    uint8_t mbr_type;
    const char *name;       /* GPT name */
} plan_extra;

typedef struct plan_opts {
    enum ptable_type table;     /* PTABLE_NONE: default (see SPEC) */
    enum plan_firmware boot;    /* PLAN_FW_NONE: the sources' firmware */
    uint64_t size;              /* virtual disk size in bytes; 0: the smallest */
    uint64_t align;             /* bytes; 0: 1 MiB */
    bool no_msr;
    size_t active;              /* MBR target: selection (1-based) made active; 0: automatic */
    const plan_extra *extra;    /* partitions to create (e.g. --add-esp) */
    size_t nextra;
} plan_opts;

typedef struct plan_part {
    enum plan_kind kind;
    enum plan_role role;
    /* COPY: where the data comes from */
    size_t sel;                 /* index into the selection */
    size_t disk;                /* index into the sources */
    const ptable_part *src;
    uint64_t src_offset;        /* bytes on the source disk */
    uint64_t src_bytes;
    /* target entry */
    unsigned number;            /* Linux numbering on the target */
    uint64_t start;             /* sectors */
    uint64_t sectors;
    bool logical;
    uint64_t ebr_lba;           /* logical: its EBR */
    uint8_t mbr_type;
    bool bootable;
    p2v_guid type_guid;
    p2v_guid uuid;
    uint64_t attrs;
    char name[PTABLE_GPT_NAME_MAX * 4 + 1];
    char fstype[32];
    char label[256];
} plan_part;

typedef struct plan {
    enum ptable_type table;
    enum plan_firmware firmware;
    bool firmware_from_source;  /* not given with --boot */
    uint32_t sector_size;
    uint64_t align;             /* bytes */
    uint64_t disk_sectors;      /* virtual size / sector_size */
    uint32_t gpt_entries;       /* GPT: entries in the array (128, more if more partitions) */
    uint64_t gpt_array_sectors; /* GPT: sectors one copy of the entry array takes */
    uint64_t first_usable;      /* first sector a partition may use */
    uint64_t last_usable;       /* last sector a partition may use (inclusive) */
    uint32_t mbr_signature;     /* MBR target (also in the protective MBR of GPT: 0) */
    p2v_guid disk_guid;         /* GPT target */
    bool has_boot_code;
    uint8_t boot_code[440];
    char boot_code_from[64];    /* "disk1", "p2v" or "" */
    plan_part *parts;           /* in target disk order */
    size_t nparts;
    /* MBR: the extended partition holding the logicals */
    bool has_extended;
    unsigned ext_number;
    uint64_t ext_start;
    uint64_t ext_sectors;
    p2v_warnings notes;         /* what the planner decided on its own, for the user */
} plan;

/* An option value out of its range (--align, --size): the caller reports a
 * usage error. The same code as CONVERT_EUSAGE. */
#define PLAN_EOPTION (-EDOM)

/* Build the layout. Errors (-EINVAL, -ERANGE, -ENOENT) name the selection,
 * disk and sizes involved; PLAN_EOPTION an option value out of range. */
int plan_build(const plan_source *src, size_t nsrc, const plan_sel *sel, size_t nsel,
               const plan_opts *opts, plan **out, p2v_err *err);
void plan_free(plan *p);

/* The new table as a ptable ready for ptable_serialize(); free with
 * plan_ptable_free(). Parts: MBR primaries and the container in slot order,
 * then logicals; GPT entries in disk order. */
int plan_to_ptable(const plan *p, ptable **out, p2v_err *err);
void plan_ptable_free(ptable *t);

/* Bytes of the target disk. */
static inline uint64_t plan_disk_bytes(const plan *p) { return p->disk_sectors * p->sector_size; }

const char *plan_firmware_str(enum plan_firmware fw); /* "bios", "uefi", "none" */

/* The "Windows" partitions that make a GPT target get an MSR. */
bool plan_is_windows_part(const ptable *pt, const ptable_part *pp, const char *fstype);

#endif
