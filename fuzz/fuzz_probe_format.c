/* libFuzzer harness for image format detection (the source registry's
 * probes, source_probe_bytes, and the VHD footer parser): the input is a
 * whole image file; its first bytes and its last 512 bytes are probed as
 * source_open does, with every short length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < SOURCE_PROBE_HEAD ? size : SOURCE_PROBE_HEAD;
    const uint8_t *last = size >= 1024 ? data + size - 512 : NULL;
    uint64_t data_size = 0;
    /* Copy the head so that ASan catches any read past n. */
    uint8_t *head = malloc(n ? n : 1);
    if (!head)
        return 0;
    memcpy(head, data, n);
    source_probe p = { .head = head, .n = n, .tail = last, .size = size };
    const struct source_format *f = source_probe_bytes(&p, &data_size);
    if (!f || !f->name)
        abort();
    if (f == &source_vpc && (data_size == 0 || data_size > size - 512))
        abort();
    if (f != &source_vpc && data_size != size)
        abort();
    /* Any length of head, with and without a tail. */
    for (size_t k = 0; k < n; k += 61) {
        source_probe q = { .head = head, .n = k, .tail = NULL, .size = size };
        (void)source_probe_bytes(&q, NULL);
    }
    if (size >= 512) {
        uint32_t type;
        uint64_t cur;
        (void)source_vhd_footer_parse(data + size - 512, &type, &cur);
    }
    free(head);
    return 0;
}
