/* p2v convert's selections (DISK:N[=SIZE|=min]) and the joining of "-c
 * zstd:LEVEL"-style optional arguments given as the next word, before getopt. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/convert_args.h"
#include "util/size.h"

/* SEL = DISK:N[=SIZE|=min], split at the last colon (a path may hold
 * colons). size/min may be NULL where no size is allowed (--active). */
int convert_parse_sel_sized(const char *s, char **path, unsigned *number, uint64_t *size,
                            bool *min)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return -EINVAL;
    unsigned long n = 0;
    const char *p = colon + 1;
    for (; *p && *p != '='; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > 1000000)
            return -EINVAL;
    }
    if (n == 0 || (*p == '=' && !size))
        return -EINVAL;
    if (size) {
        *size = 0;
        *min = false;
    }
    if (*p == '=' && convert_parse_new_size(p + 1, size, min) < 0)
        return -EINVAL;
    *path = strndup(s, (size_t)(colon - s));
    *number = (unsigned)n;
    return *path ? 0 : -ENOMEM;
}

int convert_parse_sel(const char *s, char **path, unsigned *number)
{
    return convert_parse_sel_sized(s, path, number, NULL, NULL);
}

/* Options whose argument may be the next word (skipped by the join below). */
static bool takes_next_word(const char *a)
{
    static const char *const opts[] = { "-o", "-O", "-t", "--output", "--output-format",
                                        "--table", "--boot", "--size", "--align", "--copy",
                                        "--cluster-size", "--add-esp", "--active",
                                        "--bad-sectors", "--bad-sectors-map", "--plan", "--save-plan", "-j",
                                        "--threads", "--queue-depth", "--io-timeout",
                                        "--rbd-timeout", "--rbd-features", "--vm-def",
                                        "--memory", "--cpus" };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strcmp(a, opts[i]))
            return true;
    return false;
}

/* "-c zstd" / "--compress zlib": getopt cannot take an optional argument in
 * the next word, so such pairs are joined first. The next word is the
 * compression name when it is zlib or zstd, or any word that is not a SEL
 * (no ':') and not an option; "-c lz4" then fails as an unknown compression.
 * "-c" before a SEL or an option means zlib. The joined words are in
 * *joined_out, freed with convert_free_joined_args(). */
char **convert_join_compress_args(int argc, char **argv, int *nargc, char ***joined_out)
{
    char **v = calloc((size_t)argc + 1, sizeof *v);
    char **joined = calloc((size_t)argc + 1, sizeof *joined);
    int n = 0;
    if (!v || !joined) {
        free(v);
        free(joined);
        return NULL;
    }
    for (int i = 0; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (i > 0 && !strcmp(argv[i], "--")) {
            for (; i < argc; i++)
                v[n++] = argv[i];
            break;
        }
        if (i > 0 && (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--compress")) && next &&
            next[0] != '-' &&
            (!strncmp(next, "zlib", 4) || !strncmp(next, "zstd", 4) || !strchr(next, ':'))) {
            size_t len = strlen(next) + sizeof "--compress=";
            if (!(joined[n] = malloc(len))) {
                for (int k = 0; k < argc; k++)
                    free(joined[k]);
                free(joined);
                free(v);
                return NULL;
            }
            snprintf(joined[n], len, "--compress=%s", next);
            v[n] = joined[n];
            n++;
            i++;
        } else if (i > 0 && takes_next_word(argv[i]) && next) {
            v[n++] = argv[i];
            v[n++] = argv[++i];
        } else {
            v[n++] = argv[i];
        }
    }
    *joined_out = joined;
    *nargc = n;
    return v;
}

void convert_free_joined_args(char **v, char **joined, int argc)
{
    for (int k = 0; joined && k < argc; k++)
        free(joined[k]);
    free(joined);
    free(v);
}
