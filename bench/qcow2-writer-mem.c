/* Memory bound of the qcow2 writer: write DATA_GIB GiB of non-zero clusters
 * spread over a VIRT_GIB GiB virtual disk, then finish, and print the peak
 * resident set size. The data is punched out of the output file behind the
 * writer (FALLOC_FL_PUNCH_HOLE) so that the benchmark needs no 100 GiB of
 * free disk; the writer's metadata (L2 tables, refcounts) is what is being
 * measured and is unaffected. Built and run by bench/qcow2-writer.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s OUTPUT DATA_GIB VIRT_GIB\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    uint64_t data = strtoull(argv[2], NULL, 10) << 30, virt = strtoull(argv[3], NULL, 10) << 30;
    const size_t chunk = 4u << 20;
    uint8_t *buf = malloc(chunk);
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13) | 1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    qcow2_writer *w;
    p2v_err err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fd < 0 || qcow2_writer_create(fd, path, virt, NULL, &w, &err) < 0) {
        fprintf(stderr, "create failed: %s\n", fd < 0 ? "open" : err.msg);
        return 1;
    }
    /* 1 GiB runs spread evenly over the virtual disk. */
    uint64_t runs = data >> 30, stride = (virt / runs) & ~0xffffULL, punched = 65536;
    for (uint64_t r = 0; r < runs; r++) {
        for (uint64_t off = 0; off < (1u << 30); off += chunk) {
            buf[0] = (uint8_t)(r + off); /* never all zero, never identical */
            if (qcow2_writer_pwrite(w, buf, chunk, r * stride + off, &err) < 0) {
                fprintf(stderr, "write failed: %s\n", err.msg);
                return 1;
            }
            uint64_t end = (uint64_t)lseek(fd, 0, SEEK_END);
            if (end - punched >= (64u << 20)) { /* drop the data before writeback */
                if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)punched,
                              (off_t)(end - punched)) < 0) {
                    perror("fallocate(PUNCH_HOLE)");
                    return 1;
                }
                punched = end;
            }
        }
    }
    if (qcow2_writer_finish(w, &err) < 0) {
        fprintf(stderr, "finish failed: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t allocated = qcow2_writer_allocated_bytes(w);
    qcow2_writer_free(w);
    close(fd);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("data_bytes=%llu virtual_bytes=%llu allocated_bytes=%llu max_rss_kib=%ld seconds=%.1f\n",
           (unsigned long long)data, (unsigned long long)virt, (unsigned long long)allocated,
           ru.ru_maxrss, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    free(buf);
    return 0;
}
