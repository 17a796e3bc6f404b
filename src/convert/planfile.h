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

#define CONVERT_PLANFILE_VERSION 1

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

typedef struct convert_planfile {
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
 * opened sources) as JSON to f. */
int convert_planfile_write(const convert_job *job, FILE *f, p2v_err *err);
/* The same into the file PATH, created under a temporary name and renamed. */
int convert_planfile_save(const convert_job *job, const char *path, p2v_err *err);

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

/* The request to run (after resolve): selections point at the resolved paths. */
const convert_request *convert_planfile_request(convert_planfile *pf);

void convert_planfile_free(convert_planfile *pf);

#endif
