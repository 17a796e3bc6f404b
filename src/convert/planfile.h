/* Plan files: a conversion request saved as JSON and replayed later, on
 * another boot where the disks may have other device names. Each source disk
 * is recorded by path AND identity (table type, MBR signature or GPT disk
 * GUID, size, sector size) and each selected partition by its place (start,
 * size, type), so a replay finds the same disks or refuses. Schema:
 * docs/plan-files.md. */
#ifndef P2V_CONVERT_PLANFILE_H
#define P2V_CONVERT_PLANFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "convert/convert.h"
#include "plan/roles.h"
#include "util/json.h"

#define CONVERT_PLANFILE_VERSION 1  /* what --save-plan writes: disks by identity */
#define CONVERT_PLANFILE_ROLES 2    /* plans by role: "select" (docs/plan-files.md) */

/* What the file records of one source disk. */
typedef struct convert_planfile_disk {
    char *path;
    uint64_t size;              /* bytes */
    uint32_t sector_size;
    enum ptable_type table;
    char id[64];                /* "0x1234abcd" or a GUID; "" for no table */
} convert_planfile_disk;

/* What the file records of one selection. */
typedef struct convert_planfile_sel {
    size_t disk;                /* index into disks */
    unsigned number;
    uint64_t start, size;       /* sectors, as on the source */
    char type[64];              /* "0x07" or a type GUID */
    uint64_t new_size;          /* "new_size": bytes (DISK:N=SIZE), 0: the source's */
    bool new_size_min;          /* "new_size": "min" */
} convert_planfile_sel;

/* One entry of a role plan's "select" (schema 2). sel's strings point at
 * the copies below. */
typedef struct convert_planfile_role {
    struct role_sel sel;
    char *label, *fs, *version, *size_text;
    uint64_t new_size;          /* "size": bytes; 0: the source's */
    bool new_size_min;          /* "size": "min" */
    bool grow;                  /* "size": "grow": the last partition, grown to options.size */
} convert_planfile_role;

/* What a role plan resolved to on the disks at hand, in target order. */
typedef struct convert_planfile_pick {
    size_t entry;               /* index into roles */
    char *disk;                 /* the disk's path */
    unsigned number;
    char fs[32], label[256];
    uint64_t size;              /* bytes */
} convert_planfile_pick;

typedef struct convert_planfile {
    unsigned version;           /* 1 or 2 */
    /* schema 2: the role entries, and (after resolve) what they picked */
    convert_planfile_role *roles;
    size_t nroles;
    bool keep_order;            /* "keep_order": windows entries are not moved last */
    convert_planfile_pick *picks;
    size_t npicks;
    char *vmdef_spec;           /* options.vm_def as --vm-def's spec (rq.vmdef.spec) */
    convert_planfile_disk *disks;
    size_t ndisks;
    convert_planfile_sel *sels;
    size_t nsels;
    bool has_active;
    size_t active;              /* index into sels */
    char *output;               /* NULL when the plan names none */
    char *drivers;              /* options.drivers: the virtio-win tree or ISO, or NULL */
    char *bad_sectors_map;      /* options.bad_sectors_map, or NULL */
    /* options (the request's layout and copy settings) */
    convert_request rq;         /* sels/active/output/preopened filled by _request() */
    plan_extra add_esp;
    bool has_add_esp;
    /* filled by convert_planfile_resolve: where each disk is now */
    char **resolved;
    /* storage for the request */
    convert_sel *rq_sels;
    convert_sel rq_active;
} convert_planfile;

/* Write the request of a planned job (its disks' identities read from the
 * opened sources, its --vm-def as options.vm_def) as JSON to f. */
int convert_planfile_write(const convert_job *job, FILE *f, p2v_err *err);
/* The same into the file PATH, created under a temporary name and renamed. */
int convert_planfile_save(const convert_job *job, const char *path, p2v_err *err);
/* A role plan (schema 2) of the job's selection: each selected partition as
 * the role p2v sees in it, with its label as filter where the role alone
 * could pick more than one, and its own size; windows entries last as the
 * job has them (keep_order when they are not). For the picking screen. */
int convert_planfile_save_roles(const convert_job *job, const char *path, p2v_err *err);

/* Parse a plan file's bytes (untrusted). Errors name the field. */
int convert_planfile_parse(const char *buf, size_t len, convert_planfile **out, p2v_err *err);
/* Read and parse PATH. */
int convert_planfile_load(const char *path, convert_planfile **out, p2v_err *err);

/* Find every disk of the plan: at its recorded path if the disk there has
 * the recorded identity, else at the one disk of the machine (or of
 * `candidates`, when given) that has it; a move is reported as a notice.
 * Then check that each selected partition is where the plan says. Errors
 * name the plan's disk, what was expected and what was found. */
int convert_planfile_resolve(convert_planfile *pf, const char *const *candidates,
                             size_t ncandidates, const convert_events *ev, p2v_err *err);

/* Resolve a role plan (version 2) on the disks at hand: `candidates` (the
 * DISKs given) or, when NULL, every disk of the machine but those that
 * cannot be opened or hold a mounted filesystem (a notice). Each "select"
 * entry is matched by roles_resolve against what detection finds; the
 * result fills disks, sels and picks, so the request is then built as for
 * a version 1 plan. Errors: -ENOENT (a non-optional entry matches
 * nothing), -EEXIST (two partitions where one is meant), naming what was
 * found. convert_planfile_resolve calls it for version 2 plans. */
int convert_planfile_resolve_roles(convert_planfile *pf, const char *const *candidates,
                                   size_t ncandidates, const convert_events *ev, p2v_err *err);

/* How the plan resolved, one line per selected partition (and per optional
 * entry that matched nothing), as `p2v plan show` and `convert --plan
 * --dry-run` print it; version 1 plans: the disks found and their
 * selections. */
void convert_planfile_resolution_text(const convert_planfile *pf, FILE *f);
/* The same as one JSON object ({"plan": 2, "entries": [...], "selection": [...]}). */
void convert_planfile_resolution_json(const convert_planfile *pf, json_writer *j);

/* The request to run (after resolve): selections point at the resolved paths. */
const convert_request *convert_planfile_request(convert_planfile *pf);

void convert_planfile_free(convert_planfile *pf);

#endif
