/* The qcow2 header and L1 size as every writer of p2v lays them out. */
#include <string.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"
#include "util/endian.h"

void qcow2_header_encode(uint8_t *h, const qcow2_header_fields *f)
{
    memcpy(h + QH_MAGIC, QCOW2_MAGIC, 4);
    put_be32(h + QH_VERSION, f->version);
    put_be32(h + QH_CLUSTER_BITS, f->cluster_bits);
    put_be64(h + QH_SIZE, f->size);
    put_be32(h + QH_L1_SIZE, f->l1_size);
    put_be64(h + QH_L1_OFFSET, f->l1_offset);
    put_be64(h + QH_REFTABLE_OFFSET, f->refcount_table_offset);
    put_be32(h + QH_REFTABLE_CLUSTERS, f->refcount_table_clusters);
    if (f->version == 3) {
        uint64_t incompat = 0;
        if (f->compression_type == 1) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
            h[QH_COMPRESSION_TYPE] = 1;
        }
        put_be64(h + QH_INCOMPAT, incompat);
        put_be32(h + QH_REFCOUNT_ORDER, 4);
        put_be32(h + QH_HEADER_LENGTH, QH_V3_LENGTH);
    }
}

uint64_t qcow2_l1_entries(uint64_t virtual_size, unsigned cluster_bits)
{
    uint64_t cs = 1ULL << cluster_bits;
    unsigned l2_bits = cluster_bits - 3;
    uint64_t vclusters = virtual_size / cs + (virtual_size % cs != 0);
    uint64_t l1 = (vclusters >> l2_bits) + ((vclusters & ((1ULL << l2_bits) - 1)) != 0);
    return l1 ? l1 : 1;
}
