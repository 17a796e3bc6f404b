/* libFuzzer harness for QMP messages from qemu: any bytes as one line.
 * A parsed message's strings must be NUL-terminated within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/bootcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bootcheck_qmp_msg m;
    p2v_err err;
    if (bootcheck_qmp_parse((const char *)data, size, &m, &err) == 0) {
        if (m.kind < BOOTCHECK_QMP_GREETING || m.kind > BOOTCHECK_QMP_EVENT)
            abort();
        if (strnlen(m.event, sizeof m.event) == sizeof m.event ||
            strnlen(m.reason, sizeof m.reason) == sizeof m.reason ||
            strnlen(m.status, sizeof m.status) == sizeof m.status ||
            strnlen(m.desc, sizeof m.desc) == sizeof m.desc)
            abort();
    }
    return 0;
}
