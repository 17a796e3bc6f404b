/* The qcow2 writer's private parts, shared by its files:
 *
 *   writer.c        create, finish (L2 tables, L1, refcounts, header), free
 *   writer_io.c     file writes through the page cache, gathered runs,
 *                   write-combined compressed bytes, reads back
 *   writer_store.c  host allocation, L2 entries, whole and partial guest
 *                   clusters, the fast paths, qcow2_writer_pwrite
 *
 * The writer: append-only allocation, metadata kept in memory and written
 * once at finish, header last.
 *
 * File layout: cluster 0 is the header (written with version 0 at create so
 * that an interrupted image is refused), then data clusters and compressed
 * bytes in allocation order, then at finish the L2 tables, the L1 table, the
 * refcount blocks and the refcount table. Memory: one L1 pointer per 2^(2b-3)
 * bytes of virtual size, one L2 table per touched L2 range, two bytes of
 * refcount per allocated host cluster, a few pending partial clusters. */
#ifndef P2V_QCOW2_WRITER_IMPL_H
#define P2V_QCOW2_WRITER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"

#define PENDING_BYTES (4u * 1024 * 1024)
#define PENDING_MAX 32
#define RUN_MAX 256 /* clusters per pwrite on the uncompressed fast path */
#define WC_BYTES (1u << 20)    /* write-combining buffer for compressed data */
#define BATCH_BYTES (8u << 20) /* clusters compressed in parallel per batch */
#define KICK_BYTES (32u << 20) /* start writeback every 32 MiB written */
#define CODEC_BUDGET (24u << 20) /* codec memory of all compressing threads together */

struct pending {
    uint64_t vc;    /* guest cluster index */
    uint8_t *buf;   /* the whole cluster, existing content merged */
    uint64_t stamp; /* LRU */
    bool used;
};

struct qcow2_writer {
    int fd;
    char *name;
    uint64_t vsize;
    unsigned cbits;
    uint64_t cs;
    int version;
    enum qcow2_compression comp;

    uint32_t l1_size;
    uint64_t **l2; /* l1_size pointers; NULL = L2 table not touched */
    unsigned l2_bits;

    uint16_t *ref; /* refcount per host cluster */
    uint64_t ref_cap;
    uint64_t next_cluster; /* first host cluster never used */
    uint64_t cbyte;        /* end of the last compressed bytes, 0 = none */
    uint64_t allocated;
    uint64_t unkicked; /* bytes written since writeback was last started */

    qcow2_codec *codec;
    qcow2_cpool *pool;
    qcow2_cjob *jobs;
    uint8_t *batch; /* compressed outputs of one batch */
    size_t batch_max;
    uint8_t *wc_buf;
    size_t wc_len;
    uint64_t wc_off;
    uint8_t *cbuf; /* compressed output / compressed input, 2 clusters */
    uint8_t *tmp;  /* one cluster */

    /* Gathering (qcow2_writer_gather): runs that follow each other in the
     * file, written at once. */
    bool gather;
    qcow2_gathered g;

    struct pending pend[PENDING_MAX];
    unsigned npend;
    uint64_t tick;
    bool failed, finished;
};


static inline void set_failed(qcow2_writer *w) { __atomic_store_n(&w->failed, true, __ATOMIC_RELAXED); }
static inline bool has_failed(qcow2_writer *w) { return __atomic_load_n(&w->failed, __ATOMIC_RELAXED); }

/* ---- writer_io.c ---- */

/* len bytes at host offset off, now (what is gathered there lands first). */
int qw_write_at(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err);
/* A run of whole clusters at off: gathered while gathering, else written now. */
int qw_write_data(qcow2_writer *w, const void *buf, size_t len, uint64_t off, p2v_err *err);
int qw_flush_gather(qcow2_writer *w, p2v_err *err);
/* Compressed bytes at off, combined with their neighbours into larger writes. */
int qw_write_combined(qcow2_writer *w, const uint8_t *buf, size_t len, uint64_t off,
                      p2v_err *err);
int qw_flush_combined(qcow2_writer *w, p2v_err *err);
/* Read back what was written (zeros past its end), after the flushes. */
int qw_read_at(qcow2_writer *w, void *buf, size_t len, uint64_t off, p2v_err *err);

/* ---- writer_store.c ---- */

/* n contiguous host clusters, refcount 1 each; returns the first offset. */
int qw_alloc_clusters(qcow2_writer *w, uint64_t n, uint64_t *off, p2v_err *err);
/* Store a pending partial cluster and free its slot. */
int qw_flush_pending(qcow2_writer *w, struct pending *p, p2v_err *err);

#endif
