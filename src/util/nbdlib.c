/* libnbd's asynchronous calls driven by p2v's own poll() loop: libnbd's
 * blocking calls (nbd_connect_uri, nbd_pread, nbd_poll(h, -1)) wait for a
 * stalled server forever and through any signal. Here a wait polls in short
 * slices, looks at the cancel flag between them, and gives up when the
 * server has been silent for the I/O timeout. */
#include "util/nbdlib.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "util/cancel.h"

union nbdlib_fns nbdlib;
OPTLIB(nbdlib_lib, P2V_SONAME_NBD, "NBD", NBDLIB_FNS, nbdlib);

/* How often a wait looks at the cancel flag: a signal delivered to another
 * thread does not interrupt this thread's poll(). */
#define SLICE_MS 100

int nbdlib_load(p2v_err *err) { return optlib_load(&nbdlib_lib, err); }

bool nbdlib_is_uri(const char *s)
{
    static const char *const schemes[] = { "nbd://", "nbd+unix://", "nbds://", "nbds+unix://" };
    for (size_t i = 0; s && i < sizeof schemes / sizeof *schemes; i++)
        if (!strncmp(s, schemes[i], strlen(schemes[i])))
            return true;
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libnbd's last error in this thread as a p2v error about uri. */
static int lib_fail(const char *uri, const char *what, p2v_err *err)
{
    int e = nbdlib.f.nbd_get_errno();
    const char *m = nbdlib.f.nbd_get_error();
    return p2v_errf(err, e ? -e : -EIO, "%s: %s: %s", uri, what, m ? m : "failed");
}

/* Poll the handle's socket for up to ms and let libnbd move on: 1 when
 * something moved, 0 when nothing did, -1 on a libnbd error. */
static int step(struct nbd_handle *h, int ms)
{
    int fd = nbdlib.f.nbd_aio_get_fd(h);
    if (fd < 0)
        return -1;
    unsigned dir = nbdlib.f.nbd_aio_get_direction(h);
    struct pollfd p = { .fd = fd };
    if (dir & LIBNBD_AIO_DIRECTION_READ)
        p.events |= POLLIN;
    if (dir & LIBNBD_AIO_DIRECTION_WRITE)
        p.events |= POLLOUT;
    int n = poll(&p, 1, ms);
    if (n <= 0)
        return 0; /* timeout or EINTR: the caller looks at the clock and the flag */
    if ((dir & LIBNBD_AIO_DIRECTION_READ) && (p.revents & (POLLIN | POLLHUP | POLLERR)))
        return nbdlib.f.nbd_aio_notify_read(h) == -1 ? -1 : 1;
    if ((dir & LIBNBD_AIO_DIRECTION_WRITE) && (p.revents & (POLLOUT | POLLERR)))
        return nbdlib.f.nbd_aio_notify_write(h) == -1 ? -1 : 1;
    return 0;
}

/* 1 done, 0 not yet, -1 failed (libnbd's error set). */
typedef int (*done_fn)(struct nbd_handle *h, int64_t arg);

static int wait_until(struct nbd_handle *h, const char *uri, done_fn done, int64_t arg,
                      unsigned timeout_s, const char *what, p2v_err *err)
{
    double quiet_since = now_s();
    for (;;) {
        int d = done(h, arg);
        if (d == 1)
            return 0;
        if (d < 0)
            return lib_fail(uri, what, err);
        if (p2v_cancelled())
            return p2v_errf(err, -EINTR, "%s: interrupted by a signal while waiting for %s",
                            uri, what);
        double left = (double)timeout_s - (now_s() - quiet_since);
        if (left <= 0)
            return p2v_errf(err, -ETIMEDOUT, "%s: no answer from the NBD server for %u s while "
                            "waiting for %s (--io-timeout)", uri, timeout_s, what);
        int ms = left * 1000 < SLICE_MS ? (int)(left * 1000) + 1 : SLICE_MS;
        int s = step(h, ms);
        if (s < 0)
            return lib_fail(uri, what, err);
        if (s > 0)
            quiet_since = now_s();
    }
}

static int connected(struct nbd_handle *h, int64_t unused)
{
    (void)unused;
    if (nbdlib.f.nbd_aio_is_ready(h) == 1)
        return 1;
    return nbdlib.f.nbd_aio_is_connecting(h) == 1 ? 0 : -1;
}

static int completed(struct nbd_handle *h, int64_t cookie)
{
    return nbdlib.f.nbd_aio_command_completed(h, (uint64_t)cookie);
}

static int closed(struct nbd_handle *h, int64_t unused)
{
    (void)unused;
    return nbdlib.f.nbd_aio_is_closed(h) == 1 || nbdlib.f.nbd_aio_is_dead(h) == 1;
}

int nbdlib_connect(const char *uri, unsigned timeout_s, struct nbd_handle **out, p2v_err *err)
{
    struct nbd_handle *h;
    int r;
    *out = NULL;
    if ((r = nbdlib_load(err)) < 0)
        return p2v_err_prefix(err, r, "%s", uri);
    if (!(h = nbdlib.f.nbd_create()))
        return p2v_errf(err, -ENOMEM, "%s: %s", uri, nbdlib.f.nbd_get_error());
    if (nbdlib.f.nbd_aio_connect_uri(h, uri) == -1)
        r = lib_fail(uri, "cannot connect", err);
    else
        r = wait_until(h, uri, connected, 0, timeout_s, "the connection and handshake", err);
    if (r < 0) {
        if (r != -ETIMEDOUT && r != -EINTR)
            p2v_err_prefix(err, r, "cannot connect");
        nbdlib.f.nbd_close(h);
        return r;
    }
    *out = h;
    return 0;
}

int nbdlib_wait(struct nbd_handle *h, const char *uri, int64_t cookie, unsigned timeout_s,
                const char *what, p2v_err *err)
{
    return wait_until(h, uri, completed, cookie, timeout_s, what, err);
}

void nbdlib_close(struct nbd_handle *h, bool polite, unsigned timeout_s)
{
    if (!h)
        return;
    if (polite && nbdlib.f.nbd_aio_is_ready(h) == 1 && nbdlib.f.nbd_aio_disconnect(h, 0) == 0) {
        p2v_err ignored;
        wait_until(h, "", closed, 0, timeout_s, "the disconnection", &ignored);
    }
    nbdlib.f.nbd_close(h);
}
