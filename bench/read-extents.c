/* The read limit of a used-block copy: read exactly the used extents of one
 * partition (the map p2v's copy engine follows), in requests of at most
 * REQUEST bytes, one pread at a time in one thread, and nothing else. With
 * --list it prints the extents instead ("START LEN" in bytes of the disk).
 * Built and run by bench/read-limit. usage: read-extents DISK N REQUEST [--list] */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "fs/fsmap.h"
#include "ptable/ptable.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DISK N REQUEST [--list]\n", argv[0]);
        return 2;
    }
    unsigned number = (unsigned)strtoul(argv[2], NULL, 10);
    size_t req = strtoull(argv[3], NULL, 10);
    bool list = argc > 4 && !strcmp(argv[4], "--list");
    blockdev *bd;
    ptable *t;
    p2v_err err;
    if (source_open(argv[1], NULL, &bd, &err) < 0 || ptable_read(bd, &t, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const ptable_part *p = NULL;
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].number == number)
            p = &t->parts[i];
    if (!p) {
        fprintf(stderr, "%s: no partition %u\n", argv[1], number);
        return 1;
    }
    uint64_t off = p->start * t->sector_size, len = p->size * t->sector_size;
    fsmap m;
    if (fsmap_build(bd, off, len, NULL, &m, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (m.full) {
        m.used.count = 0;
        extent_list_add(&m.used, 0, len);
    }
    int fd = open(argv[1], O_RDONLY);
    uint8_t *buf = malloc(req);
    uint64_t total = 0, calls = 0;
    double t0 = now();
    for (size_t i = 0; i < m.used.count; i++) {
        uint64_t s = off + m.used.v[i].start, e = s + m.used.v[i].len;
        if (list) {
            printf("%llu %llu\n", (unsigned long long)s, (unsigned long long)(e - s));
            continue;
        }
        for (; s < e; s += req) {
            size_t n = e - s < req ? (size_t)(e - s) : req;
            if (pread(fd, buf, n, (off_t)s) != (ssize_t)n) {
                perror("pread");
                return 1;
            }
            total += n;
            calls++;
        }
    }
    if (!list)
        printf("bytes=%llu reads=%llu extents=%zu seconds=%.3f\n", (unsigned long long)total,
               (unsigned long long)calls, m.used.count, now() - t0);
    free(buf);
    close(fd);
    fsmap_free(&m);
    ptable_free(t);
    bd_close(bd);
    return 0;
}
