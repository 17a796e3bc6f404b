/* The sender: events POSTed as JSON with libcurl, opened on first use
 * (src/util/optlib.h). start, finish and failed are tried FLEET_ATTEMPTS
 * times; progress events once each, from a thread of their own. */
#include "fleet/fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* curl_easy_setopt is a type-checking macro with GCC-style compilers: the
 * table below needs the plain functions. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "util/optlib.h"

#define CURL_FNS(X)                                                                                \
    X(curl_global_init) X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_perform)                 \
    X(curl_easy_getinfo) X(curl_easy_cleanup) X(curl_slist_append) X(curl_slist_free_all)          \
    X(curl_easy_strerror)
static OPTLIB_TABLE(curl_fns, CURL_FNS) curl;
OPTLIB(curl_lib, P2V_SONAME_CURL, "--report-url (HTTP)", CURL_FNS, curl);

struct fleet_reporter {
    char *url;
    char *ca_file;
    char token[FLEET_TOKEN_MAX + 1];
    unsigned timeout;
    fleet_pc pc;
    char run[33];
    char *output;
    char **sel;
    size_t nsel;
    char *output_template;
    char **roles;               /* nsel entries, or NULL */
    char started[32];           /* when the reporter was opened: the run's start */
    double t_open;
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
    bool ended;
    /* the progress thread and its one-event mailbox */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool thread_on, stop, has_pend, urgent, failing;
    fleet_progress pend;
    char pend_stage[16], last_stage[16];
    double last_sent;
};

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The request c (its method set by the caller) sent to url and ended: what a
 * POST and a GET share — http and https only, the CA file, the timeout for
 * connecting and for the whole request, where the answer goes, the error
 * text in cerr. *status: the HTTP status, 0 without an answer. */
static CURLcode perform(CURL *c, const char *url, const char *ca_file, long timeout,
                        curl_write_callback on_data, void *data, char *cerr, long *status)
{
    curl.f.curl_easy_setopt(c, CURLOPT_URL, url);
    curl.f.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (ca_file)
        curl.f.curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl.f.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl.f.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
    curl.f.curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl.f.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl.f.curl_easy_setopt(c, CURLOPT_WRITEDATA, data);
    curl.f.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl.f.curl_easy_perform(c);
    *status = 0;
    curl.f.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl.f.curl_easy_cleanup(c);
    return cc;
}

/* ---- one POST ---- */

struct reply {
    char text[256];
    size_t len;
};

/* Keep the start of the receiver's answer: its reason for a refusal. */
static size_t on_reply(char *data, size_t size, size_t n, void *ctx)
{
    struct reply *rp = ctx;
    size_t len = size * n, room = sizeof rp->text - 1 - rp->len;
    memcpy(rp->text + rp->len, data, len < room ? len : room);
    rp->len += len < room ? len : room;
    rp->text[rp->len] = 0;
    return len;
}

static void first_line(char *s)
{
    s[strcspn(s, "\r\n")] = 0;
}

/* 0 delivered; -EAGAIN worth another try (network, 5xx, 408, 429); -EACCES
 * refused (any other status). */
static int post(fleet_reporter *r, const char *body, size_t len, p2v_err *err)
{
    CURL *c = curl.f.curl_easy_init();
    if (!c)
        return p2v_errf(err, -ENOMEM, "cannot start an HTTP request");
    struct curl_slist *h = curl.f.curl_slist_append(NULL, "Content-Type: application/json");
    if (r->token[0]) {
        char auth[FLEET_TOKEN_MAX + 32];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", r->token);
        struct curl_slist *h2 = curl.f.curl_slist_append(h, auth);
        h = h2 ? h2 : h;
    }
    struct reply rp = { .len = 0 };
    char cerr[CURL_ERROR_SIZE] = "";
    curl.f.curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl.f.curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl.f.curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl.f.curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    long status;
    CURLcode cc = perform(c, r->url, r->ca_file, (long)r->timeout, on_reply, &rp, cerr, &status);
    curl.f.curl_slist_free_all(h);
    if (cc != CURLE_OK)
        return p2v_errf(err, -EAGAIN, "%s", cerr[0] ? cerr : curl.f.curl_easy_strerror(cc));
    if (status >= 200 && status < 300)
        return 0;
    first_line(rp.text);
    int code = status >= 500 || status == 408 || status == 429 ? -EAGAIN : -EACCES;
    return p2v_errf(err, code, "HTTP %ld%s%s", status, rp.text[0] ? ": " : "", rp.text);
}

/* ---- events ---- */

static char *event_body(fleet_reporter *r, fleet_event *e, size_t *len)
{
    char now[32];
    fleet_time_now(now, sizeof now);
    e->run = r->run;
    e->time = now;
    e->pc = &r->pc;
    e->output = r->output;
    e->output_template = r->output_template;
    e->selection = (const char *const *)r->sel;
    e->roles = (const char *const *)r->roles;
    e->nselection = r->nsel;
    e->started = r->started;
    e->elapsed = mono_s() - r->t_open;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fleet_event_json(e, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* start, finish, failed: tried FLEET_ATTEMPTS times unless refused. */
static int send_important(fleet_reporter *r, fleet_event *e, p2v_err *err)
{
    size_t len;
    char *body = event_body(r, e, &len);
    if (!body)
        return p2v_errf(err, -ENOMEM, "out of memory for the %s report",
                        fleet_kind_name(e->kind));
    int rc = 0;
    unsigned a;
    for (a = 1; a <= FLEET_ATTEMPTS; a++) {
        if (a > 1)
            sleep(fleet_retry_delay(a));
        rc = post(r, body, len, err);
        if (rc != -EAGAIN)
            break;
    }
    free(body);
    if (rc == 0)
        return 0;
    if (rc == -EAGAIN)
        return p2v_err_prefix(err, -EIO, "%s report to %s not delivered after %u attempts",
                              fleet_kind_name(e->kind), r->url, FLEET_ATTEMPTS);
    return p2v_err_prefix(err, rc, "%s report to %s refused", fleet_kind_name(e->kind), r->url);
}

static void warn(fleet_reporter *r, const char *fmt, const char *a, const char *b)
{
    char msg[1400];
    snprintf(msg, sizeof msg, fmt, a, b);
    if (r->warn)
        r->warn(r->ctx, msg);
}

static void send_progress(fleet_reporter *r, const fleet_progress *p)
{
    fleet_event e = { .kind = FLEET_PROGRESS, .progress = p };
    size_t len;
    p2v_err err = { { 0 } };
    char *body = event_body(r, &e, &len);
    int rc = body ? post(r, body, len, &err) : -ENOMEM;
    free(body);
    /* One warning when delivery starts failing, not one per event. */
    if (rc < 0 && !r->failing)
        warn(r, "progress report to %s not delivered (%s); progress events are dropped "
                "until the receiver answers again", r->url, body ? err.msg : "out of memory");
    r->failing = rc < 0;
}

/* Waits for the next event due, sends it outside the lock, ends on stop
 * once the last one waiting is sent. */
static void *progress_thread(void *arg)
{
    fleet_reporter *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        double due = r->last_sent + FLEET_PROGRESS_EVERY;
        if (r->has_pend && (r->urgent || r->stop || mono_s() >= due)) {
            fleet_progress p = r->pend;
            char stage[sizeof r->pend_stage];
            memcpy(stage, r->pend_stage, sizeof stage);
            p.stage = stage;
            r->has_pend = r->urgent = false;
            pthread_mutex_unlock(&r->lock);
            send_progress(r, &p);
            pthread_mutex_lock(&r->lock);
            r->last_sent = mono_s();
            continue;
        }
        if (r->stop)
            break;
        if (!r->has_pend) {
            pthread_cond_wait(&r->cond, &r->lock);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = due - mono_s();
            ts.tv_sec += (time_t)wait;
            ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

void fleet_report_progress(fleet_reporter *r, const fleet_progress *p)
{
    if (!r || !r->thread_on)
        return;
    pthread_mutex_lock(&r->lock);
    r->pend = *p;
    snprintf(r->pend_stage, sizeof r->pend_stage, "%s", p->stage ? p->stage : "copy");
    r->pend.stage = NULL;
    /* the first of a stage and its end are worth sending at once */
    if (strcmp(r->pend_stage, r->last_stage) || p->bytes_done >= p->bytes_total)
        r->urgent = true;
    memcpy(r->last_stage, r->pend_stage, sizeof r->last_stage);
    r->has_pend = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void stop_thread(fleet_reporter *r)
{
    if (!r->thread_on)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->thread_on = false;
}

int fleet_report_start(fleet_reporter *r, p2v_err *err)
{
    fleet_event e = { .kind = FLEET_START };
    int rc = send_important(r, &e, err);
    if (rc < 0)
        return rc;
    if (pthread_create(&r->thread, NULL, progress_thread, r) == 0)
        r->thread_on = true;
    else
        warn(r, "%s%s", "no progress reports: cannot start a thread", "");
    return 0;
}

int fleet_report_finish(fleet_reporter *r, void (*result)(json_writer *j, void *ctx), void *ctx,
                        p2v_err *err)
{
    if (r->ended)
        return 0;
    stop_thread(r);
    r->ended = true;
    fleet_event e = { .kind = FLEET_FINISH, .result = result, .result_ctx = ctx };
    return send_important(r, &e, err);
}

int fleet_report_failed(fleet_reporter *r, const char *error, p2v_err *err)
{
    if (r->ended)
        return 0;
    stop_thread(r);
    r->ended = true;
    fleet_event e = { .kind = FLEET_FAILED, .error = error };
    return send_important(r, &e, err);
}

bool fleet_reporter_ended(const fleet_reporter *r)
{
    return r->ended;
}

/* ---- the reporter ---- */

static void global_init(void)
{
    curl.f.curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl wants its global setup once, before any transfer. */
static int load_curl(p2v_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int rc = optlib_load(&curl_lib, err);
    if (rc < 0)
        return rc;
    pthread_once(&once, global_init);
    return 0;
}

static void make_run_id(char *out)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy source: time and pid still tell runs apart */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        unsigned long long v[2] = { (unsigned long long)t.tv_sec * 1000000000ULL +
                                        (unsigned long long)t.tv_nsec,
                                    (unsigned long long)getpid() };
        memcpy(b, v, sizeof b);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int check_url(const char *url, p2v_err *err)
{
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return p2v_errf(err, -EINVAL, "%s: not an http:// or https:// URL", url);
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return p2v_errf(err, -EINVAL, "%s: a blank or control character in the URL", url);
    return 0;
}

int fleet_reporter_open(const fleet_opts *o, fleet_reporter **out, p2v_err *err)
{
    *out = NULL;
    int rc = check_url(o->url, err);
    if (rc < 0)
        return rc;
    fleet_reporter *r = calloc(1, sizeof *r);
    if (!r || !(r->url = strdup(o->url))) {
        free(r);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->timeout = o->io_timeout ? o->io_timeout : FLEET_IO_TIMEOUT_DEFAULT;
    r->warn = o->warn;
    r->ctx = o->ctx;
    /* a CA file that cannot be read is said now, not after five tries */
    if (o->ca_file && (access(o->ca_file, R_OK) < 0 || !(r->ca_file = strdup(o->ca_file)))) {
        rc = p2v_errf(err, errno ? -errno : -ENOMEM, "%s: %s", o->ca_file, strerror(errno));
        fleet_reporter_free(r);
        return rc;
    }
    if ((o->token_file && (rc = fleet_token_read(o->token_file, r->token, sizeof r->token, err))) ||
        (rc = load_curl(err)) < 0) {
        fleet_reporter_free(r);
        return rc;
    }
    struct vm_machine m;
    vm_machine_read(o->machine_root ? o->machine_root : "/", &m, NULL);
    fleet_pc_from_machine(&m, &r->pc);
    make_run_id(r->run);
    fleet_time_now(r->started, sizeof r->started);
    r->t_open = mono_s();
    *out = r;
    return 0;
}

static void free_roles(fleet_reporter *r)
{
    for (size_t i = 0; r->roles && i < r->nsel; i++)
        free(r->roles[i]);
    free(r->roles);
    r->roles = NULL;
}

/* The selection and the roles set for it. */
static void free_selection(fleet_reporter *r)
{
    free_roles(r);
    for (size_t i = 0; i < r->nsel; i++)
        free(r->sel[i]);
    free(r->sel);
    r->sel = NULL;
    r->nsel = 0;
}

int fleet_reporter_set_names(fleet_reporter *r, const char *computername,
                             const char *output_template, const char *const *roles, size_t n,
                             p2v_err *err)
{
    snprintf(r->pc.computername, sizeof r->pc.computername, "%s",
             computername ? computername : "");
    free(r->output_template);
    r->output_template = output_template ? strdup(output_template) : NULL;
    free_roles(r);
    if (roles && n == r->nsel && n)
        r->roles = calloc(n, sizeof *r->roles);
    for (size_t i = 0; r->roles && i < n; i++)
        if (!(r->roles[i] = strdup(roles[i] ? roles[i] : "")))
            return p2v_errf(err, -ENOMEM, "out of memory");
    if ((output_template && !r->output_template) || (roles && n == r->nsel && n && !r->roles))
        return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

int fleet_reporter_set_job(fleet_reporter *r, const char *output, const char *const *selection,
                           size_t n, p2v_err *err)
{
    free_selection(r);   /* the roles go with the selection they were set for */
    free(r->output);
    r->output = output ? strdup(output) : NULL;
    r->sel = n ? calloc(n, sizeof *r->sel) : NULL;
    if ((output && !r->output) || (n && !r->sel))
        return p2v_errf(err, -ENOMEM, "out of memory");
    for (; r->nsel < n; r->nsel++)
        if (!(r->sel[r->nsel] = strdup(selection[r->nsel])))
            return p2v_errf(err, -ENOMEM, "out of memory");
    return 0;
}

const fleet_pc *fleet_reporter_pc(const fleet_reporter *r)
{
    return &r->pc;
}

const char *fleet_reporter_run(const fleet_reporter *r)
{
    return r->run;
}

void fleet_reporter_free(fleet_reporter *r)
{
    if (!r)
        return;
    stop_thread(r);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free_selection(r);
    free(r->output_template);
    free(r->output);
    free(r->url);
    free(r->ca_file);
    free(r);
}

/* ---- GET ---- */

struct grow {
    char *buf;
    size_t len;
    bool oom;
};

static size_t on_get(char *data, size_t size, size_t n, void *ctx)
{
    struct grow *g = ctx;
    size_t len = size * n;
    char *nb = g->len + len < (64u << 20) ? realloc(g->buf, g->len + len + 1) : NULL;
    if (!nb) {
        g->oom = true;
        return 0;
    }
    memcpy(nb + g->len, data, len);
    g->buf = nb;
    g->len += len;
    g->buf[g->len] = 0;
    return len;
}

int fleet_http_get(const char *url, unsigned io_timeout, const char *ca_file, char **body,
                   size_t *len, p2v_err *err)
{
    int rc = check_url(url, err);
    if (rc < 0 || (rc = load_curl(err)) < 0)
        return rc;
    CURL *c = curl.f.curl_easy_init();
    if (!c)
        return p2v_errf(err, -ENOMEM, "cannot start an HTTP request");
    struct grow g = { NULL, 0, false };
    char cerr[CURL_ERROR_SIZE] = "";
    long t = io_timeout ? (long)io_timeout : FLEET_IO_TIMEOUT_DEFAULT;
    long status;
    CURLcode cc = perform(c, url, ca_file, t, on_get, &g, cerr, &status);
    if (cc != CURLE_OK || status < 200 || status >= 300 || !g.buf) {
        free(g.buf);
        if (cc != CURLE_OK)
            return p2v_errf(err, -EIO, "%s: %s", url,
                            g.oom ? "answer too large" : cerr[0] ? cerr : curl.f.curl_easy_strerror(cc));
        return p2v_errf(err, -EIO, "%s: HTTP %ld", url, status);
    }
    *body = g.buf;
    *len = g.len;
    return 0;
}
