/* One code point as UTF-8: for the names other formats keep in UTF-16 (GPT
 * partition names, INF files) and the \u escapes of plan files. */
#ifndef P2V_UTIL_UTF8_H
#define P2V_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cp (up to U+10FFFF; surrogates are the caller's to replace) in out as 1
 * to 4 bytes; returns how many. */
static inline size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
