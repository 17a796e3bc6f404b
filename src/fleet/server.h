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
} fleet_pc_row;

/* fn for every PC (id < 0) or the one with that id; the count, or -errno. */
int fleet_store_each(fleet_store *s, int64_t id, void (*fn)(const fleet_pc_row *p, void *ctx),
                     void *ctx, p2v_err *err);

/* The page (HTML, every stored string escaped), /api/pcs and /api/pcs/ID. */
int fleet_page_html(fleet_store *s, FILE *out, p2v_err *err);
int fleet_pcs_json(fleet_store *s, FILE *out, p2v_err *err);
/* 0, -ENOENT for no such PC. */
int fleet_pc_json(fleet_store *s, int64_t id, FILE *out, p2v_err *err);

typedef struct fleet_serve_opts {
    const char *dir;
    const char *listen;             /* ADDR:PORT; NULL: 127.0.0.1:8080 */
    const char *token_file;
    unsigned io_timeout;            /* seconds a client may take; 0: 60 */
    /* the network boot (/boot.ipxe and the files it names); NULL: none */
    const char *live_dir;           /* holds vmlinuz, initrd.img, filesystem.squashfs
                                       (directly or under live/) */
    const char *plan;               /* a plan file, served as /plan.json */
    const char *output;             /* p2v.output=TEMPLATE */
    /* called when listening, with the port (0 in ADDR:0 picks one) */
    void (*ready)(void *ctx, const char *addr, unsigned port);
    void (*log)(void *ctx, const char *msg);
    void *ctx;
    volatile int *stop;             /* serve until *stop */
} fleet_serve_opts;

int fleet_serve(const fleet_serve_opts *o, p2v_err *err);

/* The iPXE script for a client that reached the server as base
 * (http://HOST:PORT): kernel, initrd and the kernel command line with
 * p2v.plan, p2v.output, p2v.report and p2v.token. */
void fleet_ipxe_script(const fleet_serve_opts *o, const char *base, const char *token, FILE *out);
/* Copy the ISO's /live into DIR/live-files (xorriso), for --live ISO. */
int fleet_live_from_iso(const char *iso, const char *dir, p2v_err *err);

#endif
