#include "util/rbdlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

union radoslib_fns radoslib;
union rbdlib_fns rbdlib;
OPTLIB(radoslib_lib, P2V_SONAME_RADOS, "Ceph RBD", RADOSLIB_FNS, radoslib);
OPTLIB(rbdlib_lib, P2V_SONAME_RBD, "Ceph RBD", RBDLIB_FNS, rbdlib);

int rbdlib_load(p2v_err *err)
{
    int r = optlib_load(&radoslib_lib, err);
    return r < 0 ? r : optlib_load(&rbdlib_lib, err);
}

bool rbdlib_is_target(const char *s) { return s && !strncmp(s, "rbd:", 4); }

/* Copy the next field of *p up to one of stops (unescaping "\:" "\@" "\\")
 * into out; *p is left on the stop character or the end. */
static int take_field(const char **p, const char *stops, char *out, size_t len, const char *what,
                      const char *spec, p2v_err *err)
{
    size_t n = 0;
    const char *s = *p;
    while (*s && !strchr(stops, *s)) {
        char c = *s++;
        if (c == '\\') {
            if (!*s)
                return p2v_errf(err, -EINVAL, "%s: a '\\' ends the %s", spec, what);
            c = *s++;
        }
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return p2v_errf(err, -EINVAL, "%s: a control character in the %s", spec, what);
        if (n + 1 >= len)
            return p2v_errf(err, -ENAMETOOLONG, "%s: the %s is longer than %zu bytes", spec, what,
                            len - 1);
        out[n++] = c;
    }
    out[n] = 0;
    *p = s;
    return 0;
}

static int take_option(const char **p, struct rbd_target *t, const char *spec, p2v_err *err)
{
    static const struct {
        const char *key;
        size_t off, len;
    } keys[] = {
        { "conf", offsetof(struct rbd_target, conf), RBD_PATH_MAX },
        { "id", offsetof(struct rbd_target, id), RBD_NAME_MAX },
        { "keyring", offsetof(struct rbd_target, keyring), RBD_PATH_MAX },
    };
    char key[32];
    int r = take_field(p, "=:", key, sizeof key, "option name", spec, err);
    if (r < 0)
        return r;
    if (**p != '=')
        return p2v_errf(err, -EINVAL, "%s: option '%s' has no '=VALUE'", spec, key);
    (*p)++;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(key, keys[i].key))
            continue;
        char *dst = (char *)t + keys[i].off;
        if (*dst)
            return p2v_errf(err, -EINVAL, "%s: option '%s' given twice", spec, key);
        if ((r = take_field(p, ":", dst, keys[i].len, key, spec, err)) < 0)
            return r;
        if (!*dst)
            return p2v_errf(err, -EINVAL, "%s: option '%s' is empty", spec, key);
        return 0;
    }
    return p2v_errf(err, -EINVAL, "%s: unknown option '%s' (conf, id and keyring are known)", spec,
                    key);
}

int rbdlib_parse(const char *spec, struct rbd_target *t, p2v_err *err)
{
    char parts[3][RBD_NAME_MAX];
    int n = 0, r;
    memset(t, 0, sizeof *t);
    if (!rbdlib_is_target(spec))
        return p2v_errf(err, -EINVAL, "%s: not an rbd: image", spec);
    const char *p = spec + 4;
    for (;;) {
        if ((r = take_field(&p, "/@:", parts[n], sizeof parts[n], "pool or image name", spec,
                            err)) < 0)
            return r;
        if (!parts[n][0])
            return p2v_errf(err, -EINVAL, "%s: an empty name (expected rbd:POOL/IMAGE or "
                                          "rbd:POOL/NAMESPACE/IMAGE)", spec);
        n++;
        if (*p != '/')
            break;
        if (n == 3)
            return p2v_errf(err, -EINVAL, "%s: more than POOL/NAMESPACE/IMAGE", spec);
        p++;
    }
    if (n < 2)
        return p2v_errf(err, -EINVAL, "%s: no image name (expected rbd:POOL/IMAGE)", spec);
    strcpy(t->pool, parts[0]);
    if (n == 3)
        strcpy(t->ns, parts[1]);
    strcpy(t->image, parts[n - 1]);
    if (*p == '@') {
        p++;
        if ((r = take_field(&p, ":", t->snap, sizeof t->snap, "snapshot name", spec, err)) < 0)
            return r;
        if (!t->snap[0])
            return p2v_errf(err, -EINVAL, "%s: an empty snapshot name", spec);
    }
    while (*p == ':') {
        p++;
        if ((r = take_option(&p, t, spec, err)) < 0)
            return r;
    }
    if (*p)
        return p2v_errf(err, -EINVAL, "%s: unexpected '%c' at byte %zu", spec, *p,
                        (size_t)(p - spec));
    if (strlen(t->image) + strlen(RBD_PARTIAL_SUFFIX) >= RBD_NAME_MAX)
        return p2v_errf(err, -ENAMETOOLONG, "%s: the image name is too long", spec);
    return 0;
}

const char *rbdlib_name(const struct rbd_target *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s%s%s%s%s", t->pool, t->ns, t->ns[0] ? "/" : "", t->image,
             t->snap[0] ? "@" : "", t->snap);
    return buf;
}

static int conf_set(struct rbd_conn *c, const char *k, const char *v, p2v_err *err)
{
    int r = radoslib.f.rados_conf_set(c->cluster, k, v);
    return r < 0 ? p2v_errf(err, r, "Ceph: cannot set %s = %s: %s", k, v, strerror(-r)) : 0;
}

static int configure(const struct rbd_target *t, unsigned connect_s, unsigned io_s,
                     struct rbd_conn *c, p2v_err *err)
{
    char tmo[16], iot[16];
    int r = radoslib.f.rados_conf_read_file(c->cluster, t->conf[0] ? t->conf : NULL);
    if (r < 0 && t->conf[0])
        return p2v_errf(err, r, "Ceph: cannot read the configuration %s: %s", t->conf,
                        strerror(-r));
    radoslib.f.rados_conf_parse_env(c->cluster, NULL);
    if (t->keyring[0] && (r = conf_set(c, "keyring", t->keyring, err)) < 0)
        return r;
    snprintf(tmo, sizeof tmo, "%u", connect_s);
    snprintf(iot, sizeof iot, "%u", io_s);
    if ((r = conf_set(c, "client_mount_timeout", tmo, err)) < 0 ||
        (r = conf_set(c, "rados_mon_op_timeout", tmo, err)) < 0 ||
        (r = conf_set(c, "rados_osd_op_timeout", iot, err)) < 0)
        return r;
    /* librbd may send a write straight from the caller's buffer (the sink
     * keeps it until the write completes) instead of copying it first */
    if ((r = conf_set(c, "rbd_disable_zero_copy_writes", "false", err)) < 0)
        return r;
    /* librados prints its own warnings to stderr; p2v says what went wrong itself */
    if ((r = conf_set(c, "log_to_stderr", "false", err)) < 0)
        return r;
    return conf_set(c, "err_to_stderr", "false", err);
}

int rbdlib_connect(const struct rbd_target *t, unsigned connect_s, unsigned io_s,
                   struct rbd_conn *c, p2v_err *err)
{
    char name[RBD_FULLNAME_MAX];
    int r;
    memset(c, 0, sizeof *c);
    rbdlib_name(t, name, sizeof name);
    if ((r = rbdlib_load(err)) < 0)
        return p2v_err_prefix(err, r, "rbd:%s", name);
    if ((r = radoslib.f.rados_create(&c->cluster, t->id[0] ? t->id : NULL)) < 0) {
        c->cluster = NULL;
        return p2v_errf(err, r, "rbd:%s: cannot create a Ceph client: %s", name, strerror(-r));
    }
    if ((r = configure(t, connect_s, io_s, c, err)) < 0)
        goto fail;
    if ((r = radoslib.f.rados_connect(c->cluster)) < 0) {
        p2v_errf(err, r, "rbd:%s: cannot connect to the Ceph cluster (%s%s): %s%s", name,
                 t->conf[0] ? "configuration " : "default configuration",
                 t->conf[0] ? t->conf : "", strerror(-r),
                 r == -ETIMEDOUT ? "; no monitor answered within --rbd-timeout" : "");
        goto fail;
    }
    if (radoslib.f.rados_cluster_fsid(c->cluster, c->fsid, sizeof c->fsid) < 0)
        c->fsid[0] = 0;
    if ((r = radoslib.f.rados_ioctx_create(c->cluster, t->pool, &c->io)) < 0) {
        c->io = NULL;
        p2v_errf(err, r, "rbd:%s: cannot open pool '%s': %s", name, t->pool,
                 r == -ENOENT ? "no such pool" : strerror(-r));
        goto fail;
    }
    radoslib.f.rados_ioctx_set_namespace(c->io, t->ns[0] ? t->ns : NULL);
    /* without it a write to a pool over its quota waits for room (until
     * --io-timeout) instead of failing with -EDQUOT */
    radoslib.f.rados_set_pool_full_try(c->io);
    return 0;
fail:
    rbdlib_disconnect(c);
    return r;
}

/* Append s to buf at *n with the spelling's escapes; false when it does not fit. */
static bool spell_put(char *buf, size_t len, size_t *n, const char *s, bool escape)
{
    for (; *s; s++) {
        bool esc = escape && (*s == ':' || *s == '@' || *s == '\\' || *s == '/');
        if (*n + 2 + esc >= len)
            return false;
        if (esc)
            buf[(*n)++] = '\\';
        buf[(*n)++] = *s;
    }
    buf[*n] = 0;
    return true;
}

int rbdlib_spell(const struct rbd_target *t, const char *image, char *buf, size_t len)
{
    size_t n = 0;
    bool ok = spell_put(buf, len, &n, "rbd:", false) && spell_put(buf, len, &n, t->pool, true) &&
              spell_put(buf, len, &n, "/", false);
    if (ok && t->ns[0])
        ok = spell_put(buf, len, &n, t->ns, true) && spell_put(buf, len, &n, "/", false);
    ok = ok && spell_put(buf, len, &n, image ? image : t->image, true);
    if (ok && !image && t->snap[0])
        ok = spell_put(buf, len, &n, "@", false) && spell_put(buf, len, &n, t->snap, true);
    const char *keys[] = { ":conf=", ":id=", ":keyring=" };
    const char *vals[] = { t->conf, t->id, t->keyring };
    for (int i = 0; ok && i < 3; i++)
        if (vals[i][0])
            ok = spell_put(buf, len, &n, keys[i], false) && spell_put(buf, len, &n, vals[i], true);
    return ok ? 0 : -ENAMETOOLONG;
}

int rbdlib_features_parse(const char *list, uint64_t *features, p2v_err *err)
{
    static const struct {
        const char *name;
        uint64_t bit;
    } names[] = { { "layering", RBD_FEATURE_LAYERING },
                  { "exclusive-lock", RBD_FEATURE_EXCLUSIVE_LOCK },
                  { "object-map", RBD_FEATURE_OBJECT_MAP },
                  { "fast-diff", RBD_FEATURE_FAST_DIFF },
                  { "deep-flatten", RBD_FEATURE_DEEP_FLATTEN },
                  { "journaling", RBD_FEATURE_JOURNALING } };
    uint64_t f = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t i = 0;
        while (i < sizeof names / sizeof names[0] &&
               (strlen(names[i].name) != n || strncmp(p, names[i].name, n)))
            i++;
        if (i == sizeof names / sizeof names[0])
            return p2v_errf(err, -EINVAL, "--rbd-features: unknown feature '%.*s' (layering, "
                                          "exclusive-lock, object-map, fast-diff, deep-flatten, "
                                          "journaling)", (int)n, p);
        f |= names[i].bit;
        p += n + (p[n] == ',');
    }
    /* librbd's own dependencies, refused here in one line rather than by the cluster */
    if ((f & RBD_FEATURE_OBJECT_MAP) && !(f & RBD_FEATURE_EXCLUSIVE_LOCK))
        return p2v_errf(err, -EINVAL, "--rbd-features: object-map needs exclusive-lock");
    if ((f & RBD_FEATURE_FAST_DIFF) && !(f & RBD_FEATURE_OBJECT_MAP))
        return p2v_errf(err, -EINVAL, "--rbd-features: fast-diff needs object-map");
    if ((f & RBD_FEATURE_JOURNALING) && !(f & RBD_FEATURE_EXCLUSIVE_LOCK))
        return p2v_errf(err, -EINVAL, "--rbd-features: journaling needs exclusive-lock");
    if (!f)
        return p2v_errf(err, -EINVAL, "--rbd-features: no feature named (give at least layering)");
    *features = f;
    return 0;
}

void rbdlib_disconnect(struct rbd_conn *c)
{
    if (c->io)
        radoslib.f.rados_ioctx_destroy(c->io);
    if (c->cluster)
        radoslib.f.rados_shutdown(c->cluster);
    c->io = NULL;
    c->cluster = NULL;
}

/* The unsigned number after "key": in a monitor's JSON answer; 0 if absent. */
static unsigned long long json_number(const char *json, size_t len, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = memmem(json, len, k, strlen(k));
    return p ? strtoull(p + strlen(k), NULL, 10) : 0;
}

void rbdlib_space_why(const struct rbd_conn *c, const char *pool, int r, char *buf, size_t len)
{
    char cmd[RBD_NAME_MAX + 96];
    const char *cmds[] = { cmd };
    char *out = NULL, *st = NULL;
    size_t outlen = 0, stlen = 0;
    unsigned long long bytes = 0, objects = 0;
    snprintf(cmd, sizeof cmd, "{\"prefix\": \"osd pool get-quota\", \"pool\": \"%s\", "
             "\"format\": \"json\"}", pool);
    if (c->cluster && radoslib.f.rados_mon_command(c->cluster, cmds, 1, NULL, 0, &out, &outlen,
                                                   &st, &stlen) >= 0 && out) {
        bytes = json_number(out, outlen, "quota_max_bytes");
        objects = json_number(out, outlen, "quota_max_objects");
    }
    if (out)
        radoslib.f.rados_buffer_free(out);
    if (st)
        radoslib.f.rados_buffer_free(st);
    if (r == -EDQUOT || bytes || objects) {
        int n = snprintf(buf, len, "no space: pool '%s' is over its quota", pool);
        if (n >= 0 && (size_t)n < len && bytes)
            n += snprintf(buf + n, len - (size_t)n, " (max_bytes %llu%s", bytes,
                          objects ? "," : ")");
        if (n >= 0 && (size_t)n < len && objects)
            snprintf(buf + n, len - (size_t)n, "%smax_objects %llu)", bytes ? " " : " (", objects);
    } else {
        snprintf(buf, len, "no space: the cluster is full");
    }
}

/* ---- closing and removing an image on a thread the caller need not wait for ---- */

struct close_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rbd_conn conn;
    rbd_image_t img;
    char image[RBD_NAME_MAX];
    void (*done_fn)(void *);
    void *arg;
    struct timespec progress; /* CLOCK_MONOTONIC of the last sign of life */
    int r;
    bool done, abandoned;
};

/* Clients given up on, which the libraries' teardown must not meet: the
 * abandoned ones, and closes still running on a thread nobody waits for
 * (counted while j->abandoned holds). */
static int left_running;

static int removal_progress(uint64_t off, uint64_t total, void *arg)
{
    (void)off;
    (void)total;
    struct close_job *j = arg;
    pthread_mutex_lock(&j->mu);
    clock_gettime(CLOCK_MONOTONIC, &j->progress);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static void *close_main(void *arg)
{
    struct close_job *j = arg;
    int r = 0;
    if (j->img)
        rbdlib.f.rbd_close(j->img); /* waits for the writes in flight */
    if (j->done_fn)
        j->done_fn(j->arg);
    if (j->image[0]) {
        removal_progress(0, 0, j);
        r = rbdlib.f.rbd_remove_with_progress(j->conn.io, j->image, removal_progress, j);
        /* librbd moves an image to its trash first: over a pool quota that
         * fails, and it then reports -ENOENT for an image that is still there */
        rbd_image_t left;
        if (r < 0 && rbdlib.f.rbd_open_read_only(j->conn.io, j->image, &left, NULL) == 0) {
            rbdlib.f.rbd_close(left);
            r = r == -ENOENT ? -EIO : r;
        } else if (r == -ENOENT) {
            r = 0;
        }
    }
    rbdlib_disconnect(&j->conn);
    pthread_mutex_lock(&j->mu);
    j->r = r;
    j->done = true;
    bool gone = j->abandoned;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (gone) {
        __atomic_sub_fetch(&left_running, 1, __ATOMIC_SEQ_CST);
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
    }
    return NULL;
}

/* Wait for j while it shows progress at least every io_s seconds. */
static int close_wait(struct close_job *j, unsigned io_s)
{
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        struct timespec until = j->progress;
        until.tv_sec += io_s;
        if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec > j->progress.tv_sec + io_s ||
                (now.tv_sec == j->progress.tv_sec + io_s && now.tv_nsec >= j->progress.tv_nsec))
                break;
        }
    }
    bool done = j->done;
    int r = j->r;
    j->abandoned = !done;
    if (!done) /* under j->mu: close_main's uncount comes after this */
        __atomic_add_fetch(&left_running, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&j->mu);
    if (!done)
        return -ETIMEDOUT;
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
    return r;
}

/* Handles of a cluster that stopped answering: closing the image would wait
 * out the dead cluster once per step (releasing the lock, the object map,
 * the watch), and shutting the client down races with librbd's own threads,
 * which go on submitting the follow-ups of requests in flight (Ceph 16
 * aborts then: "FAILED ceph_assert(initialized)" in the Objecter). So the
 * client and the image are left as they are, kept reachable here, and the
 * process ends without running the libraries' teardown (rbdlib_left_running). */
static struct {
    struct rbd_conn conn;
    rbd_image_t img;
    void *keep;
} abandoned[8];
static unsigned nabandoned;
static pthread_mutex_t abandoned_mu = PTHREAD_MUTEX_INITIALIZER;

static void abandon(struct rbd_conn *c, rbd_image_t img, void *keep)
{
    pthread_mutex_lock(&abandoned_mu);
    if (nabandoned < sizeof abandoned / sizeof abandoned[0]) {
        abandoned[nabandoned].conn = *c;
        abandoned[nabandoned].img = img;
        abandoned[nabandoned++].keep = keep;
    }
    pthread_mutex_unlock(&abandoned_mu);
    __atomic_add_fetch(&left_running, 1, __ATOMIC_SEQ_CST);
    *c = (struct rbd_conn){ 0 };
}

bool rbdlib_left_running(void)
{
    return __atomic_load_n(&left_running, __ATOMIC_SEQ_CST) > 0;
}

int rbdlib_close_remove(struct rbd_conn *c, rbd_image_t img, const char *image, unsigned io_s,
                        void (*done)(void *arg), void *arg)
{
    if (!io_s) {
        abandon(c, img, arg);
        return image ? -ETIMEDOUT : 0;
    }
    struct close_job *j = calloc(1, sizeof *j);
    pthread_condattr_t ca;
    pthread_t th;
    if (!j)
        return -ENOMEM;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->conn = *c;
    *c = (struct rbd_conn){ 0 };
    j->img = img;
    bool wait = image && io_s;
    /* a cluster known dead: no removal at all, the caller names the image */
    snprintf(j->image, sizeof j->image, "%s", wait ? image : "");
    j->done_fn = done;
    j->arg = arg;
    clock_gettime(CLOCK_MONOTONIC, &j->progress);
    j->abandoned = !wait;
    if (j->abandoned)
        __atomic_add_fetch(&left_running, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&th, NULL, close_main, j) != 0) {
        if (j->abandoned)
            __atomic_sub_fetch(&left_running, 1, __ATOMIC_SEQ_CST);
        j->abandoned = false;
        close_main(j); /* no thread: do it here, unbounded */
        int r = j->r;
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return r;
    }
    pthread_detach(th);
    return wait ? close_wait(j, io_s) : image ? -ETIMEDOUT : 0;
}
