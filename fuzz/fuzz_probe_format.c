/* libFuzzer harness for image format detection (bd_probe_format and the VHD
 * footer parser): the input is a whole image file; its first bytes and its
 * last 512 bytes are probed as bd_open does, with every short length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < BD_PROBE_HEAD ? size : BD_PROBE_HEAD;
    const uint8_t *last = size >= 1024 ? data + size - 512 : NULL;
    const char *name = NULL;
    uint64_t data_size = 0;
    /* Copy the head so that ASan catches any read past n. */
    uint8_t *head = malloc(n ? n : 1);
    if (!head)
        return 0;
    memcpy(head, data, n);
    enum bd_fmt f = bd_probe_format(head, n, last, size, &name, &data_size);
    if (!name)
        abort();
    if (f == BD_FMT_VPC_FIXED && (data_size == 0 || data_size > size - 512))
        abort();
    /* Any length of head, with and without a tail. */
    for (size_t k = 0; k < n; k += 61)
        (void)bd_probe_format(head, k, NULL, size, &name, NULL);
    if (size >= 512) {
        uint32_t type;
        uint64_t cur;
        (void)bd_vhd_footer_parse(data + size - 512, &type, &cur);
    }
    free(head);
    return 0;
}
