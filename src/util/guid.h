/* GUIDs as stored on disk (GPT, BCD): the first three fields little-endian,
 * the last eight bytes as written. */
#ifndef P2V_UTIL_GUID_H
#define P2V_UTIL_GUID_H

#include <stdbool.h>
#include <stdint.h>

typedef struct p2v_guid {
    uint8_t b[16]; /* on-disk byte order */
} p2v_guid;

#define P2V_GUID_STRLEN 37 /* 36 characters and the NUL */

/* Lower-case "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void guid_format(const p2v_guid *g, char out[P2V_GUID_STRLEN]);
/* Accepts either case, with or without surrounding braces; 0 or -EINVAL. */
int guid_parse(const char *s, p2v_guid *out);
bool guid_is_zero(const p2v_guid *g);
bool guid_equal(const p2v_guid *a, const p2v_guid *b);
/* A random version-4 GUID from getrandom(); 0 or negative errno. */
int guid_generate(p2v_guid *out);
/* Fill buf with len random bytes from the kernel; 0 or negative errno. */
int p2v_random_bytes(void *buf, unsigned len);

#endif
