/* Ceph RBD through librados and librbd, opened on first use (util/optlib.h):
 * RBD sources and outputs. Also the one parser of the target spelling that
 * qemu and the rbd tool use:
 *
 *     rbd:POOL/IMAGE  rbd:POOL/NAMESPACE/IMAGE  [@SNAP]  [:conf=FILE][:id=USER][:keyring=FILE]
 *
 * (a ':' or '@' inside a value is written '\:' or '\@'). */
#ifndef P2V_UTIL_RBDLIB_H
#define P2V_UTIL_RBDLIB_H

#include <stdbool.h>
#include <stdint.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "util/optlib.h"

#define RADOSLIB_FNS(X)                                                                            \
    X(rados_create) X(rados_conf_read_file) X(rados_conf_set) X(rados_conf_parse_env)             \
    X(rados_connect) X(rados_shutdown) X(rados_ioctx_create) X(rados_ioctx_destroy)               \
    X(rados_ioctx_set_namespace) X(rados_cluster_fsid) X(rados_set_pool_full_try)                 \
    X(rados_mon_command) X(rados_buffer_free)

#define RBDLIB_FNS(X)                                                                              \
    X(rbd_create4) X(rbd_remove) X(rbd_remove_with_progress) X(rbd_rename) X(rbd_open) X(rbd_open_read_only) X(rbd_close)     \
    X(rbd_get_size) X(rbd_get_features) X(rbd_read2) X(rbd_aio_write) X(rbd_aio_create_completion) \
    X(rbd_aio_wait_for_complete) X(rbd_aio_is_complete) X(rbd_aio_get_return_value) X(rbd_aio_release) X(rbd_flush)      \
    X(rbd_aio_flush) X(rbd_stat)                                                                   \
    X(rbd_image_options_create) X(rbd_image_options_destroy) X(rbd_image_options_set_uint64)      \
    X(rbd_diff_iterate2)

OPTLIB_TABLE(radoslib_fns, RADOSLIB_FNS);
OPTLIB_TABLE(rbdlib_fns, RBDLIB_FNS);
extern union radoslib_fns radoslib;
extern union rbdlib_fns rbdlib;

/* Load librados and librbd before the first call; -ENOENT with a message if absent. */
int rbdlib_load(p2v_err *err);

#define RBD_NAME_MAX 256
#define RBD_PATH_MAX 1024
/* "POOL/NS/IMAGE@SNAP": four names and their separators */
#define RBD_FULLNAME_MAX (4 * RBD_NAME_MAX + 4)

struct rbd_target {
    char pool[RBD_NAME_MAX];
    char ns[RBD_NAME_MAX];       /* "" for the default namespace */
    char image[RBD_NAME_MAX];
    char snap[RBD_NAME_MAX];     /* "" for the image itself */
    char conf[RBD_PATH_MAX];     /* "" for Ceph's default search (CEPH_CONF, /etc/ceph) */
    char id[RBD_NAME_MAX];       /* "" for "admin" */
    char keyring[RBD_PATH_MAX];
};

/* Whether s is spelled as an RBD image ("rbd:..."). */
bool rbdlib_is_target(const char *s);

/* Parse an rbd: spelling; -EINVAL with a message naming what is wrong. */
int rbdlib_parse(const char *spec, struct rbd_target *t, p2v_err *err);

/* "POOL/[NS/]IMAGE[@SNAP]" of t, for messages. */
const char *rbdlib_name(const struct rbd_target *t, char *buf, size_t len);

/* A connected cluster handle and an I/O context on t's pool and namespace.
 * connect_s bounds reaching the monitors and every monitor operation
 * (client_mount_timeout, rados_mon_op_timeout), io_s every OSD operation
 * (rados_osd_op_timeout), so a dead cluster gives -ETIMEDOUT, never a hang.
 * A full pool (quota) or cluster fails writes with -EDQUOT / -ENOSPC at once
 * ("full try") instead of holding them until the cluster has room. */
struct rbd_conn {
    rados_t cluster;
    rados_ioctx_t io;
    char fsid[64];
};
int rbdlib_connect(const struct rbd_target *t, unsigned connect_s, unsigned io_s,
                   struct rbd_conn *c, p2v_err *err);

/* The rbd: spelling of t with its image replaced by image (NULL: t's own),
 * every ':' '@' '\\' of a value escaped; -ENAMETOOLONG when len is short. */
int rbdlib_spell(const struct rbd_target *t, const char *image, char *buf, size_t len);
void rbdlib_disconnect(struct rbd_conn *c);

/* Why a write got -EDQUOT or -ENOSPC, in words for a message: "no space:
 * pool 'P' is over its quota (max_bytes N)" when the monitor names a quota,
 * "no space: the cluster is full" otherwise. */
void rbdlib_space_why(const struct rbd_conn *c, const char *pool, int r, char *buf, size_t len);

/* Close img (waiting for its writes in flight), remove image (NULL: keep it)
 * and disconnect c, on a thread of its own, then call done(arg) there. The
 * caller waits while the removal makes progress, at most io_s seconds
 * without any; c and img are the thread's from the call on. Returns 0 (the
 * image is gone), the removal's -errno (-EIO: librbd said there was no such
 * image, yet it is there), or -ETIMEDOUT when the wait was given up (the
 * thread finishes on its own). io_s 0: a cluster already known dead; the
 * client and img are left as they are (see rbdlib_left_running), nothing
 * is removed, and done is not called (-ETIMEDOUT when image was named). */
int rbdlib_close_remove(struct rbd_conn *c, rbd_image_t img, const char *image, unsigned io_s,
                        void (*done)(void *arg), void *arg);

/* Whether a client was given up on (a dead cluster's, or a close still
 * running on its own thread): then librados's threads may still be at work,
 * and the process must end with _exit, without the libraries' teardown,
 * which they would run into. */
bool rbdlib_left_running(void);

/* The name a new image is written under until it is complete. */
#define RBD_PARTIAL_SUFFIX ".p2v-partial"

/* "layering,exclusive-lock,..." into RBD_FEATURE_* bits; -EINVAL naming an
 * unknown one. */
int rbdlib_features_parse(const char *list, uint64_t *features, p2v_err *err);

/* Default bound on waiting for the cluster (--rbd-timeout). */
#define RBD_TIMEOUT_DEFAULT 30

#endif
