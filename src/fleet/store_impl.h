/* The fleet server's SQLite store, private to src/fleet/store*.c: the
 * library's function table (opened with dlopen in store.c), the store's
 * state, and the statement helpers every part of the store uses. */
#ifndef P2V_FLEET_STORE_IMPL_H
#define P2V_FLEET_STORE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "fleet/server.h"
#include "util/optlib.h"

#define SQL_FNS(X)                                                                                 \
    X(sqlite3_open_v2) X(sqlite3_close) X(sqlite3_exec) X(sqlite3_prepare_v2)                      \
    X(sqlite3_bind_text) X(sqlite3_bind_int64) X(sqlite3_bind_double) X(sqlite3_bind_null)         \
    X(sqlite3_step) X(sqlite3_column_text) X(sqlite3_column_int64) X(sqlite3_column_double)        \
    X(sqlite3_column_type) X(sqlite3_finalize) X(sqlite3_errmsg) X(sqlite3_busy_timeout)           \
    X(sqlite3_free) X(sqlite3_reset) X(sqlite3_clear_bindings)
extern OPTLIB_TABLE(sql_fns, SQL_FNS) fleet_sql;

#define STMT_CACHE 16

struct fleet_store {
    sqlite3 *db;
    /* prepared statements kept by their query's address (each query is a
     * string constant): preparing the ingest's four statements for every
     * report cost more than running them */
    struct {
        const char *q;
        sqlite3_stmt *st;
    } stmts[STMT_CACHE];
    pthread_mutex_t lock;
    pthread_cond_t queued;          /* a boot check was queued (fleet_store_check_wait) */
    const char *check_template;     /* --boot-check: images matching it are queued */
    bool ready;                     /* lock and queued initialised */
};

/* Bind a string (NULL: null) or a number (< 0: null) to parameter i. */
void store_bind_str(sqlite3_stmt *st, int i, const char *s);
void store_bind_num(sqlite3_stmt *st, int i, int64_t v);
/* The statement of query q (a string constant: it is kept by its address),
 * prepared on first use, without bindings; call with s->lock held and give
 * it back with store_stmt_done (or store_step_done). */
int store_stmt(fleet_store *s, const char *q, sqlite3_stmt **st, p2v_err *err);
void store_stmt_done(sqlite3_stmt *st);
/* Step st once and give it back; an error names the database's reason. */
int store_step_done(fleet_store *s, sqlite3_stmt *st, p2v_err *err);
/* Column i as text (NULL for null) or a number (-1 for null). */
const char *store_col_s(sqlite3_stmt *st, int i);
int64_t store_col_n(sqlite3_stmt *st, int i);

#endif
