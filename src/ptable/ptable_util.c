/* The helpers every label parser shares (crc32, warnings, adding a
 * partition) and the small accessors of ptable.h: mbr.c and gpt.c use these,
 * ptable.c dispatches to them, and none of them calls back into ptable.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ptable/ptable_impl.h"
#include "util/endian.h"
#include "util/zero.h"

void ptable_sector0(ptable *t, enum ptable_type type, const uint8_t sector0[MBR_SIZE])
{
    t->type = type;
    t->mbr_signature = get_le32(sector0 + MBR_SIGNATURE_OFF);
    memcpy(t->boot_code, sector0, MBR_BOOT_CODE_SIZE);
    t->has_boot_code = !buf_is_zero(sector0, MBR_BOOT_CODE_SIZE);
}

uint32_t ptable_crc32(const uint8_t *buf, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (len > 0) { /* zlib takes uInt lengths */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, buf, chunk);
        buf += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}

void ptable_warn(ptable *t, const char *fmt, ...)
{
    if (t->warnings.count >= PTABLE_MAX_WARNINGS) {
        t->warnings_dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    p2v_vwarn(&t->warnings, fmt, ap);
    va_end(ap);
}

const char *ptable_type_str(enum ptable_type type)
{
    switch (type) {
    case PTABLE_MBR:
        return "mbr";
    case PTABLE_GPT:
        return "gpt";
    default:
        return "none";
    }
}

uint64_t ptable_part_end(const ptable_part *p) { return p->size ? p->start + p->size - 1 : p->start; }

const ptable_part *ptable_find(const ptable *t, unsigned number)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].number == number)
            return &t->parts[i];
    return NULL;
}

int ptable_add_part(ptable *t, const ptable_part *p, p2v_err *err)
{
    ptable_part *n = realloc(t->parts, (t->nparts + 1) * sizeof *n);
    if (!n)
        return p2v_errf(err, -ENOMEM, "out of memory");
    t->parts = n;
    t->parts[t->nparts++] = *p;
    return 0;
}

void ptable_free(ptable *t)
{
    if (!t)
        return;
    free(t->parts);
    p2v_warnings_free(&t->warnings);
    p2v_warnings_free(&t->notices);
    free(t);
}
