#include "util/guid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/hex.h"

/* Order in which the 16 on-disk bytes are printed. */
static const int guid_print_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

void guid_format(const p2v_guid *g, char out[P2V_GUID_STRLEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        uint8_t v = g->b[guid_print_order[i]];
        out[o++] = hex[v >> 4];
        out[o++] = hex[v & 15];
    }
    out[o] = '\0';
}

int guid_parse(const char *s, p2v_guid *out)
{
    size_t len = strlen(s);
    if (len == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        len = 36;
    }
    if (len != 36)
        return -EINVAL;
    int i = 0;
    for (size_t pos = 0; pos < 36;) {
        if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
            if (s[pos] != '-')
                return -EINVAL;
            pos++;
            continue;
        }
        int hi = hex_digit(s[pos]), lo = hex_digit(s[pos + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out->b[guid_print_order[i++]] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    return 0;
}

bool guid_is_zero(const p2v_guid *g)
{
    for (int i = 0; i < 16; i++)
        if (g->b[i])
            return false;
    return true;
}

bool guid_equal(const p2v_guid *a, const p2v_guid *b) { return memcmp(a->b, b->b, 16) == 0; }

int p2v_random_bytes(void *buf, unsigned len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (unsigned)n;
    }
    return 0;
}

int guid_generate(p2v_guid *out)
{
    int r = p2v_random_bytes(out->b, 16);
    if (r < 0)
        return r;
    /* Version 4 in the high nibble of time_hi (stored little-endian at byte 7),
     * RFC 4122 variant in byte 8. */
    out->b[7] = (uint8_t)((out->b[7] & 0x0f) | 0x40);
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
    return 0;
}
