/* The qcow2 format: reader (as a blockdev backend), writer, and the checks
 * behind `p2v img`. Written from the public qcow2 specification
 * (docs/interop/qcow2.txt); no QEMU code or library is used. */
#ifndef P2V_QCOW2_H
#define P2V_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

#define QCOW2_MAGIC "QFI\xfb"

/* Open a qcow2 image read-only as a blockdev (backing chains followed). */
int qcow2_bd_open(const char *path, blockdev **out, p2v_err *err);

/* ---- writer ---- */

typedef struct qcow2_writer qcow2_writer;

enum qcow2_compression { QCOW2_COMPRESS_NONE = 0, QCOW2_COMPRESS_ZLIB, QCOW2_COMPRESS_ZSTD };

#define QCOW2_ZSTD_MAX_LEVEL 19 /* the last "normal" zstd level */
#define QCOW2_MAX_THREADS 256   /* compressing threads */

typedef struct qcow2_write_opts {
    uint32_t cluster_size; /* 0 = 64 KiB; a power of two from 512 B to 2 MiB */
    int version;           /* 0 = 3; 2 or 3 */
    enum qcow2_compression compression;
    int level;        /* compression level; 0: the codec's default (zlib 6, zstd 3) */
    unsigned threads; /* compressing threads, the caller's included; 0: online CPUs.
                       * Capped so that the codecs take at most 24 MiB (zstd:19
                       * at 64 KiB clusters: 13 threads; zstd:3: 35; zlib: 83). */
} qcow2_write_opts;

/* fd: a new empty file opened O_RDWR by the caller (the caller owns
 * temp-file/rename logic). virtual_size is rounded up to a multiple of 512,
 * as qemu-img create does (QEMU ignores a partial last sector). Until qcow2_writer_finish() succeeds, the file's
 * header carries version 0, so qemu-img and p2v refuse a half-written image. */
int qcow2_writer_create(int fd, const char *name_for_messages, uint64_t virtual_size,
                        const qcow2_write_opts *opts, qcow2_writer **out, p2v_err *err);
/* Write at any byte offset, any length, any order; all-zero clusters are not
 * allocated. Sequential writes of whole clusters are the fast path. ENOSPC etc.
 * come back as errors. */
int qcow2_writer_pwrite(qcow2_writer *w, const void *buf, size_t len, uint64_t offset,
                        p2v_err *err);
/* Gathering on: the data of whole uncompressed clusters is not written at
 * once; runs that follow each other in the file are gathered (the caller's
 * buffers, which must stay unchanged) and written with one pwritev when one
 * does not follow, before anything is read back, and when gathering is
 * turned off (on == false), which the caller does before it reuses a
 * buffer. Off is the default. Turning it off returns the write's error. */
int qcow2_writer_gather(qcow2_writer *w, bool on, p2v_err *err);

/* What is gathered and not yet written: one stretch of the file. */
#define QCOW2_GATHER_MAX 64
typedef struct qcow2_gathered {
    struct iovec iov[QCOW2_GATHER_MAX];
    int n;
    uint64_t off, len;
} qcow2_gathered;

/* Gathering off without writing: what is gathered goes to *out, for
 * qcow2_writer_write_gathered. Its clusters are allocated already, so the
 * next qcow2_writer_pwrite may follow at once. */
void qcow2_writer_gather_take(qcow2_writer *w, qcow2_gathered *out);
/* Write what was taken (and empty it). Unlike every other call here, this
 * one may run in other threads at the same time as the writer's other
 * calls and as each other (the clusters are the caller's alone); not after
 * qcow2_writer_finish has begun. */
int qcow2_writer_write_gathered(qcow2_writer *w, qcow2_gathered *g, p2v_err *err);
/* Write L2 tables, refcounts, L1, refcount table; fdatasync; then the header;
 * fdatasync. */
int qcow2_writer_finish(qcow2_writer *w, p2v_err *err);
void qcow2_writer_free(qcow2_writer *w); /* does not close fd */
/* Data bytes allocated so far (whole clusters, or compressed bytes). */
uint64_t qcow2_writer_allocated_bytes(const qcow2_writer *w);

/* ---- streamed writer (stream.c): front to back, never seeking ---- */

#include "util/extent.h"

typedef struct qcow2_stream qcow2_stream;
/* Where the stream's bytes go, in order (a pipe, a socket...). */
typedef int (*qcow2_emit_fn)(void *ctx, const void *buf, size_t len, p2v_err *err);

/* Plan a qcow2 v3 image of virtual_size bytes whose data clusters are those
 * the extents `alloc` touch (sorted; guest bytes), and emit its header and
 * all metadata at once. Then qcow2_stream_write in increasing offset order,
 * only inside `alloc`; qcow2_stream_finish sends what was never written as
 * zeros. Writing behind data already sent, or outside alloc, is -EINVAL. */
int qcow2_stream_create(uint64_t virtual_size, uint32_t cluster_size, const extent_list *alloc,
                        qcow2_emit_fn emit, void *ctx, qcow2_stream **out, p2v_err *err);
int qcow2_stream_write(qcow2_stream *s, const void *buf, size_t len, uint64_t offset,
                       p2v_err *err);
int qcow2_stream_finish(qcow2_stream *s, p2v_err *err);
/* Bytes emitted so far, and the size of the whole stream. */
uint64_t qcow2_stream_bytes(const qcow2_stream *s);
uint64_t qcow2_stream_total_bytes(const qcow2_stream *s);
void qcow2_stream_free(qcow2_stream *s);

/* ---- parsed image, for `p2v img` ---- */

typedef struct qcow2_image qcow2_image;

typedef struct qcow2_info {
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint64_t virtual_size;
    uint64_t file_size;
    uint32_t refcount_bits;
    uint64_t incompatible, compatible, autoclear;
    int compression_type; /* 0 zlib, 1 zstd */
    bool dirty, corrupt, lazy_refcounts, extended_l2;
    uint32_t nb_snapshots;
    uint32_t l1_size;
    uint64_t l1_offset, refcount_table_offset;
    uint32_t refcount_table_clusters;
    char backing_file[1024];       /* as stored; "" when none */
    char backing_format[64];       /* from the header extension; "" when none */
} qcow2_info;

/* Open and validate the header and the tables' placement. Every size and
 * offset read from the file is checked against the file and QEMU's limits. */
#define QCOW2_OPEN_CHECK 1u /* tables may lie past the end of the file (read as zeros),
                              as qemu-img check accepts, so that check can report it */
int qcow2_image_open(const char *path, unsigned flags, qcow2_image **out, p2v_err *err);
/* The same on an already opened raw blockdev (taken over: closed by qcow2_image_close). */
int qcow2_image_open_bd(blockdev *file, unsigned flags, qcow2_image **out, p2v_err *err);
const qcow2_info *qcow2_image_info(const qcow2_image *img);
void qcow2_image_close(qcow2_image *img);

/* One guest cluster as this image's L2 describes it (backing not followed). */
enum qcow2_cluster_kind {
    QCOW2_CLUSTER_UNALLOCATED, /* falls through to the backing file, else zero */
    QCOW2_CLUSTER_ZERO,        /* zero flag set (maybe with a preallocated offset) */
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
};
typedef struct qcow2_cluster {
    enum qcow2_cluster_kind kind;
    uint64_t host_offset; /* NORMAL/ZERO-with-allocation: cluster offset; COMPRESSED: byte offset */
    uint64_t csize;       /* COMPRESSED: bytes in the sector-rounded span */
} qcow2_cluster;

/* Describe guest cluster index vc. */
int qcow2_image_cluster(qcow2_image *img, uint64_t vc, qcow2_cluster *out, p2v_err *err);

/* Read guest bytes; unallocated clusters come from backing (the next layer
 * of the chain), or read as zero when backing is NULL. */
int qcow2_image_pread(qcow2_image *img, blockdev *backing, void *buf, size_t len, uint64_t off,
                      p2v_err *err);

/* For `img info/map`: the parsed image behind a blockdev from qcow2_bd_open /
 * bd_open (NULL if it is not qcow2), and its backing blockdev (NULL if none). */
qcow2_image *qcow2_bd_image(blockdev *bd);
blockdev *qcow2_bd_backing(blockdev *bd);
/* Where QEMU looks for a backing file named `backing` of the image at
 * `image_path`: relative names are taken from the image's directory. */
int qcow2_backing_path(const char *image_path, const char *backing, char *out, size_t outlen);

/* ---- block status (for `img map` and `img compare`) ---- */

typedef struct img_status_ctx img_status_ctx;
typedef struct img_extent {
    uint64_t start, length;
    unsigned depth;   /* the layer of the chain that answered (0 = top) */
    bool present;     /* allocated in some layer */
    bool zero, data;
    bool compressed;
    bool has_offset;
    uint64_t offset;  /* host offset in that layer's file */
    const char *file; /* that file when it is not the layer's own (a VMDK extent), else NULL */
} img_extent;

/* Status of any blockdev (raw or qcow2 with its chain); bd must outlive ctx. */
int img_status_open(blockdev *bd, img_status_ctx **out, p2v_err *err);
/* The extent starting at off, at most max_len bytes, all of one kind. */
int img_status_get(img_status_ctx *c, uint64_t off, uint64_t max_len, img_extent *e,
                   p2v_err *err);
void img_status_close(img_status_ctx *c);

/* ---- check ---- */

typedef struct qcow2_check_result {
    uint64_t corruptions;
    uint64_t leaks;
    uint64_t check_errors;
    uint64_t image_end_offset;
    uint64_t total_clusters;
    uint64_t allocated_clusters;
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
    p2v_warnings messages; /* one line per problem, as "ERROR ..." / "Leaked ..." */
} qcow2_check_result;

/* Rebuild the refcounts from the header, L1/L2, snapshots and refcount
 * structures and compare with the stored ones. Returns 0 when the check ran
 * (look at res), negative when the image could not be checked at all. */
int qcow2_check(qcow2_image *img, qcow2_check_result *res, p2v_err *err);
void qcow2_check_result_free(qcow2_check_result *res);

#endif
