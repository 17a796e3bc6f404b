/* Is a buffer all zeros? Used wherever zero blocks are skipped (the copy
 * engine, the qcow2 writer). */
#ifndef P2V_UTIL_ZERO_H
#define P2V_UTIL_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The first 16 bytes by hand, then the buffer against itself shifted by 16:
 * memcmp's vectorised loop does the rest. */
static inline bool buf_is_zero(const void *buf, size_t n)
{
    const uint8_t *p = buf;
    size_t head = n < 16 ? n : 16;
    for (size_t i = 0; i < head; i++)
        if (p[i])
            return false;
    return n <= 16 || memcmp(p, p + 16, n - 16) == 0;
}

#endif
