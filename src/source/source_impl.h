/* For the rows of the source registry only (source.c lists them). */
#ifndef P2V_SOURCE_IMPL_H
#define P2V_SOURCE_IMPL_H

#include <string.h>

#include "source/source.h"

/* Do len bytes at off of the probed head read magic? Bounds-checked. */
static inline bool source_magic_at(const source_probe *p, size_t off, const void *magic,
                                   size_t len)
{
    return off <= p->n && len <= p->n - off && memcmp(p->head + off, magic, len) == 0;
}

/* What a VHD's footer says (vhd.c): its disk type (2 fixed, 3 dynamic, 4
 * differencing), or 0 when p is not a VHD. A footer copy at byte 0 (written
 * only for dynamic and differencing disks) decides first; else a valid
 * footer in the last 512 bytes. *current_size: the disk size it gives. */
uint32_t source_vhd_type(const source_probe *p, uint64_t *current_size);

/* Formats p2v recognises and refuses (refused.c): no open. */
extern const struct source_format source_qed, source_vhdx, source_vmdk, source_vdi,
    source_parallels, source_vhd_dynamic, source_vhd_diff;

#endif
