/* Where the new image is written: a file created under a temporary name beside
 * OUTPUT, renamed to OUTPUT only when everything succeeded, removed otherwise.
 * Backends: sparse raw (holes for what is never written) and qcow2. */
#ifndef P2V_SINK_H
#define P2V_SINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    bool buffered;                       /* never O_DIRECT (default: aligned data
                                            goes around the page cache where the
                                            file system allows it) */
} sink_opts;

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

/* Every signal that would kill the process mid-write (INT, TERM, HUP, PIPE,
 * QUIT, USR1, USR2) sets *flag instead, so the writer can stop and remove its
 * temporary file; restore puts the previous handlers back. */
#define SINK_NSIGNALS 7
typedef struct sink_signals {
    struct sigaction old[SINK_NSIGNALS];
} sink_signals;
void sink_catch_signals(sink_signals *ss, volatile sig_atomic_t *flag);
void sink_restore_signals(sink_signals *ss);

/* OUTPUT "-" is standard output: the image is streamed front to back
 * (sink_stream.c). OUTPUT "nbd://HOST[:PORT]/EXPORT" or "nbd+unix:///EXPORT?
 * socket=PATH" is an NBD export written in place (sink_nbd.c). Neither has a
 * temporary name: all or nothing becomes "complete, or reported as not". */
bool sink_output_is_stream(const char *output);
bool sink_output_is_nbd(const char *output);
/* The size of an NBD export (to plan the layout for it). */
int sink_nbd_export_size(const char *uri, uint64_t *size, p2v_err *err);

/* Before the first write: every byte range of the disk that may be written
 * (sorted). A stream plans its layout from it; file sinks ignore it. */
int sink_set_layout(sink *s, const extent_list *will_write, p2v_err *err);
/* Where the finished image can be read back (verify): the temporary file, the
 * NBD URI; NULL for a stream. */
const char *sink_readback_path(const sink *s);

/* Backends (sink_raw.c, sink_qcow2.c, sink_stream.c, sink_nbd.c). */
struct sink_backend {
    const char *name;
    int (*open)(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err);
    int (*layout)(sink *s, const extent_list *will_write, p2v_err *err); /* optional */
    int (*write)(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err);
    int (*gather)(sink *s, bool on, p2v_err *err); /* optional */
    int (*gather_take)(sink *s, void **token, p2v_err *err);  /* optional */
    int (*gather_write)(sink *s, void *token, p2v_err *err); /* with gather_take */
    int (*finish)(sink *s, p2v_err *err);
    /* No temporary file: commit replaces the rename, bytes the file size. */
    int (*commit)(sink *s, p2v_err *err);
    uint64_t (*bytes)(const sink *s);
    void (*free)(sink *s);
    uint32_t granularity;
};

struct sink {
    const struct sink_backend *be;
    char *output;
    char *temp;
    int fd;
    bool committed;
    bool force;
    uint64_t virtual_size;
    uint32_t granularity;
    unsigned writers; /* writes it takes at once from several threads; 0: one */
    void *priv;
};

extern const struct sink_backend sink_raw_backend;
extern const struct sink_backend sink_qcow2_backend;
extern const struct sink_backend sink_stream_qcow2_backend;
extern const struct sink_backend sink_stream_raw_backend;
extern const struct sink_backend sink_nbd_backend;

#endif
