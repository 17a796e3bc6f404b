/* The parsed image behind the opaque qcow2_image handle. Internal to src/qcow2. */
#ifndef P2V_QCOW2_IMAGE_H
#define P2V_QCOW2_IMAGE_H

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"

#define QCOW2_L2_CACHE 16

struct qcow2_l2_cache {
    uint64_t off;
    uint64_t *table; /* host order */
    uint64_t stamp;
};

struct qcow2_image {
    blockdev *file; /* the image file as raw bytes */
    const char *path;
    qcow2_info info;
    unsigned cbits, l2_bits;
    uint64_t cs;
    uint64_t header_length;
    uint64_t snapshots_offset;
    bool has_data_file_ext;
    bool lenient; /* QCOW2_OPEN_CHECK */
    uint64_t *l1;       /* host order */
    uint32_t l1_loaded; /* entries in l1[]: l1_size, less the part past EOF */
    struct qcow2_l2_cache l2c[QCOW2_L2_CACHE];
    uint64_t tick;
    qcow2_codec *codec;
    uint8_t *cbuf;      /* compressed input */
    uint8_t *cluster;   /* last decompressed cluster */
    uint64_t cached_vc; /* its guest cluster index, UINT64_MAX = none */
};

int qcow2_read_zero_past_eof(qcow2_image *img, void *buf, size_t len, uint64_t off, p2v_err *err);
/* Read [in, in+len) of guest cluster vc described by c (this layer only;
 * UNALLOCATED and ZERO read as zero). */
int qcow2_image_read_cluster_part(qcow2_image *img, uint64_t vc, const qcow2_cluster *c,
                                  void *buf, size_t len, uint64_t in, p2v_err *err);

#endif
