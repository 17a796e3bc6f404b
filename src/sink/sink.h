/* Where the new image is written. A target is chosen by OUTPUT (each says
 * which OUTPUT it takes and what it is: sink_target_info): a file created
 * under a temporary name beside OUTPUT, renamed to OUTPUT only when
 * everything succeeded, removed otherwise (sparse raw or qcow2); standard
 * output ("-"); an NBD export (nbd://...) written in place. The backends
 * live behind sink_impl.h. */
#ifndef P2V_SINK_H
#define P2V_SINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"
#include "util/extent.h"

enum sink_format { SINK_QCOW2 = 0, SINK_RAW };
enum sink_compression { SINK_COMPRESS_NONE = 0, SINK_COMPRESS_ZLIB, SINK_COMPRESS_ZSTD };

typedef struct sink_opts {
    enum sink_format format;
    uint32_t cluster_size;               /* qcow2; 0: 64 KiB */
    enum sink_compression compression;   /* qcow2 */
    int level;                           /* compression level; 0: the default */
    unsigned threads;                    /* compressing threads; 0: online CPUs */
    bool force;                          /* replace an existing OUTPUT */
    int qcow2_version;                   /* 2 or 3; 0: 3 */
    unsigned queue_depth;                /* writes in flight to a network target that
                                            takes several (RBD); 0: its default */
    unsigned rbd_timeout;                /* seconds to reach a Ceph cluster's monitors;
                                            0: RBD_TIMEOUT_DEFAULT (30) */
    uint64_t rbd_features;               /* features of a new RBD image; 0: layering,
                                            exclusive-lock, object-map, fast-diff,
                                            deep-flatten */
    unsigned io_timeout;                 /* a network target (NBD) silent this many
                                            seconds while p2v waits for it fails
                                            the run; 0: SINK_IO_TIMEOUT_DEFAULT */
} sink_opts;

#define SINK_IO_TIMEOUT_DEFAULT 60

/* What an OUTPUT is, from the target that takes it. */
struct sink_target_info {
    const char *name;     /* the target: "file", "stream", "nbd" */
    const char *what;     /* for messages: "image file", "standard output", "NBD export" */
    bool direct;          /* written in place: no temporary name, no rename, nothing
                             removed on failure */
    bool to_stdout;       /* standard output: nothing else may write there (--json) */
    bool in_order;        /* written front to back, never seeking: its layout must be
                             known in advance (no compressed qcow2) */
    bool raw_only;        /* receives the disk itself: -O raw only */
    bool sized;           /* has a size of its own, which the disk takes
                             (sink_target_size) */
    bool readback;        /* --verify can read it back (sink_readback_open) */
    bool is_file;         /* an image file under OUTPUT once done (--boot-check, img check) */
    const char *partial;  /* what a failed run leaves in an export it opened, said
                             with the error; NULL: nothing to say (a temporary file
                             is removed; a stream's reader sees it cut short) */
};

/* Ask the targets in turn which one takes OUTPUT (an image file when no
 * other does) and fill *info. */
void sink_target_info(const char *output, struct sink_target_info *info);
/* The size of a sized target (an NBD export: to plan the layout for it),
 * connecting with o's I/O timeout (o may be NULL). -ENOTSUP for others. */
int sink_target_size(const char *output, const sink_opts *o, uint64_t *size, p2v_err *err);

typedef struct sink sink;

/* "zlib", "zstd", "zlib:LEVEL" (1-9) or "zstd:LEVEL" (1-19) into *c and
 * *level (0 when none is given). -EINVAL with a message for anything else. */
int sink_compression_parse(const char *spec, enum sink_compression *c, int *level, p2v_err *err);

/* Create the temporary file beside output and prepare a disk of virtual_size
 * bytes. An existing OUTPUT without force is refused here (-EEXIST). */
int sink_create(const char *output, uint64_t virtual_size, const sink_opts *o, sink **out,
                p2v_err *err);

/* A p2v_write_fn: ctx is the sink, offset a byte offset of the virtual disk. */
int sink_write(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err);

/* The unit the sink allocates in (qcow2 cluster, 4 KiB for raw): the copy
 * engine detects zeros on these boundaries. */
uint32_t sink_granularity(const sink *s);

/* Drive the sink with the copy engine: fills o's write, write_ctx,
 * granularity, writers (a raw file takes several writes at once) and the
 * gathering hooks (qcow2: a block's runs that follow each other in the file
 * go out as one pwritev; uncompressed, the blocks are stored in order and
 * their gathered data written by several threads while the next ones are
 * stored); the caller sets the rest. */
struct copy_opts;
void sink_copy_opts(sink *s, struct copy_opts *o);

/* Finish the image (qcow2 metadata, size) and flush it to disk. The file is
 * complete under sink_temp_path() afterwards, not yet under its name. */
int sink_finish(sink *s, p2v_err *err);
const char *sink_temp_path(const sink *s);
/* Bytes the image file occupies on disk (after finish). */
uint64_t sink_file_bytes(const sink *s);

/* Give the finished file its name (atomically; never over an existing OUTPUT
 * unless force). */
int sink_commit(sink *s, p2v_err *err);

/* Remove the temporary file unless committed, and free. */
void sink_close(sink *s);

/* After a failure, remove what the target holds under a temporary name of
 * its own (an RBD image's partial copy); 0, or an error naming what is left
 * and how to remove it. Files: nothing to do here (sink_close). */
int sink_discard(sink *s, p2v_err *err);

/* One line saying where the image goes, for the run's notice (an RBD image
 * names its cluster, pool and features); "" for a file. */
void sink_describe(const sink *s, char *buf, size_t len);

/* Every signal that would kill the process mid-write (INT, TERM, HUP, PIPE,
 * QUIT, USR1, USR2) sets *flag instead, so the writer can stop and remove its
 * temporary file; restore puts the previous handlers back. */
#define SINK_NSIGNALS 7
typedef struct sink_signals {
    struct sigaction old[SINK_NSIGNALS];
} sink_signals;
void sink_catch_signals(sink_signals *ss, volatile sig_atomic_t *flag);
void sink_restore_signals(sink_signals *ss);

/* Before the first write: every byte range of the disk that may be written
 * (sorted). A stream plans its layout from it; file sinks ignore it. */
int sink_set_layout(sink *s, const extent_list *will_write, p2v_err *err);
/* Open the finished image for reading back (verify): the temporary file, or
 * the NBD export again (with the I/O timeout); -ENOTSUP for a stream. */
int sink_readback_open(const sink *s, blockdev **out, p2v_err *err);

#endif
