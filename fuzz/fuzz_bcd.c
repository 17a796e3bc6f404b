/* libFuzzer harness: the BCD device-element parser (partition blocks, the
 * ramdisk's nested image record) and the MountedDevices value forms on
 * arbitrary bytes. Every reference found must lie inside the element, and
 * writing a new identity into each must leave an element that parses to the
 * same number of references. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "windows/windows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    win_dev_ref refs[8];
    size_t n = 0, n2 = 0;
    char why[200];
    win_part_id id;
    (void)win_md_parse(data, size, &id);
    if (win_bcd_device_parse(data, size, refs, 8, &n, why, sizeof why) != 0)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    for (size_t i = 0; i < n && i < 8; i++) {
        if (refs[i].offset + WIN_BCD_PART_BLOCK > size)
            __builtin_trap(); /* a reference outside the element */
        win_part_id to = { .gpt = i & 1, .mbr_signature = 0x89abcdef, .mbr_offset = 1 << 20 };
        memset(to.part_guid.b, 0xA5, 16);
        win_bcd_device_set(copy, refs[i].offset, &to);
    }
    if (win_bcd_device_parse(copy, size, refs, 8, &n2, why, sizeof why) != 0 || n2 != n)
        __builtin_trap(); /* rewriting changed the structure */
    free(copy);
    return 0;
}
