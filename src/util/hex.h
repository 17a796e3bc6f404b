/* One hexadecimal digit's value: GUIDs, plan files' \u escapes, the hex
 * words a boot screen shows. */
#ifndef P2V_UTIL_HEX_H
#define P2V_UTIL_HEX_H

/* 0-15, or -1 when c is no hex digit. */
static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
