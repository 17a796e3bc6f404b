/* The copy engine: moves byte ranges of source disks to their new place on the
 * target, through a write callback (a sink). It reads in large blocks, skips
 * blocks that are all zeros, copies only the extents a used-block map names,
 * and lays relocation patches (new boot sectors) over what it copies. */
#ifndef P2V_COPY_H
#define P2V_COPY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "fs/relocate.h"
#include "util/err.h"
#include "util/extent.h"
#include "util/io.h"

/* One partition to copy: src_len bytes at src_offset of src land at dst_offset.
 * The target partition may be longer (dst_len >= src_len): patches may lie past
 * src_len, the rest of it is left unwritten (reads as zeros). */
typedef struct copy_range {
    blockdev *src;
    uint64_t src_offset;
    uint64_t src_len;
    uint64_t dst_offset;
    uint64_t dst_len;
    const extent_list *used;        /* relative to src_offset, normalized; NULL: every byte */
    const reloc_patches *patches;   /* relative to dst_offset; NULL: none */
    const char *what;               /* "disk1:2", for messages */
    struct salvage *salvage;        /* where a failed read goes (copy/salvage.h); NULL: it stops the copy */
} copy_range;

/* Reads in flight (reader threads): the default, by measurement (see
 * docs/BENCHMARKS.md), and the most. */
#define COPY_DEFAULT_QUEUE_DEPTH 4
#define COPY_MAX_QUEUE_DEPTH 16
/* Writes in flight at most (writer threads, the caller among them). */
#define COPY_MAX_WRITERS 8

typedef void (*copy_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct copy_opts {
    p2v_write_fn write;
    void *write_ctx;
    uint32_t granularity;           /* zero detection and extent rounding unit, power of two */
    size_t block_size;              /* bytes read at once; 0: 4 MiB */
    unsigned queue_depth;           /* reads in flight (reader threads), 1..16; 0: default */
    /* Writes in flight (writer threads, the caller among them), 1..8; 0: one.
     * Above one, write may be called from several threads at once, with
     * ranges that never overlap and in no particular order; before_range and
     * progress are still called one at a time, before_range in range order
     * and before the first write of its range. */
    unsigned writers;
    /* Optional, with one writer only: called with true before the writes of
     * a block and with false after them (and before its buffer is reused),
     * so that the sink may write them together. */
    int (*gather)(void *ctx, bool on, p2v_err *err);
    /* Optional, with gather and more than one writer: a sink whose writes
     * must come in order. Each block is then written in order, gathering,
     * and gather_take hands over what it gathered (*token; NULL: nothing),
     * which gather_write writes (and frees) outside the order, in several
     * threads at once, while the next blocks go on. */
    int (*gather_take)(void *ctx, void **token, p2v_err *err);
    int (*gather_write)(void *ctx, void *token, p2v_err *err);
    copy_progress_fn progress;
    void *progress_ctx;
    volatile sig_atomic_t *cancel;  /* set (by a signal handler) to stop */
    /* Called before range i is copied (e.g. to write table regions that lie
     * before it, keeping target offsets increasing). */
    int (*before_range)(void *ctx, const copy_range *r, p2v_err *err);
    void *before_ctx;
} copy_opts;

typedef struct copy_stats {
    uint64_t planned;               /* bytes the extents cover */
    uint64_t read;                  /* bytes read from the sources */
    uint64_t written;               /* bytes handed to the sink (zero chunks excluded) */
    /* Where the time went (P2V_DEBUG=timing), in nanoseconds: */
    uint64_t reads;                 /* blocks read */
    uint64_t read_ns;               /* readers filling blocks (summed over the readers) */
    uint64_t read_wait_ns;          /* readers waiting for a free buffer (summed) */
    uint64_t write_ns;              /* the writers in the sink (summed) */
    uint64_t write_wait_ns;         /* the writers waiting for the next block (summed) */
    uint64_t total_ns;              /* the whole copy */
    unsigned queue_depth;           /* reader threads that ran */
    unsigned writers;               /* writer threads that ran (the caller among them) */
} copy_stats;


/* The target-relative extents of one range the engine will fill: the used map
 * (or everything) plus the patches, rounded out to the granularity on the
 * target and clipped to the range. */
int copy_range_extents(const copy_range *r, uint32_t granularity, extent_list *out);

/* Bytes the ranges will read (for progress and reports). */
int copy_planned_bytes(const copy_range *r, size_t n, uint32_t granularity, uint64_t *out);

/* Copy the ranges in order (callers sort them by dst_offset). */
int copy_run(const copy_range *r, size_t n, const copy_opts *o, copy_stats *st, p2v_err *err);

/* Read every range back from target and compare with the source (patches
 * applied). A mismatch is -EIO naming the range and target offset. */
int copy_verify(const copy_range *r, size_t n, blockdev *target, const copy_opts *o,
                uint64_t *checked, p2v_err *err);

#endif
