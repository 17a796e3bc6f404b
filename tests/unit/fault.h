/* Fault injection for unit tests: a memory target whose writes fail at a
 * chosen offset (a full disk, a dying output), next to bd_open_faulty for
 * sources with bad sectors. */
#ifndef P2V_TEST_FAULT_H
#define P2V_TEST_FAULT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util/err.h"

struct fault_target {
    uint8_t *b;
    size_t n;
    uint64_t fail_at;  /* a write touching this byte fails; UINT64_MAX: never */
    int fail_code;     /* e.g. -ENOSPC */
    unsigned writes;
};

static inline int fault_write(void *ctx, uint64_t off, const void *buf, size_t len, p2v_err *e)
{
    struct fault_target *t = ctx;
    t->writes++;
    if (off + len > t->n)
        return p2v_errf(e, -EINVAL, "write past the end of the target");
    if (t->fail_at >= off && t->fail_at < off + len)
        return p2v_errf(e, t->fail_code, "target: write at offset %llu: %s",
                        (unsigned long long)off, strerror(-t->fail_code));
    memcpy(t->b + off, buf, len);
    return 0;
}

#endif
