/* libnbd, opened on first use (util/optlib.h): NBD sources and outputs. */
#ifndef P2V_UTIL_NBDLIB_H
#define P2V_UTIL_NBDLIB_H

#include <libnbd.h>

#include "util/optlib.h"

#define NBDLIB_FNS(X)                                                                              \
    X(nbd_create) X(nbd_close) X(nbd_connect_uri) X(nbd_shutdown) X(nbd_get_size)                 \
    X(nbd_get_error) X(nbd_get_errno) X(nbd_pread) X(nbd_is_read_only) X(nbd_can_zero)          \
    X(nbd_can_flush) X(nbd_get_block_size) X(nbd_aio_pwrite) X(nbd_aio_command_completed)       \
    X(nbd_poll) X(nbd_zero) X(nbd_flush)

OPTLIB_TABLE(nbdlib_fns, NBDLIB_FNS);
extern union nbdlib_fns nbdlib;

/* Load libnbd before the first nbdlib.f.* call; -ENOENT with a message if absent. */
int nbdlib_load(p2v_err *err);

#endif
