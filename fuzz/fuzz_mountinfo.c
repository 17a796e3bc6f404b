/* libFuzzer harness: the /proc/self/mountinfo parser on arbitrary text. */
#include <stdint.h>
#include <string.h>

#include "blockdev/blockdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0, last = 0;
    bd_mountinfo e;
    while (bd_mountinfo_next((const char *)data, size, &pos, &e)) {
        if (pos <= last || pos > size || strlen(e.point) >= sizeof e.point ||
            strlen(e.source) >= sizeof e.source)
            __builtin_trap(); /* no progress, or a field not terminated */
        last = pos;
    }
    return 0;
}
