/* The fleet server's boot-check queue (--boot-check): a table of the store's
 * database, so a restart resumes it; one check at a time is taken, and the
 * one that was running when the server stopped goes first. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "fleet/store_impl.h"

void fleet_store_check_images(fleet_store *s, const char *template)
{
    s->check_template = template;
}

int fleet_store_check_next(fleet_store *s, fleet_check_job *job, p2v_err *err)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    /* one that was running when the server stopped goes first: it is resumed */
    int rc = store_stmt(s, "SELECT id, image FROM checks WHERE state IN ('queued', 'running')"
                          " ORDER BY state = 'running' DESC, id LIMIT 1", &st, err);
    if (rc == 0) {
        rc = 0;
        if (fleet_sql.f.sqlite3_step(st) == SQLITE_ROW) {
            job->id = fleet_sql.f.sqlite3_column_int64(st, 0);
            snprintf(job->image, sizeof job->image, "%s", store_col_s(st, 1));
            rc = 1;
        }
        store_stmt_done(st);
    }
    if (rc == 1) {
        int r2 = store_stmt(s, "UPDATE checks SET state = 'running' WHERE id = ?1", &st, err);
        if (r2 == 0) {
            fleet_sql.f.sqlite3_bind_int64(st, 1, job->id);
            r2 = store_step_done(s, st, err);
        }
        rc = r2 ? r2 : 1;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fleet_store_check_end(fleet_store *s, int64_t id, int booted, const char *reason,
                          const char *shot, p2v_err *err)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    int rc = store_stmt(s, "UPDATE checks SET state = ?2, booted = ?3, reason = ?4, shot = ?5,"
                          " ended = ?6 WHERE id = ?1", &st, err);
    if (rc == 0) {
        fleet_sql.f.sqlite3_bind_int64(st, 1, id);
        store_bind_str(st, 2, booted < 0 ? "error" : "done");
        store_bind_num(st, 3, booted);
        store_bind_str(st, 4, reason);
        store_bind_str(st, 5, shot);
        fleet_sql.f.sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
        rc = store_step_done(s, st, err);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fleet_store_check_shot(fleet_store *s, int64_t id, char *name, size_t len)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    p2v_err err;
    int rc = store_stmt(s, "SELECT shot FROM checks WHERE id = ?1 AND shot IS NOT NULL", &st, &err);
    if (rc == 0) {
        fleet_sql.f.sqlite3_bind_int64(st, 1, id);
        rc = -ENOENT;
        if (fleet_sql.f.sqlite3_step(st) == SQLITE_ROW) {
            snprintf(name, len, "%s", store_col_s(st, 0));
            rc = 0;
        }
        store_stmt_done(st);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void fleet_store_check_wait(fleet_store *s, unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    pthread_cond_timedwait(&s->queued, &s->lock, &t);
    pthread_mutex_unlock(&s->lock);
}
