/* The input of the resize harnesses (fuzz_fsresize.c, fuzz_fsresize_ext.c):
 * the first 8 bytes choose the new size, the rest is the partition. */
#ifndef P2V_FUZZ_RESIZE_INPUT_H
#define P2V_FUZZ_RESIZE_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "util/endian.h"

/* The new size, in 512-byte sectors up to four times the partition; *data
 * and *size are left on the partition. size must be more than 8. */
static inline uint64_t resize_input_split(const uint8_t **data, size_t *size)
{
    uint64_t new_bytes = (get_le64(*data) % (4 * (*size - 8) / 512 + 1)) * 512;
    *data += 8;
    *size -= 8;
    return new_bytes;
}

#endif
