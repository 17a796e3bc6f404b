/* Minimal unit-test helpers: CHECK records a failure and goes on; the
 * program's exit status is the verdict (ctest reads it). */
#ifndef P2V_TEST_T_H
#define P2V_TEST_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_failures;
static int t_checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        t_checks++;                                                                    \
        if (!(cond)) {                                                                 \
            t_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                             \
    do {                                                                               \
        uint64_t t_a = (uint64_t)(a), t_b = (uint64_t)(b);                             \
        t_checks++;                                                                    \
        if (t_a != t_b) {                                                              \
            t_failures++;                                                              \
            fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n",    \
                    __FILE__, __LINE__, #a, #b, t_a, t_b);                             \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *t_a = (a), *t_b = (b);                                             \
        t_checks++;                                                                    \
        if (!t_a || !t_b || strcmp(t_a, t_b)) {                                        \
            t_failures++;                                                              \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
                    __LINE__, #a, #b, t_a ? t_a : "(null)", t_b ? t_b : "(null)");     \
        }                                                                              \
    } while (0)

static inline int t_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
    return t_failures ? 1 : 0;
}

#endif
