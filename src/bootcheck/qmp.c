/* A QMP client: one JSON object per line over qemu's unix socket. Replies
 * come in order; asynchronous events may arrive between them and are kept
 * for the caller. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bootcheck/bootcheck.h"

#define QMP_BUF (64 * 1024)
#define QMP_EVENTS 32

struct bootcheck_qmp {
    int fd;
    char buf[QMP_BUF];
    size_t len;
    bootcheck_qmp_msg events[QMP_EVENTS];
    size_t nevents;
    size_t events_dropped;
};

/* ---- parsing one message ------------------------------------------------- */

static void copy_str(char *dst, size_t cap, json_object *o)
{
    const char *s = o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
    snprintf(dst, cap, "%s", s);
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static int classify(json_object *root, bootcheck_qmp_msg *msg, p2v_err *err)
{
    json_object *v;
    if (member(root, "QMP")) {
        msg->kind = BOOTCHECK_QMP_GREETING;
    } else if ((v = member(root, "return")) != NULL) {
        msg->kind = BOOTCHECK_QMP_RETURN;
        copy_str(msg->status, sizeof msg->status, member(v, "status"));
    } else if ((v = member(root, "error")) != NULL) {
        msg->kind = BOOTCHECK_QMP_ERROR;
        copy_str(msg->desc, sizeof msg->desc, member(v, "desc"));
    } else if ((v = member(root, "event")) != NULL && json_object_is_type(v, json_type_string)) {
        msg->kind = BOOTCHECK_QMP_EVENT;
        copy_str(msg->event, sizeof msg->event, v);
        copy_str(msg->reason, sizeof msg->reason, member(member(root, "data"), "reason"));
    } else {
        return p2v_errf(err, -EINVAL, "QMP: message is neither greeting, reply nor event");
    }
    return 0;
}

int bootcheck_qmp_parse(const char *line, size_t len, bootcheck_qmp_msg *msg, p2v_err *err)
{
    memset(msg, 0, sizeof *msg);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0 || len > QMP_BUF)
        return p2v_errf(err, -EINVAL, "QMP: message of %zu bytes", len);
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return p2v_errf(err, -ENOMEM, "QMP: out of memory");
    json_object *root = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc;
    if (!root || jerr != json_tokener_success)
        rc = p2v_errf(err, -EINVAL, "QMP: not JSON: %s", json_tokener_error_desc(jerr));
    else if (used != len)
        rc = p2v_errf(err, -EINVAL, "QMP: %zu bytes after the JSON object", len - used);
    else if (!json_object_is_type(root, json_type_object))
        rc = p2v_errf(err, -EINVAL, "QMP: message is not a JSON object");
    else
        rc = classify(root, msg, err);
    json_object_put(root);
    return rc;
}

/* ---- the connection ------------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to timeout_ms for bytes and append them to the buffer. 0 when
 * something was read or the time passed, negative when the peer is gone. */
static int fill(bootcheck_qmp *q, int timeout_ms, p2v_err *err)
{
    struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : p2v_errf(err, -errno, "QMP: poll: %s", strerror(errno));
    if (n == 0)
        return 0;
    if (q->len == sizeof q->buf)
        return p2v_errf(err, -EPROTO, "QMP: a message longer than %d bytes", QMP_BUF);
    ssize_t got = read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
    if (got < 0)
        return errno == EINTR ? 0 : p2v_errf(err, -errno, "QMP: read: %s", strerror(errno));
    if (got == 0)
        return p2v_errf(err, -ECONNRESET, "QMP: qemu closed the connection");
    q->len += (size_t)got;
    return 0;
}

/* Take one complete line out of the buffer: 1 and *msg, 0 when none yet. */
static int take_line(bootcheck_qmp *q, bootcheck_qmp_msg *msg, p2v_err *err)
{
    char *nl = memchr(q->buf, '\n', q->len);
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - q->buf) + 1;
    int rc = bootcheck_qmp_parse(q->buf, n, msg, err);
    memmove(q->buf, q->buf + n, q->len - n);
    q->len -= n;
    return rc < 0 ? rc : 1;
}

static void keep_event(bootcheck_qmp *q, const bootcheck_qmp_msg *ev)
{
    if (q->nevents == QMP_EVENTS) {
        q->events_dropped++;
        return;
    }
    q->events[q->nevents++] = *ev;
}

/* Read until a message other than an event arrives (events are kept). */
static int read_reply(bootcheck_qmp *q, int timeout_ms, bootcheck_qmp_msg *msg, p2v_err *err)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int rc = take_line(q, msg, err);
        if (rc < 0)
            return rc;
        if (rc == 1 && msg->kind != BOOTCHECK_QMP_EVENT)
            return 0;
        if (rc == 1) {
            keep_event(q, msg);
            continue;
        }
        long long left = deadline - now_ms();
        if (left <= 0)
            return p2v_errf(err, -ETIMEDOUT, "QMP: no reply from qemu within %d ms", timeout_ms);
        if ((rc = fill(q, (int)left, err)) < 0)
            return rc;
    }
}

static int write_all(int fd, const char *s, size_t n, p2v_err *err)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return p2v_errf(err, -errno, "QMP: write: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int bootcheck_qmp_command(bootcheck_qmp *q, const char *json, int timeout_ms,
                          bootcheck_qmp_msg *reply, p2v_err *err)
{
    bootcheck_qmp_msg m;
    int rc;
    if ((rc = write_all(q->fd, json, strlen(json), err)) < 0 ||
        (rc = write_all(q->fd, "\n", 1, err)) < 0)
        return rc;
    if ((rc = read_reply(q, timeout_ms, &m, err)) < 0)
        return rc;
    if (reply)
        *reply = m;
    if (m.kind == BOOTCHECK_QMP_ERROR)
        return p2v_errf(err, -EIO, "QMP: qemu refused %s: %s", json, m.desc);
    if (m.kind != BOOTCHECK_QMP_RETURN)
        return p2v_errf(err, -EPROTO, "QMP: unexpected message in reply to %s", json);
    return 0;
}

int bootcheck_qmp_next_event(bootcheck_qmp *q, bootcheck_qmp_msg *ev, p2v_err *err)
{
    bootcheck_qmp_msg m;
    int rc, gone = 0;
    /* Take in all that has arrived; a closed connection is reported only
     * after the events read before it (qemu says SHUTDOWN, then goes), some
     * of which may already sit in the buffer from a command's reply. */
    for (;;) {
        while ((rc = take_line(q, &m, err)) == 1)
            if (m.kind == BOOTCHECK_QMP_EVENT)
                keep_event(q, &m);
        if (rc < 0)
            return rc;
        struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if ((rc = fill(q, 0, err)) < 0) {
            gone = rc;
            break;
        }
    }
    if (q->nevents == 0)
        return gone;
    *ev = q->events[0];
    memmove(q->events, q->events + 1, (q->nevents - 1) * sizeof q->events[0]);
    q->nevents--;
    return 1;
}

static int connect_once(const char *path, int *fd_out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *fd_out = fd;
    return 0;
}

static int connect_retry(const char *path, int timeout_ms, int *fd, p2v_err *err)
{
    long long deadline = now_ms() + timeout_ms;
    int rc;
    while ((rc = connect_once(path, fd)) == -ENOENT || rc == -ECONNREFUSED) {
        if (now_ms() >= deadline)
            break;
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (rc < 0)
        return p2v_errf(err, rc, "QMP: cannot connect to %s: %s", path, strerror(-rc));
    return 0;
}

int bootcheck_qmp_connect(const char *socket_path, int timeout_ms, bootcheck_qmp **out,
                          p2v_err *err)
{
    bootcheck_qmp_msg m;
    int rc;
    if (strlen(socket_path) >= sizeof((struct sockaddr_un *)0)->sun_path)
        return p2v_errf(err, -ENAMETOOLONG, "QMP: socket path too long: %s", socket_path);
    bootcheck_qmp *q = calloc(1, sizeof *q);
    if (!q)
        return p2v_errf(err, -ENOMEM, "QMP: out of memory");
    q->fd = -1;
    if ((rc = connect_retry(socket_path, timeout_ms, &q->fd, err)) < 0)
        goto fail;
    if ((rc = read_reply(q, timeout_ms, &m, err)) < 0)
        goto fail;
    if (m.kind != BOOTCHECK_QMP_GREETING) {
        rc = p2v_errf(err, -EPROTO, "QMP: %s did not greet with {\"QMP\": ...}", socket_path);
        goto fail;
    }
    if ((rc = bootcheck_qmp_command(q, "{\"execute\": \"qmp_capabilities\"}", timeout_ms, NULL,
                                    err)) < 0)
        goto fail;
    *out = q;
    return 0;
fail:
    bootcheck_qmp_close(q);
    return rc;
}

void bootcheck_qmp_close(bootcheck_qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    free(q);
}

int bootcheck_qmp_screendump(bootcheck_qmp *q, const char *png_path, int timeout_ms, p2v_err *err)
{
    json_object *cmd = json_object_new_object(), *args = json_object_new_object();
    int rc;
    if (!cmd || !args) {
        json_object_put(cmd);
        json_object_put(args);
        return p2v_errf(err, -ENOMEM, "QMP: out of memory");
    }
    json_object_object_add(cmd, "execute", json_object_new_string("screendump"));
    json_object_object_add(args, "filename", json_object_new_string(png_path));
    json_object_object_add(args, "format", json_object_new_string("png"));
    json_object_object_add(cmd, "arguments", args);
    const char *text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
    rc = text ? bootcheck_qmp_command(q, text, timeout_ms, NULL, err)
              : p2v_errf(err, -ENOMEM, "QMP: out of memory");
    json_object_put(cmd);
    return rc;
}
