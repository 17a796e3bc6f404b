/* On-disk constants of qcow2 (docs/interop/qcow2.txt). Internal to src/qcow2. */
#ifndef P2V_QCOW2_FORMAT_H
#define P2V_QCOW2_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

/* Header field offsets (all big-endian). */
enum {
    QH_MAGIC = 0,
    QH_VERSION = 4,
    QH_BACKING_OFFSET = 8,
    QH_BACKING_SIZE = 16,
    QH_CLUSTER_BITS = 20,
    QH_SIZE = 24,
    QH_CRYPT = 32,
    QH_L1_SIZE = 36,
    QH_L1_OFFSET = 40,
    QH_REFTABLE_OFFSET = 48,
    QH_REFTABLE_CLUSTERS = 56,
    QH_NB_SNAPSHOTS = 60,
    QH_SNAPSHOTS_OFFSET = 64,
    QH_V2_LENGTH = 72,
    QH_INCOMPAT = 72,
    QH_COMPAT = 80,
    QH_AUTOCLEAR = 88,
    QH_REFCOUNT_ORDER = 96,
    QH_HEADER_LENGTH = 100,
    QH_COMPRESSION_TYPE = 104,
    QH_V3_MIN_LENGTH = 104,
    QH_V3_LENGTH = 112,
};

#define QCOW2_INCOMPAT_DIRTY (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ULL << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u
#define QCOW2_EXT_DATA_FILE 0x44415441u

#define QCOW2_OFLAG_COPIED (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO (1ULL << 0)
#define QCOW2_L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define QCOW2_L1E_RESERVED_MASK 0x7f000000000001ffULL
#define QCOW2_L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define QCOW2_L2E_RESERVED_MASK 0x3f000000000001feULL
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ULL

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
/* QEMU's sanity limits for hostile files. */
#define QCOW2_MAX_L1_BYTES (32u * 1024 * 1024)
#define QCOW2_MAX_REFTABLE_BYTES (8u * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MAX_HOST_OFFSET (1ULL << 56)

/* Compressed cluster descriptor layout for a given cluster_bits. */
static inline unsigned qcow2_csize_shift(unsigned cluster_bits) { return 62 - (cluster_bits - 8); }
static inline uint64_t qcow2_csize_mask(unsigned cluster_bits)
{
    return (1ULL << (cluster_bits - 8)) - 1;
}
static inline uint64_t qcow2_coffset_mask(unsigned cluster_bits)
{
    return (1ULL << qcow2_csize_shift(cluster_bits)) - 1;
}

/* ---- header and table sizes (header.c), shared by the writers ---- */

typedef struct qcow2_header_fields {
    uint32_t version;           /* 2 or 3 */
    uint32_t cluster_bits;
    uint64_t size;              /* virtual bytes */
    uint32_t l1_size;           /* entries */
    uint64_t l1_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    int compression_type;       /* v3: 0 deflate, 1 zstd */
} qcow2_header_fields;

/* Write the header fields into h (QH_V3_LENGTH bytes for v3, QH_V2_LENGTH
 * for v2, zeroed by the caller): refcount order 4, no extensions, the
 * compression-type bit set for zstd. */
void qcow2_header_encode(uint8_t *h, const qcow2_header_fields *f);

/* L1 entries for a disk of virtual_size bytes (at least 1, as QEMU writes). */
uint64_t qcow2_l1_entries(uint64_t virtual_size, unsigned cluster_bits);

/* ---- compression (compress.c) ---- */

#include <stddef.h>

typedef struct qcow2_codec qcow2_codec;

/* type: 0 zlib (raw deflate, window bits 12, as QEMU writes it), 1 zstd. */
qcow2_codec *qcow2_codec_new(int type);
void qcow2_codec_free(qcow2_codec *c);
/* Compressed length, 0 when it does not fit in dst_cap, negative on error. */
long qcow2_codec_compress(qcow2_codec *c, void *dst, size_t dst_cap, const void *src,
                          size_t src_len);
/* Fill exactly dst_len bytes; src may carry trailing bytes. 0 or -EIO. */
int qcow2_codec_decompress(qcow2_codec *c, void *dst, size_t dst_len, const void *src,
                           size_t src_len);

/* ---- compression threads (cpool.c) ---- */

typedef struct qcow2_cpool qcow2_cpool;
typedef struct qcow2_cjob {
    const uint8_t *src;
    size_t src_len;
    uint8_t *dst;
    size_t dst_cap;
    long result; /* as qcow2_codec_compress */
} qcow2_cjob;

/* workers: threads besides the caller (0 = compress in the caller only). */
qcow2_cpool *qcow2_cpool_new(int type, unsigned workers);
/* Compress every job; returns when all are done. */
void qcow2_cpool_run(qcow2_cpool *p, qcow2_cjob *jobs, size_t n);
void qcow2_cpool_free(qcow2_cpool *p);

#endif
