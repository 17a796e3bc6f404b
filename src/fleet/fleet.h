/* Fleet reports: the JSON events a conversion sends to a receiver over HTTP
 * (`p2v convert --report-url`, p2v Live's p2v.report), in the one format of
 * docs/fleet.md, and the sender that delivers them.
 *
 * fleet_event_json() writes one event as JSON (pure: unit-tested, and the
 * receiver's format); fleet_reporter sends start, progress and finish or
 * failed. Progress events go through a thread of their own, so that a slow
 * or absent receiver never holds up the copy: only the newest progress
 * waits there, and one that cannot be delivered is dropped with a warning.
 * start, finish and failed are retried (fleet_retry_delay) and, when they
 * cannot be delivered, fail the call with the reason. */
#ifndef P2V_FLEET_FLEET_H
#define P2V_FLEET_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/json.h"
#include "vmdef/vmdef.h"

#define FLEET_REPORT_VERSION 1
#define FLEET_TOKEN_MAX 4096            /* bytes of a token file */
#define FLEET_IO_TIMEOUT_DEFAULT 60     /* seconds, each HTTP attempt */
#define FLEET_PROGRESS_EVERY 3.0        /* seconds between progress events */
#define FLEET_ATTEMPTS 5                /* tries of start, finish and failed */

enum fleet_kind { FLEET_START, FLEET_PROGRESS, FLEET_FINISH, FLEET_FAILED };

/* Who is being converted: the SMBIOS identity and first wired MAC. */
typedef struct fleet_pc {
    char serial[VM_STR], uuid[VM_STR], vendor[VM_STR], model[VM_STR], mac[18];
    char computername[VM_STR];          /* Windows' ComputerName; "" unknown */
    uint64_t memory;                    /* bytes of RAM; 0 unknown */
    unsigned cpus;                      /* online CPUs; 0 unknown */
    bool msdm;                          /* the firmware has an ACPI MSDM table */
} fleet_pc;

typedef struct fleet_progress {
    const char *stage;                  /* "copy", "verify" */
    long partition;                     /* 1-based target partition; 0 none */
    uint64_t bytes_done, bytes_total;
    double rate;                        /* bytes per second; 0 unknown */
    double eta;                         /* seconds; < 0 unknown */
} fleet_progress;

/* One event. The strings are borrowed; NULL leaves a field out. */
typedef struct fleet_event {
    enum fleet_kind kind;
    const char *run;                    /* the run's id, the same in every event */
    const char *time;                   /* ISO 8601 UTC, e.g. 2026-12-07T15:00:00Z */
    const fleet_pc *pc;
    const char *output;                 /* the image's name (after templating) */
    const char *output_template;        /* OUTPUT as given with {fields}, or NULL */
    const char *const *selection;       /* "DISK:N" in target order */
    const char *const *roles;           /* a role plan's role of each selection, or NULL */
    size_t nselection;
    const char *started;                /* when the run began (ISO 8601 UTC), or NULL */
    double elapsed;                     /* seconds since then (with started) */
    const fleet_progress *progress;     /* FLEET_PROGRESS */
    /* FLEET_FINISH: writes the value of "result" (convert --json's object) */
    void (*result)(json_writer *j, void *ctx);
    void *result_ctx;
    const char *error;                  /* FLEET_FAILED: why */
} fleet_event;

/* "start", "progress", "finish", "failed". */
const char *fleet_kind_name(enum fleet_kind k);

/* "rate": bytes per second as a whole number, 0 when unknown (a report's
 * progress and the server's /api/pcs alike). */
void fleet_rate_json(json_writer *j, double rate);

/* The event as one JSON object (pretty-printed, ending in a newline). */
void fleet_event_json(const fleet_event *e, FILE *out);

/* The PC from a sysfs root ("/" for this machine; see vm_machine_read). */
void fleet_pc_from_machine(const struct vm_machine *m, fleet_pc *pc);

/* The bearer token in path: its first line without surrounding blanks; no
 * control characters, not empty, at most FLEET_TOKEN_MAX bytes. */
int fleet_token_read(const char *path, char *tok, size_t len, p2v_err *err);

/* Wait before attempt n (1-based, n >= 2) of an important event: 1, 2, 4, 8 s. */
unsigned fleet_retry_delay(unsigned attempt);

/* Now as ISO 8601 UTC into buf (at least 21 bytes). */
void fleet_time_now(char *buf, size_t len);

typedef struct fleet_opts {
    const char *url;                    /* http:// or https:// */
    const char *token_file;             /* NULL: no Authorization header */
    const char *ca_file;                /* https: trust this PEM file instead of the
                                           system's CA store; NULL: the store */
    unsigned io_timeout;                /* seconds per attempt; 0: the default */
    const char *machine_root;           /* NULL: "/" */
    /* warnings (a dropped progress event); may be called from the progress thread */
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
} fleet_opts;

typedef struct fleet_reporter fleet_reporter;

/* Read the token and the PC's identity, make the run's id, load libcurl
 * (dlopen: a conversion without a report URL never loads it). */
int fleet_reporter_open(const fleet_opts *o, fleet_reporter **out, p2v_err *err);
void fleet_reporter_free(fleet_reporter *r);
const fleet_pc *fleet_reporter_pc(const fleet_reporter *r);
const char *fleet_reporter_run(const fleet_reporter *r);

/* What the run writes and from which partitions (copied; before start). */
int fleet_reporter_set_job(fleet_reporter *r, const char *output, const char *const *selection,
                           size_t n, p2v_err *err);

/* Windows' ComputerName of the PC (known once the selection is), the
 * OUTPUT template the name was made from and a role plan's role of each
 * selection (NULL: not a role plan; n as in set_job). Before start. */
int fleet_reporter_set_names(fleet_reporter *r, const char *computername,
                             const char *output_template, const char *const *roles, size_t n,
                             p2v_err *err);

/* start; then progress (starts the progress thread). */
int fleet_report_start(fleet_reporter *r, p2v_err *err);
/* Never blocks: keeps the newest; the thread sends it when FLEET_PROGRESS_EVERY
 * has passed since the last one, and sends at once the first and the last
 * (bytes_done == bytes_total) of each stage. */
void fleet_report_progress(fleet_reporter *r, const fleet_progress *p);
/* Ends the progress thread (its last event sent first), then sends. At most
 * one of the two per run; the second call returns 0 and sends nothing. */
int fleet_report_finish(fleet_reporter *r, void (*result)(json_writer *j, void *ctx), void *ctx,
                        p2v_err *err);
int fleet_report_failed(fleet_reporter *r, const char *error, p2v_err *err);
bool fleet_reporter_ended(const fleet_reporter *r);

/* GET url (http/https) into *body (malloc'd, NUL-terminated): for `p2v fleet
 * status`. Non-2xx answers are errors naming the status. */
int fleet_http_get(const char *url, unsigned io_timeout, const char *ca_file, char **body,
                   size_t *len, p2v_err *err);

#endif
