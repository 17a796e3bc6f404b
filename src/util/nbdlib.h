/* libnbd, opened on first use (util/optlib.h): NBD sources and outputs, and
 * the waits on an NBD server that every user shares (an I/O timeout, an end
 * at a signal). */
#ifndef P2V_UTIL_NBDLIB_H
#define P2V_UTIL_NBDLIB_H

#include <stdbool.h>
#include <stdint.h>

#include <libnbd.h>

#include "util/optlib.h"

#define NBDLIB_FNS(X)                                                                              \
    X(nbd_create) X(nbd_close) X(nbd_shutdown) X(nbd_get_size) X(nbd_get_error)                   \
    X(nbd_get_errno) X(nbd_is_read_only) X(nbd_can_zero) X(nbd_can_flush) X(nbd_get_block_size)  \
    X(nbd_aio_connect_uri) X(nbd_aio_pread) X(nbd_aio_pwrite) X(nbd_aio_zero) X(nbd_aio_flush)   \
    X(nbd_aio_command_completed) X(nbd_aio_get_fd) X(nbd_aio_get_direction)                      \
    X(nbd_aio_notify_read) X(nbd_aio_notify_write) X(nbd_aio_is_ready) X(nbd_aio_is_connecting) \
    X(nbd_aio_in_flight) X(nbd_aio_disconnect) X(nbd_aio_is_closed) X(nbd_aio_is_dead)

OPTLIB_TABLE(nbdlib_fns, NBDLIB_FNS);
extern union nbdlib_fns nbdlib;

/* Load libnbd before the first nbdlib.f.* call; -ENOENT with a message if absent. */
int nbdlib_load(p2v_err *err);

/* Is s an NBD URI (nbd://, nbd+unix://, and the TLS forms nbds://,
 * nbds+unix://)? The one test the source registry and the sink ask. */
bool nbdlib_is_uri(const char *s);

/* Every wait below ends:
 *  - with -ETIMEDOUT when the server has neither sent nor taken a byte for
 *    timeout_s seconds: "URI: no answer from the NBD server for N s while
 *    waiting for WHAT (--io-timeout)";
 *  - with -EINTR as soon as p2v_cancelled() (util/cancel.h): a signal;
 *  - with libnbd's error when the command fails or the connection drops.
 * After a timeout or a signal the handle is unusable: close it with
 * nbdlib_close(h, false), which does not wait for the server again. */

/* Load libnbd, connect to uri and finish the handshake. */
int nbdlib_connect(const char *uri, unsigned timeout_s, struct nbd_handle **out, p2v_err *err);
/* Wait for the command cookie (from an nbd_aio_* call) to complete. what
 * names it in messages ("a read of 4096 bytes at offset 0"). */
int nbdlib_wait(struct nbd_handle *h, const char *uri, int64_t cookie, unsigned timeout_s,
                const char *what, p2v_err *err);
/* Close the handle; polite: first tell a healthy server goodbye (which
 * waits for the commands in flight, up to timeout_s seconds of silence). */
void nbdlib_close(struct nbd_handle *h, bool polite, unsigned timeout_s);

#endif
