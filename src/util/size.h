/* Sizes given by the user and sizes shown to the user. */
#ifndef P2V_UTIL_SIZE_H
#define P2V_UTIL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parse "123", "64K", "1M", "2.5G", "1T" (powers of 1024, optional trailing
 * "B"/"iB", as qemu-img accepts). 0, or -EINVAL / -ERANGE. */
int size_parse(const char *s, uint64_t *out);

/* "512 B", "1.5 KiB", "30.0 GiB": one decimal above bytes. Returns out. */
char *size_human(uint64_t bytes, char *out, size_t outlen);

/* Overflow-checked arithmetic on untrusted values: 0 or -ERANGE. */
int mul_u64(uint64_t a, uint64_t b, uint64_t *out);
int add_u64(uint64_t a, uint64_t b, uint64_t *out);

static inline uint64_t align_up_u64(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static inline uint64_t align_down_u64(uint64_t v, uint64_t a) { return v / a * a; }

#endif
