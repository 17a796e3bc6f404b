/* The fleet server's state: one SQLite database in the server's folder, so a
 * restart loses nothing. Reports are checked field by field before anything
 * is stored (fleet_store_ingest); one row per PC (keyed by its serial, else
 * UUID, else MAC, else the run) with the newest run's state, and one row per
 * run. SQLite is opened with dlopen like the other optional libraries. */
#include "fleet/store_impl.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

union sql_fns fleet_sql;
OPTLIB(sql_lib, P2V_SONAME_SQLITE, "p2v fleet serve (SQLite)", SQL_FNS, fleet_sql);

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS pcs ("
    " id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,"
    " serial TEXT, uuid TEXT, vendor TEXT, model TEXT, mac TEXT, computername TEXT,"
    " run TEXT, status TEXT, stage TEXT, partition INTEGER,"
    " bytes_done INTEGER DEFAULT 0, bytes_total INTEGER DEFAULT 0, rate REAL DEFAULT 0,"
    " eta INTEGER, output TEXT, selection TEXT, error TEXT, image_bytes INTEGER,"
    " copied_bytes INTEGER, started TEXT, updated TEXT, events INTEGER DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS runs ("
    " run TEXT PRIMARY KEY, pc INTEGER NOT NULL, status TEXT, output TEXT, started TEXT,"
    " updated TEXT, error TEXT, result TEXT);"
    /* the chart: what arrived per FLEET_FLOW_STEP seconds of the server's clock */
    "CREATE TABLE IF NOT EXISTS flow (t INTEGER PRIMARY KEY, bytes INTEGER DEFAULT 0,"
    " done INTEGER DEFAULT 0);"
    /* --boot-check's queue: queued, running (again after a restart), then ended */
    "CREATE TABLE IF NOT EXISTS checks (id INTEGER PRIMARY KEY, run TEXT UNIQUE NOT NULL,"
    " pc INTEGER NOT NULL, image TEXT NOT NULL, state TEXT NOT NULL, booted INTEGER,"
    " reason TEXT, shot TEXT, queued INTEGER, ended INTEGER);";

int fleet_store_open(const char *dir, fleet_store **out, p2v_err *err)
{
    int rc = optlib_load(&sql_lib, err);
    if (rc < 0)
        return rc;
    fleet_store *s = calloc(1, sizeof *s);
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/fleet.sqlite", dir);
    if (fleet_sql.f.sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        p2v_errf(err, -EIO, "%s: %s", path, s->db ? fleet_sql.f.sqlite3_errmsg(s->db) : "cannot open");
        fleet_store_close(s);
        return -EIO;
    }
    fleet_sql.f.sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (fleet_sql.f.sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        p2v_errf(err, -EIO, "%s: %s", path, msg ? msg : "schema");
        fleet_sql.f.sqlite3_free(msg);
        fleet_store_close(s);
        return -EIO;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->queued, NULL);
    s->ready = true;
    *out = s;
    return 0;
}

void fleet_store_close(fleet_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < STMT_CACHE && s->stmts[i].q; i++)
        fleet_sql.f.sqlite3_finalize(s->stmts[i].st);
    if (s->db)
        fleet_sql.f.sqlite3_close(s->db);
    if (s->ready) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->queued);
    }
    free(s);
}

/* ---- checking a report ---- */

struct report {
    const char *event, *run, *time, *output, *error;
    const char *pc[6];              /* serial uuid vendor model mac computername */
    const char *stage;
    int64_t partition, done, total, eta;
    double rate;
    const char *selection, *result;  /* JSON text */
    int64_t image_bytes, copied_bytes;
};

static const char *const pc_keys[6] = { "serial", "uuid", "vendor", "model", "mac",
                                        "computername" };

/* A string field of at most max bytes, or absent/null (NULL). */
static int get_str(struct json_object *o, const char *k, size_t max, const char **out,
                   p2v_err *err)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return p2v_errf(err, -EINVAL, "\"%s\" is not a string", k);
    if ((size_t)json_object_get_string_len(v) > max)
        return p2v_errf(err, -EINVAL, "\"%s\" is longer than %zu bytes", k, max);
    *out = json_object_get_string(v);
    return 0;
}

static int get_num(struct json_object *o, const char *k, int64_t *out, p2v_err *err)
{
    struct json_object *v;
    *out = -1;
    if (!json_object_object_get_ex(o, k, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return p2v_errf(err, -EINVAL, "\"%s\" is not a number", k);
    double d = json_object_get_double(v);
    if (d < 0 || d > 9.0e18)
        return p2v_errf(err, -EINVAL, "\"%s\" is out of range", k);
    *out = (int64_t)d;
    return 0;
}

static int check_progress(struct json_object *o, struct report *r, p2v_err *err)
{
    struct json_object *p;
    if (!json_object_object_get_ex(o, "progress", &p) || !json_object_is_type(p, json_type_object))
        return p2v_errf(err, -EINVAL, "a progress event without a \"progress\" object");
    int64_t rate;
    int rc;
    if ((rc = get_str(p, "stage", 32, &r->stage, err)) || (rc = get_num(p, "partition", &r->partition, err)) ||
        (rc = get_num(p, "bytes_done", &r->done, err)) ||
        (rc = get_num(p, "bytes_total", &r->total, err)) || (rc = get_num(p, "rate", &rate, err)) ||
        (rc = get_num(p, "eta", &r->eta, err)))
        return p2v_err_prefix(err, rc, "progress");
    r->rate = rate < 0 ? 0 : (double)rate;
    if (r->done < 0 || r->total < 0 || r->done > r->total)
        return p2v_errf(err, -EINVAL, "progress: bytes_done and bytes_total missing or inconsistent");
    return 0;
}

static int check_report(struct json_object *o, struct report *r, p2v_err *err)
{
    struct json_object *v;
    int rc;
    memset(r, 0, sizeof *r);
    if (!json_object_is_type(o, json_type_object))
        return p2v_errf(err, -EINVAL, "not a JSON object");
    if (!json_object_object_get_ex(o, "p2v_report", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) != FLEET_REPORT_VERSION)
        return p2v_errf(err, -EINVAL, "\"p2v_report\" is not 1");
    if ((rc = get_str(o, "event", 16, &r->event, err)) || (rc = get_str(o, "run", 64, &r->run, err)) ||
        (rc = get_str(o, "time", 40, &r->time, err)) || (rc = get_str(o, "output", 1024, &r->output, err)) ||
        (rc = get_str(o, "error", 4096, &r->error, err)))
        return rc;
    if (!r->event || (strcmp(r->event, "start") && strcmp(r->event, "progress") &&
                      strcmp(r->event, "finish") && strcmp(r->event, "failed")))
        return p2v_errf(err, -EINVAL, "\"event\" is not start, progress, finish or failed");
    if (!r->run || !r->run[0])
        return p2v_errf(err, -EINVAL, "no \"run\"");
    for (const char *c = r->run; *c; c++)
        if (!strchr("0123456789abcdefABCDEF-", *c))
            return p2v_errf(err, -EINVAL, "\"run\" is not hex digits");
    if (json_object_object_get_ex(o, "pc", &v) && v) {
        if (!json_object_is_type(v, json_type_object))
            return p2v_errf(err, -EINVAL, "\"pc\" is not an object");
        for (int i = 0; i < 6; i++)
            if ((rc = get_str(v, pc_keys[i], 256, &r->pc[i], err)))
                return p2v_err_prefix(err, rc, "pc");
    }
    if (json_object_object_get_ex(o, "selection", &v) && v) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 128)
            return p2v_errf(err, -EINVAL, "\"selection\" is not an array of at most 128");
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                return p2v_errf(err, -EINVAL, "\"selection\" holds a non-string");
        r->selection = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    }
    if (!strcmp(r->event, "progress") && (rc = check_progress(o, r, err)))
        return rc;
    r->image_bytes = r->copied_bytes = -1;
    if (json_object_object_get_ex(o, "result", &v) && v) {
        if (!json_object_is_type(v, json_type_object))
            return p2v_errf(err, -EINVAL, "\"result\" is not an object");
        if ((rc = get_num(v, "image_bytes", &r->image_bytes, err)) ||
            (rc = get_num(v, "copied_bytes", &r->copied_bytes, err)))
            return p2v_err_prefix(err, rc, "result");
        r->result = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    }
    return 0;
}

/* ---- storing ---- */

void store_bind_str(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        fleet_sql.f.sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        fleet_sql.f.sqlite3_bind_null(st, i);
}

void store_bind_num(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        fleet_sql.f.sqlite3_bind_int64(st, i, v);
    else
        fleet_sql.f.sqlite3_bind_null(st, i);
}

/* (store_impl.h) */
int store_stmt(fleet_store *s, const char *q, sqlite3_stmt **st, p2v_err *err)
{
    int i = 0;
    while (i < STMT_CACHE && s->stmts[i].q && s->stmts[i].q != q)
        i++;
    if (i < STMT_CACHE && s->stmts[i].q) {
        *st = s->stmts[i].st;
        fleet_sql.f.sqlite3_clear_bindings(*st);
        return 0;
    }
    if (fleet_sql.f.sqlite3_prepare_v2(s->db, q, -1, st, NULL) != SQLITE_OK)
        return p2v_errf(err, -EIO, "database: %s", fleet_sql.f.sqlite3_errmsg(s->db));
    if (i == STMT_CACHE) {          /* more queries than places: not kept */
        fleet_sql.f.sqlite3_finalize(*st);
        return p2v_errf(err, -EIO, "database: more than %d statements", STMT_CACHE);
    }
    s->stmts[i].q = q;
    s->stmts[i].st = *st;
    return 0;
}

void store_stmt_done(sqlite3_stmt *st)
{
    fleet_sql.f.sqlite3_reset(st);
}

int store_step_done(fleet_store *s, sqlite3_stmt *st, p2v_err *err)
{
    int rc = fleet_sql.f.sqlite3_step(st);
    store_stmt_done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return p2v_errf(err, -EIO, "database: %s", fleet_sql.f.sqlite3_errmsg(s->db));
    return 0;
}

/* The PC's row: its identity kept up to date, created on its first report. */
static int upsert_pc(fleet_store *s, const struct report *r, p2v_err *err)
{
    char key[300];
    const char *const *pc = r->pc;
    if (pc[0] && pc[0][0])
        snprintf(key, sizeof key, "serial:%s", pc[0]);
    else if (pc[1] && pc[1][0])
        snprintf(key, sizeof key, "uuid:%s", pc[1]);
    else if (pc[4] && pc[4][0])
        snprintf(key, sizeof key, "mac:%s", pc[4]);
    else
        snprintf(key, sizeof key, "run:%s", r->run);
    sqlite3_stmt *st;
    int rc = store_stmt(s,
        "INSERT INTO pcs (key, serial, uuid, vendor, model, mac, computername, started, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT(key) DO UPDATE SET"
        " serial=coalesce(?2, serial), uuid=coalesce(?3, uuid), vendor=coalesce(?4, vendor),"
        " model=coalesce(?5, model), mac=coalesce(?6, mac),"
        " computername=coalesce(?7, computername)", &st, err);
    if (rc)
        return rc;
    store_bind_str(st, 1, key);
    for (int i = 0; i < 6; i++)
        store_bind_str(st, i + 2, pc[i] && pc[i][0] ? pc[i] : NULL);
    store_bind_str(st, 8, r->time);
    if ((rc = store_step_done(s, st, err)))
        return rc;
    if ((rc = store_stmt(s, "INSERT OR IGNORE INTO runs (run, pc, status, output, started, updated)"
                           " SELECT ?1, id, 'converting', ?2, ?3, ?3 FROM pcs WHERE key = ?4",
                        &st, err)))
        return rc;
    store_bind_str(st, 1, r->run);
    store_bind_str(st, 2, r->output);
    store_bind_str(st, 3, r->time);
    store_bind_str(st, 4, key);
    return store_step_done(s, st, err);
}

/* The run's new state, and the PC's when this run is its newest (a late
 * progress event of an ended run changes nothing). */
static int update_state(fleet_store *s, const struct report *r, p2v_err *err)
{
    const char *status = !strcmp(r->event, "finish")   ? "done"
                         : !strcmp(r->event, "failed") ? "failed"
                                                       : "converting";
    bool ending = strcmp(status, "converting") != 0;
    sqlite3_stmt *st;
    int rc = store_stmt(s,
        "UPDATE runs SET status = ?2, updated = ?3, error = coalesce(?4, error),"
        " result = coalesce(?5, result), output = coalesce(?6, output)"
        " WHERE run = ?1 AND (status = 'converting' OR ?7)", &st, err);
    if (rc)
        return rc;
    store_bind_str(st, 1, r->run);
    store_bind_str(st, 2, status);
    store_bind_str(st, 3, r->time);
    store_bind_str(st, 4, r->error);
    store_bind_str(st, 5, r->result);
    store_bind_str(st, 6, r->output);
    fleet_sql.f.sqlite3_bind_int64(st, 7, ending);
    if ((rc = store_step_done(s, st, err)))
        return rc;
    rc = store_stmt(s,
        "UPDATE pcs SET run = ?1, status = (SELECT status FROM runs WHERE run = ?1),"
        " updated = ?2, events = events + 1,"
        " started = CASE WHEN run IS ?1 THEN started ELSE ?2 END,"
        " output = coalesce(?3, CASE WHEN run IS ?1 THEN output END),"
        " selection = coalesce(?4, CASE WHEN run IS ?1 THEN selection END),"
        " error = CASE WHEN ?5 IS NOT NULL THEN ?5 WHEN run IS ?1 THEN error END,"
        " stage = coalesce(?6, CASE WHEN run IS ?1 THEN stage END),"
        " partition = CASE WHEN ?6 IS NOT NULL THEN ?7 WHEN run IS ?1 THEN partition END,"
        " bytes_done = CASE WHEN ?6 IS NOT NULL THEN ?8 WHEN run IS ?1 THEN bytes_done ELSE 0 END,"
        " bytes_total = CASE WHEN ?6 IS NOT NULL THEN ?9 WHEN run IS ?1 THEN bytes_total ELSE 0 END,"
        " rate = CASE WHEN ?6 IS NOT NULL THEN ?10 WHEN ?12 THEN 0 WHEN run IS ?1 THEN rate ELSE 0 END,"
        " eta = CASE WHEN ?6 IS NOT NULL THEN ?11 WHEN run IS ?1 THEN eta END,"
        " image_bytes = coalesce(?13, CASE WHEN run IS ?1 THEN image_bytes END),"
        " copied_bytes = coalesce(?14, CASE WHEN run IS ?1 THEN copied_bytes END)"
        " WHERE id = (SELECT pc FROM runs WHERE run = ?1)"
        " AND (run IS NULL OR run = ?1 OR (SELECT started FROM runs WHERE run = ?1) >= started)"
        " AND NOT (?6 IS NOT NULL AND (SELECT status FROM runs WHERE run = ?1) != 'converting')",
        &st, err);
    if (rc)
        return rc;
    bool late = !strcmp(r->event, "progress");
    store_bind_str(st, 1, r->run);
    store_bind_str(st, 2, r->time);
    store_bind_str(st, 3, r->output);
    store_bind_str(st, 4, r->selection);
    store_bind_str(st, 5, r->error);
    store_bind_str(st, 6, late ? (r->stage ? r->stage : "copy") : NULL);
    store_bind_num(st, 7, r->partition > 0 ? r->partition : -1);
    store_bind_num(st, 8, r->done);
    store_bind_num(st, 9, r->total);
    fleet_sql.f.sqlite3_bind_double(st, 10, r->rate);
    store_bind_num(st, 11, r->eta);
    fleet_sql.f.sqlite3_bind_int64(st, 12, ending);
    store_bind_num(st, 13, r->image_bytes);
    store_bind_num(st, 14, r->copied_bytes);
    return store_step_done(s, st, err);
}

/* The chart's figures, before update_state changes the PC's row: the bytes
 * this progress event adds to its run's stage, or one more PC done. Only a
 * run still converting counts, so a repeated finish counts once. */
static int record_flow(fleet_store *s, const struct report *r, p2v_err *err)
{
    bool progress = !strcmp(r->event, "progress"), finish = !strcmp(r->event, "finish");
    if (!progress && !finish)
        return 0;
    sqlite3_stmt *st;
    int rc = store_stmt(s,
        "INSERT INTO flow (t, bytes, done) SELECT ?1,"
        " CASE WHEN ?2 IS NULL THEN 0 ELSE max(0, ?2 - coalesce((SELECT bytes_done FROM pcs"
        "  WHERE run = ?3 AND stage IS ?4), 0)) END, ?5"
        " WHERE (SELECT status FROM runs WHERE run = ?3) = 'converting'"
        " ON CONFLICT(t) DO UPDATE SET bytes = bytes + excluded.bytes, done = done + excluded.done",
        &st, err);
    if (rc)
        return rc;
    fleet_sql.f.sqlite3_bind_int64(st, 1, (int64_t)time(NULL) / FLEET_FLOW_STEP);
    store_bind_num(st, 2, progress ? r->done : -1);
    store_bind_str(st, 3, r->run);
    store_bind_str(st, 4, r->stage ? r->stage : "copy");
    fleet_sql.f.sqlite3_bind_int64(st, 5, finish);
    return store_step_done(s, st, err);
}

/* --boot-check: a finished run whose image is one the server was told of. */
static int queue_check(fleet_store *s, const struct report *r, p2v_err *err)
{
    if (!s->check_template || strcmp(r->event, "finish") || !r->output ||
        !fleet_output_matches(s->check_template, r->output))
        return 0;
    sqlite3_stmt *st;
    int rc = store_stmt(s, "INSERT OR IGNORE INTO checks (run, pc, image, state, queued)"
                          " SELECT ?1, pc, ?2, 'queued', ?3 FROM runs WHERE run = ?1",
                       &st, err);
    if (rc)
        return rc;
    store_bind_str(st, 1, r->run);
    store_bind_str(st, 2, r->output);
    fleet_sql.f.sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
    if ((rc = store_step_done(s, st, err)) == 0)
        pthread_cond_broadcast(&s->queued);
    return rc;
}

int fleet_store_ingest(fleet_store *s, const char *body, size_t len, p2v_err *err)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return p2v_errf(err, -ENOMEM, "out of memory");
    struct json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t used = tok->char_offset;
    json_tokener_free(tok);
    int rc;
    if (!o || je != json_tokener_success)
        rc = p2v_errf(err, -EINVAL, "malformed JSON at byte %zu: %s", used,
                      json_tokener_error_desc(je));
    else if (used != len && strspn(body + used, " \t\r\n") != len - used)
        rc = p2v_errf(err, -EINVAL, "malformed JSON: data after the object at byte %zu", used);
    else {
        struct report r;
        rc = check_report(o, &r, err);
        if (rc == 0) {
            pthread_mutex_lock(&s->lock);
            fleet_sql.f.sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
            rc = upsert_pc(s, &r, err);
            if (rc == 0)
                rc = record_flow(s, &r, err);
            if (rc == 0)
                rc = queue_check(s, &r, err);
            if (rc == 0)
                rc = update_state(s, &r, err);
            fleet_sql.f.sqlite3_exec(s->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
            pthread_mutex_unlock(&s->lock);
        }
    }
    json_object_put(o);
    return rc;
}

/* ---- reading ---- */

#define PC_COLS                                                                                    \
    "SELECT p.id, serial, uuid, vendor, model, mac, computername, status, stage, partition,"       \
    " bytes_done, bytes_total, rate, eta, output, error, image_bytes, copied_bytes, started,"      \
    " updated, p.run, selection, events, c.id, c.state, c.booted, c.reason, c.shot IS NOT NULL"   \
    " FROM pcs p LEFT JOIN checks c ON c.run = p.run"
static const char pc_one[] = PC_COLS " WHERE p.id = ?1", pc_all[] = PC_COLS " ORDER BY p.id";

const char *store_col_s(sqlite3_stmt *st, int i)
{
    return (const char *)fleet_sql.f.sqlite3_column_text(st, i);
}

int64_t store_col_n(sqlite3_stmt *st, int i)
{
    return fleet_sql.f.sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : fleet_sql.f.sqlite3_column_int64(st, i);
}

static void row_to(sqlite3_stmt *st, fleet_pc_row *p)
{
    p->id = store_col_n(st, 0);
    const char **s[] = { &p->serial, &p->uuid, &p->vendor, &p->model, &p->mac, &p->computername,
                         &p->status, &p->stage };
    for (int i = 0; i < 8; i++)
        *s[i] = store_col_s(st, i + 1);
    p->partition = store_col_n(st, 9);
    p->bytes_done = store_col_n(st, 10);
    p->bytes_total = store_col_n(st, 11);
    p->rate = fleet_sql.f.sqlite3_column_double(st, 12);
    p->eta = store_col_n(st, 13);
    p->output = store_col_s(st, 14);
    p->error = store_col_s(st, 15);
    p->image_bytes = store_col_n(st, 16);
    p->copied_bytes = store_col_n(st, 17);
    p->started = store_col_s(st, 18);
    p->updated = store_col_s(st, 19);
    p->run = store_col_s(st, 20);
    p->selection = store_col_s(st, 21);
    p->events = store_col_n(st, 22);
    p->check_id = store_col_n(st, 23);
    p->check_state = store_col_s(st, 24);
    p->check_booted = store_col_n(st, 25);
    p->check_reason = store_col_s(st, 26);
    p->check_shot = store_col_n(st, 27) > 0;
}

int fleet_store_each(fleet_store *s, int64_t id, void (*fn)(const fleet_pc_row *p, void *ctx),
                     void *ctx, p2v_err *err)
{
    const char *q = id >= 0 ? pc_one : pc_all;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    int rc = store_stmt(s, q, &st, err), n = 0;
    if (rc == 0) {
        if (id >= 0)
            fleet_sql.f.sqlite3_bind_int64(st, 1, id);
        while (fleet_sql.f.sqlite3_step(st) == SQLITE_ROW) {
            fleet_pc_row p;
            row_to(st, &p);
            fn(&p, ctx);
            n++;
        }
        store_stmt_done(st);
    }
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : n;
}

/* ---- the chart ---- */

int fleet_store_flow(fleet_store *s, void (*fn)(int64_t t, int64_t bytes, int64_t done, void *ctx),
                     void *ctx, p2v_err *err)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    int rc = store_stmt(s, "SELECT t, bytes, done FROM flow ORDER BY t", &st, err);
    if (rc == 0) {
        while (fleet_sql.f.sqlite3_step(st) == SQLITE_ROW)
            fn(fleet_sql.f.sqlite3_column_int64(st, 0) * FLEET_FLOW_STEP, fleet_sql.f.sqlite3_column_int64(st, 1),
               fleet_sql.f.sqlite3_column_int64(st, 2), ctx);
        store_stmt_done(st);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
