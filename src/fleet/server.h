/* p2v fleet serve: the receiver of the reports of src/fleet/fleet.h, its
 * state in SQLite (store.c), its page and JSON (page.c) and the HTTP server
 * (serve.c, libmicrohttpd). docs/fleet.md. */
#ifndef P2V_FLEET_SERVER_H
#define P2V_FLEET_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fleet/fleet.h"

#define FLEET_BODY_MAX (1u << 20)   /* bytes of one report */
#define FLEET_QUEUE_MAX 64          /* requests in progress; more get 429 */
#define FLEET_PEM_MAX (64u << 10)   /* bytes of --tls-cert / --tls-key */

typedef struct fleet_store fleet_store;

/* DIR/fleet.sqlite, created when missing. */
int fleet_store_open(const char *dir, fleet_store **out, p2v_err *err);
void fleet_store_close(fleet_store *s);
/* One report (a POST body): checked, then stored in one transaction; -EINVAL
 * with the reason (nothing stored) when it is not a report of docs/fleet.md. */
int fleet_store_ingest(fleet_store *s, const char *body, size_t len, p2v_err *err);

/* A PC as stored; strings may be NULL; numbers -1 when unknown. Valid
 * during the callback only. */
typedef struct fleet_pc_row {
    int64_t id;
    const char *serial, *uuid, *vendor, *model, *mac, *computername;
    const char *status, *stage, *output, *error, *started, *updated, *run, *selection;
    int64_t partition, bytes_done, bytes_total, eta, image_bytes, copied_bytes, events;
    double rate;
    /* --boot-check of the newest run: check_id -1 when none */
    int64_t check_id, check_booted;     /* booted: 1, 0, -1 unknown */
    const char *check_state, *check_reason; /* queued, running, done, error */
    bool check_shot;                    /* a last screenshot is kept */
} fleet_pc_row;

/* fn for every PC (id < 0) or the one with that id; the count, or -errno. */
int fleet_store_each(fleet_store *s, int64_t id, void (*fn)(const fleet_pc_row *p, void *ctx),
                     void *ctx, p2v_err *err);

/* The chart's rows: per FLEET_FLOW_STEP seconds from t (Unix time), the
 * bytes the running conversions moved and the PCs that finished. */
#define FLEET_FLOW_STEP 10
int fleet_store_flow(fleet_store *s, void (*fn)(int64_t t, int64_t bytes, int64_t done, void *ctx),
                     void *ctx, p2v_err *err);

/* --boot-check's queue, kept in the database so that a restart resumes it.
 * Images of finished runs that match template (fleet_output_matches) are
 * queued as their finish is stored; template must outlive the store. */
void fleet_store_check_images(fleet_store *s, const char *template);
typedef struct fleet_check_job {
    int64_t id;
    char image[1100];
} fleet_check_job;
/* The next check (one interrupted by a stop first), marked running: 1, 0
 * when none, or -errno. */
int fleet_store_check_next(fleet_store *s, fleet_check_job *job, p2v_err *err);
/* Its verdict: booted 1/0, or -1 when the check could not run; shot is the
 * name of the last screenshot in the check's folder, or NULL. */
int fleet_store_check_end(fleet_store *s, int64_t id, int booted, const char *reason,
                          const char *shot, p2v_err *err);
/* The screenshot's name of check id: 0, -ENOENT. */
int fleet_store_check_shot(fleet_store *s, int64_t id, char *name, size_t len);
/* Sleep up to ms or until a check is queued. */
void fleet_store_check_wait(fleet_store *s, unsigned ms);

/* Whether output (what a run reports it wrote) is an image of template (the
 * server's --output): literal parts equal, each {NAME} one or more of
 * [A-Za-z0-9_.-], not starting with '-' or '.' (no "..", no
 * option, no ':' that would add qemu options to an rbd: name). A client's name can only
 * ever be one the admin's template allows. */
bool fleet_output_matches(const char *template, const char *output);

/* The page (HTML, every stored string escaped), /api/pcs and /api/pcs/ID. */
int fleet_page_html(fleet_store *s, FILE *out, p2v_err *err);
int fleet_pcs_json(fleet_store *s, FILE *out, p2v_err *err);
/* The chart of throughput and PCs done up to now (Unix time), as <svg id="chart">. */
int fleet_chart_svg(fleet_store *s, int64_t now, FILE *out, p2v_err *err);
/* /app.js: the page's live updates (page.c). */
extern const char fleet_page_js[];
/* 0, -ENOENT for no such PC. */
int fleet_pc_json(fleet_store *s, int64_t id, FILE *out, p2v_err *err);

typedef struct fleet_serve_opts {
    const char *dir;
    const char *listen;             /* ADDR:PORT; NULL: 127.0.0.1:8080 */
    const char *token_file;
    const char *tls_cert, *tls_key; /* PEM files: HTTPS instead of HTTP; NULL: HTTP */
    unsigned io_timeout;            /* seconds a client may take; 0: 60 */
    /* the network boot (/boot.ipxe and the files it names); NULL: none */
    const char *live_dir;           /* holds vmlinuz, initrd.img, filesystem.squashfs
                                       (directly or under live/) */
    const char *plan;               /* a plan file, served as /plan.json */
    const char *output;             /* p2v.output=TEMPLATE */
    bool boot_check;                /* boot-check images matching output */
    const char *self;               /* the p2v binary that runs `boot-check` */
    unsigned boot_check_timeout;    /* its --timeout; 0: 300 */
    /* called when listening, with the port (0 in ADDR:0 picks one) */
    void (*ready)(void *ctx, const char *addr, unsigned port);
    void (*log)(void *ctx, const char *msg);
    void *ctx;
    volatile int *stop;             /* serve until *stop */
} fleet_serve_opts;

int fleet_serve(const fleet_serve_opts *o, p2v_err *err);

/* The boot-check worker (check.c): one thread, one check at a time. */
typedef struct fleet_checker fleet_checker;
int fleet_checker_start(fleet_store *s, const fleet_serve_opts *o, fleet_checker **out,
                        p2v_err *err);
void fleet_checker_stop(fleet_checker *ck);

/* The iPXE script for a client that reached the server as base
 * (http://HOST:PORT): kernel, initrd and the kernel command line with
 * p2v.plan, p2v.output, p2v.report and p2v.token. */
void fleet_ipxe_script(const fleet_serve_opts *o, const char *base, const char *token, FILE *out);
/* Copy the ISO's /live into DIR/live-files (xorriso), for --live ISO. */
int fleet_live_from_iso(const char *iso, const char *dir, p2v_err *err);

#endif
