/* libFuzzer harness for the qcow2 header and table parser: open (strict and
 * lenient), read guest data at spread offsets, and run the refcount check. */
#include <stdint.h>
#include <stdlib.h>

#include "qcow2/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (unsigned flags = 0; flags <= QCOW2_OPEN_CHECK; flags += QCOW2_OPEN_CHECK) {
        blockdev *bd;
        qcow2_image *img;
        p2v_err err;
        if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
            return 0;
        if (qcow2_image_open_bd(bd, flags, &img, &err) < 0)
            continue;
        const qcow2_info *qi = qcow2_image_info(img);
        uint8_t buf[4096];
        for (uint64_t i = 0; i < 8 && qi->virtual_size >= sizeof buf; i++) {
            uint64_t off = (qi->virtual_size - sizeof buf) / 7 * i;
            (void)qcow2_image_pread(img, NULL, buf, sizeof buf, off, &err);
        }
        qcow2_check_result res;
        (void)qcow2_check(img, &res, &err);
        qcow2_check_result_free(&res);
        qcow2_image_close(img);
    }
    return 0;
}
