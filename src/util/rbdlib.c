#include "util/rbdlib.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
