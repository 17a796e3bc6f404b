/* The fleet server's HTTP side (libmicrohttpd, opened with dlopen; HTTPS
 * with --tls-cert/--tls-key through its GnuTLS): POST /api/report with the
 * token, GET /, /app.js, /api/pcs, /api/pcs/ID, the boot files of --live and
 * the screenshots of --boot-check (/checks/ID.png, by the check's number);
 * nothing else exists, and no path a client names is ever opened. A report is refused
 * before its body is read when the token is wrong (401), when it announces
 * more than FLEET_BODY_MAX (413) or when FLEET_QUEUE_MAX requests are already
 * being received (429); a client that stops sending is dropped after
 * io_timeout seconds. */
#include "fleet/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/optlib.h"

#define MHD_FNS(X)                                                                                 \
    X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_create_response_from_buffer)                      \
    X(MHD_add_response_header) X(MHD_queue_response) X(MHD_destroy_response)                       \
    X(MHD_lookup_connection_value) X(MHD_get_daemon_info) X(MHD_create_response_from_fd)        \
    X(MHD_is_feature_supported)
static OPTLIB_TABLE(mhd_fns, MHD_FNS) mhd;
OPTLIB(mhd_lib, P2V_SONAME_MHD, "p2v fleet serve (libmicrohttpd)", MHD_FNS, mhd);

struct server {
    fleet_store *store;
    char token[FLEET_TOKEN_MAX + 1];
    atomic_int inflight;
    const fleet_serve_opts *o;
    char listen[64];                /* ADDR:PORT as bound */
};

struct req {
    char *buf;
    size_t len;
    bool too_big, counted;
};

static void say(struct server *sv, const char *fmt, const char *a, const char *b)
{
    char msg[2048];
    snprintf(msg, sizeof msg, fmt, a, b);
    if (sv->o->log)
        sv->o->log(sv->o->ctx, msg);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r =
        mhd.f.MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    mhd.f.MHD_add_response_header(r, "Content-Type", type);
    mhd.f.MHD_add_response_header(r, "Cache-Control", "no-store");
    mhd.f.MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* the page's own script file and fetches, its own images, no inline script */
    mhd.f.MHD_add_response_header(r, "Content-Security-Policy",
                                  "default-src 'none'; style-src 'unsafe-inline'; "
                                  "script-src 'self'; connect-src 'self'; img-src 'self'");
    enum MHD_Result rc = mhd.f.MHD_queue_response(c, status, r);
    mhd.f.MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    char *b = NULL;
    size_t n = (size_t)asprintf(&b, "%s\n", text);
    return b ? reply(c, status, "text/plain; charset=utf-8", b, n) : MHD_NO;
}

/* Constant time, so the answer's timing tells nothing of the token. */
static bool token_ok(const struct server *sv, const char *auth)
{
    if (!auth || strncmp(auth, "Bearer ", 7))
        return false;
    auth += 7;
    size_t a = strlen(auth), t = strlen(sv->token);
    unsigned char d = a != t;
    for (size_t i = 0; i < t; i++)
        d |= (unsigned char)(sv->token[i] ^ auth[i < a ? i : 0]);
    return d == 0;
}

/* One of the files the server was told about (never a name from the URL). */
static enum MHD_Result send_file(struct MHD_Connection *c, const char *path, const char *type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found");
    }
    struct MHD_Response *r = mhd.f.MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    mhd.f.MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = mhd.f.MHD_queue_response(c, MHD_HTTP_OK, r);
    mhd.f.MHD_destroy_response(r);
    return rc;
}

/* The live file called name: DIR/name or DIR/live/name. */
static enum MHD_Result live_file(struct server *sv, struct MHD_Connection *c, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", sv->o->live_dir, name);
    if (stat(path, &st) < 0)
        snprintf(path, sizeof path, "%s/live/%s", sv->o->live_dir, name);
    return send_file(c, path, "application/octet-stream");
}

/* http://HOST as the client named the server, when it is a plain host[:port];
 * else the address it listens on. */
static void base_url(struct server *sv, struct MHD_Connection *c, char *out, size_t len)
{
    const char *h = mhd.f.MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (h && *h && strlen(h) < 200 &&
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(h))
        snprintf(out, len, "%s://%s", sv->o->tls_cert ? "https" : "http", h);
    else
        snprintf(out, len, "%s://%s", sv->o->tls_cert ? "https" : "http", sv->listen);
}

static enum MHD_Result boot_files(struct server *sv, struct MHD_Connection *c, const char *url)
{
    static const char *const live[] = { "/live/vmlinuz", "/live/initrd.img",
                                        "/live/filesystem.squashfs" };
    if (!strcmp(url, "/boot.ipxe")) {
        char base[256], *b = NULL;
        size_t n = 0;
        base_url(sv, c, base, sizeof base);
        FILE *f = open_memstream(&b, &n);
        if (!f)
            return MHD_NO;
        fleet_ipxe_script(sv->o, base, sv->token, f);
        fclose(f);
        return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", b, n);
    }
    if (!strcmp(url, "/plan.json") && sv->o->plan)
        return send_file(c, sv->o->plan, "application/json");
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(url, live[i]))
            return live_file(sv, c, live[i] + 6);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found");
}

/* /checks/ID.png: the last screenshot of boot check ID, in DIR/checks/ID under
 * the name the database keeps (checked when it was stored). */
static enum MHD_Result check_shot(struct server *sv, struct MHD_Connection *c, const char *url)
{
    const char *id = url + 8;
    size_t n = strspn(id, "0123456789");
    char name[64], path[4300];
    if (n == 0 || n > 17 || strcmp(id + n, ".png") ||
        fleet_store_check_shot(sv->store, strtoll(id, NULL, 10), name, sizeof name) < 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found");
    snprintf(path, sizeof path, "%s/checks/%lld/%s", sv->o->dir, strtoll(id, NULL, 10), name);
    return send_file(c, path, "image/png");
}

static enum MHD_Result get(struct server *sv, struct MHD_Connection *c, const char *url)
{
    if (!strcmp(url, "/app.js"))
        return reply(c, MHD_HTTP_OK, "text/javascript; charset=utf-8", strdup(fleet_page_js),
                     strlen(fleet_page_js));
    if (!strncmp(url, "/checks/", 8))
        return check_shot(sv, c, url);
    if (sv->o->live_dir && (!strcmp(url, "/boot.ipxe") || !strcmp(url, "/plan.json") ||
                            !strncmp(url, "/live/", 6)))
        return boot_files(sv, c, url);
    if (sv->o->plan && !strcmp(url, "/plan.json"))
        return boot_files(sv, c, url);
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    if (!f)
        return MHD_NO;
    p2v_err err = { { 0 } };
    int rc = -ENOENT;
    const char *type = "application/json";
    if (!strcmp(url, "/")) {
        rc = fleet_page_html(sv->store, f, &err);
        type = "text/html; charset=utf-8";
    } else if (!strcmp(url, "/api/pcs")) {
        rc = fleet_pcs_json(sv->store, f, &err);
    } else if (!strncmp(url, "/api/pcs/", 9) && url[9] && strlen(url + 9) < 18 &&
               strspn(url + 9, "0123456789") == strlen(url + 9)) {
        rc = fleet_pc_json(sv->store, strtoll(url + 9, NULL, 10), f, &err);
    }
    fclose(f);
    if (rc == 0)
        return reply(c, MHD_HTTP_OK, type, b, n);
    free(b);
    if (rc == -ENOENT)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found");
    say(sv, "%s%s", err.msg, "");
    return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err.msg);
}

/* The first call for a report: everything that can be refused before the body. */
static enum MHD_Result report_begin(struct server *sv, struct MHD_Connection *c, void **cls)
{
    if (!token_ok(sv, mhd.f.MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")))
        return reply_text(c, MHD_HTTP_UNAUTHORIZED, "bad token");
    const char *cl = mhd.f.MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > FLEET_BODY_MAX)
        return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "report larger than 1 MiB");
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    *cls = r;
    r->counted = true;
    if (atomic_fetch_add(&sv->inflight, 1) >= FLEET_QUEUE_MAX)
        return reply_text(c, MHD_HTTP_TOO_MANY_REQUESTS, "busy: try again");
    return MHD_YES;
}

static enum MHD_Result report_end(struct server *sv, struct MHD_Connection *c, struct req *r)
{
    if (r->too_big)
        return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "report larger than 1 MiB");
    p2v_err err;
    int rc = fleet_store_ingest(sv->store, r->buf ? r->buf : "", r->len, &err);
    if (rc < 0) {
        say(sv, "report refused: %s%s", err.msg, "");
        /* -EINVAL: the report is wrong; anything else (the database, memory) is ours */
        return reply_text(c, rc == -EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                          err.msg);
    }
    return reply_text(c, MHD_HTTP_OK, "stored");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    struct server *sv = cls;
    (void)version;
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return get(sv, c, url);
    if (strcmp(method, "POST"))
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or POST");
    if (strcmp(url, "/api/report"))
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found");
    struct req *r = *req_cls;
    if (!r)
        return report_begin(sv, c, req_cls);
    if (*size) {
        if (!r->too_big && r->len + *size <= FLEET_BODY_MAX) {
            char *nb = realloc(r->buf, r->len + *size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + r->len, data, *size);
            r->buf = nb;
            r->len += *size;
            r->buf[r->len] = 0;
        } else {
            r->too_big = true;
            free(r->buf);
            r->buf = NULL;
            r->len = 0;
        }
        *size = 0;
        return MHD_YES;
    }
    return report_end(sv, c, r);
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode code)
{
    struct server *sv = cls;
    struct req *r = *req_cls;
    (void)c;
    (void)code;
    if (!r)
        return;
    if (r->counted)
        atomic_fetch_sub(&sv->inflight, 1);
    free(r->buf);
    free(r);
    *req_cls = NULL;
}

/* ADDR:PORT, IPv4; 127.0.0.1:8080 when not given. */
static int parse_listen(const char *s, struct sockaddr_in *a, p2v_err *err)
{
    char host[64];
    const char *colon = s ? strrchr(s, ':') : NULL;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    if (!s) {
        a->sin_port = htons(8080);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    char *end;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host || !colon[1] || *end ||
        port > 65535)
        return p2v_errf(err, -EINVAL, "--listen %s: not ADDR:PORT (e.g. 127.0.0.1:8080)", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return p2v_errf(err, -EINVAL, "--listen %s: %s is not an IPv4 address", s, host);
    a->sin_port = htons((uint16_t)port);
    return 0;
}

/* A key is wiped before its memory goes back. */
static void pem_free(char *pem)
{
    if (pem) {
        explicit_bzero(pem, strlen(pem));
        free(pem);
    }
}

/* A PEM file read whole (certificates and keys are a few KiB). */
static int read_pem(const char *what, const char *path, char **out, p2v_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return p2v_errf(err, -errno, "%s %s: %s", what, path, strerror(errno));
    char *buf = malloc(FLEET_PEM_MAX + 2);
    size_t n = buf ? fread(buf, 1, FLEET_PEM_MAX + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf)
        return p2v_errf(err, -ENOMEM, "out of memory");
    buf[n] = 0;
    if (bad || n == 0 || n > FLEET_PEM_MAX || !strstr(buf, "-----BEGIN ")) {
        pem_free(buf);
        return p2v_errf(err, -EINVAL, "%s %s: not a PEM file of at most %u KiB", what, path,
                        FLEET_PEM_MAX >> 10);
    }
    *out = buf;
    return 0;
}

/* HTTPS needs a libmicrohttpd built with GnuTLS (Debian's is). */
static int tls_load(const fleet_serve_opts *o, char **cert, char **key, p2v_err *err)
{
    *cert = *key = NULL;
    if (!o->tls_cert && !o->tls_key)
        return 0;
    if (!o->tls_cert || !o->tls_key)
        return p2v_errf(err, -EINVAL, "--tls-cert and --tls-key go together");
    if (mhd.f.MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return p2v_errf(err, -ENOTSUP, "this libmicrohttpd was built without TLS: "
                        "--tls-cert cannot be served (use a TLS proxy, docs/fleet.md)");
    int rc = read_pem("--tls-cert", o->tls_cert, cert, err);
    if (rc == 0 && (rc = read_pem("--tls-key", o->tls_key, key, err)) < 0) {
        pem_free(*cert);
        *cert = NULL;
    }
    return rc;
}

static struct MHD_Daemon *start_daemon(struct server *sv, const struct sockaddr_in *addr,
                                       const char *cert, const char *key)
{
    unsigned timeout = sv->o->io_timeout ? sv->o->io_timeout : FLEET_IO_TIMEOUT_DEFAULT;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (cert ? MHD_USE_TLS : 0);
    /* MHD_OPTION_HTTPS_MEM_* only with TLS: the list ends early without it */
    return mhd.f.MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, sv, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
        MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, 512u,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, sv,
        cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_END);
}

int fleet_serve(const fleet_serve_opts *o, p2v_err *err)
{
    static struct server sv;
    struct sockaddr_in addr;
    int rc = parse_listen(o->listen, &addr, err);
    if (rc < 0)
        return rc;
    memset(&sv, 0, sizeof sv);
    sv.o = o;
    char *cert = NULL, *key = NULL;
    if ((rc = fleet_token_read(o->token_file, sv.token, sizeof sv.token, err)) < 0 ||
        (rc = optlib_load(&mhd_lib, err)) < 0 || (rc = tls_load(o, &cert, &key, err)) < 0)
        return rc;
    if ((rc = fleet_store_open(o->dir, &sv.store, err)) < 0) {
        pem_free(cert);
        pem_free(key);
        return rc;
    }
    if (o->boot_check)
        fleet_store_check_images(sv.store, o->output);
    struct MHD_Daemon *d = start_daemon(&sv, &addr, cert, key);
    if (!d) {
        bool tls = cert != NULL;
        fleet_store_close(sv.store);
        pem_free(cert);
        pem_free(key);
        if (tls)
            return p2v_errf(err, -EINVAL, "cannot start HTTPS on %s: in use, or --tls-cert %s "
                            "and --tls-key %s are not a certificate and its key",
                            o->listen ? o->listen : "127.0.0.1:8080", o->tls_cert, o->tls_key);
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
        return p2v_errf(err, -EADDRINUSE, "cannot listen on %s:%u (in use, or not an address "
                        "of this machine)", host, ntohs(addr.sin_port));
    }
    /* the queue resumes only once this server is the one listening */
    fleet_checker *ck = NULL;
    if (o->boot_check) {
        if ((rc = fleet_checker_start(sv.store, o, &ck, err)) < 0) {
            mhd.f.MHD_stop_daemon(d);
            fleet_store_close(sv.store);
            pem_free(cert);
            pem_free(key);
            return rc;
        }
    }
    const union MHD_DaemonInfo *info = mhd.f.MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
    unsigned port = info ? info->port : ntohs(addr.sin_port);
    snprintf(sv.listen, sizeof sv.listen, "%s:%u", host, port);
    if (o->ready)
        o->ready(o->ctx, host, port);
    while (!*o->stop)
        usleep(100000);
    mhd.f.MHD_stop_daemon(d);
    fleet_checker_stop(ck);
    fleet_store_close(sv.store);
    pem_free(cert);
    pem_free(key);
    return 0;
}
