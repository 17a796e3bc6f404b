#include "util/size.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (__builtin_mul_overflow(a, b, out))
        return -ERANGE;
    return 0;
}

int add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (__builtin_add_overflow(a, b, out))
        return -ERANGE;
    return 0;
}

static int suffix_shift(const char *s, unsigned *shift)
{
    char c = (char)toupper((unsigned char)*s);
    const char *units = "BKMGTPE";
    const char *u = c ? strchr(units, c) : NULL;
    if (!u)
        return -EINVAL;
    *shift = (unsigned)(u - units) * 10;
    s++;
    if (c != 'B') {
        if (*s == 'i' || *s == 'I')
            s++;
        if (*s == 'b' || *s == 'B')
            s++;
    }
    return *s ? -EINVAL : 0;
}

int size_parse(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long whole = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    double frac = 0;
    if (*end == '.') {
        char *fend;
        frac = strtod(end, &fend);
        if (fend == end + 1)
            return -EINVAL;
        end = fend;
    }
    unsigned shift = 0;
    if (*end && suffix_shift(end, &shift) < 0)
        return -EINVAL;
    if (shift >= 64)
        return -ERANGE;
    uint64_t v;
    if (mul_u64(whole, (uint64_t)1 << shift, &v) < 0)
        return -ERANGE;
    if (frac > 0) {
        double extra = floor(frac * (double)((uint64_t)1 << shift));
        if (add_u64(v, (uint64_t)extra, &v) < 0)
            return -ERANGE;
    }
    *out = v;
    return 0;
}

char *size_human(uint64_t bytes, char *out, size_t outlen)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (bytes < 1024) {
        snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
        return out;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", v, units[u]);
    return out;
}
