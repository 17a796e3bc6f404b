/* p2v img convert: copy a raw or qcow2 image into a new qcow2 written by
 * p2v's own writer (the writer's command-line face, used by the tests and
 * the benchmark). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "cli/commands.h"
#include "cli/img_ops.h"
#include "qcow2/qcow2.h"
#include "sink/guard.h"
#include "sink/sink.h"
#include "util/size.h"

static const char convert_usage[] =
    "Usage: p2v img convert [OPTIONS] SRC DST\n"
    "\n"
    "Write the content of SRC (raw or qcow2) into a new qcow2 image DST.\n"
    "All-zero clusters are left unallocated.\n"
    "\n"
    "Options:\n"
    "  -c, --compress [zlib|zstd]  compressed clusters (default zlib; \"-c zstd\",\n"
    "                              \"-czstd\" and \"--compress=zstd\" all work)\n"
    "      --cluster-size SIZE     512 to 2M, default 64K\n"
    "      --compat 0.10|1.1       qcow2 version 2 or 3 (default 1.1)\n"
    "  -f, --force                 overwrite an existing DST (never SRC, a file of\n"
    "                              its backing chain, or the file behind a source\n"
    "                              loop device; DST must be a regular file)\n"
    "  -h, --help                  this text\n"
    "\n"
    "DST is written under a temporary name beside it and renamed at the end; on an\n"
    "error or a signal (INT, TERM, HUP, PIPE, QUIT, USR1, USR2) it is removed and an\n"
    "existing DST is left as it was.\n";

static volatile sig_atomic_t img_convert_cancel;

#define CHUNK (4u * 1024 * 1024)
#define READ_AHEAD (8 * (uint64_t)CHUNK)

/* The source is read one chunk ahead by a second thread while the writer
 * stores the previous chunk. */
struct reader {
    blockdev *bd;
    int fd; /* the source file, for read-ahead advice; -1 if not a plain file */
    uint64_t size;
    uint8_t *buf[2];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready[2];   /* 1 filled, -1 read error, 0 empty */
    bool stop;
    p2v_err err;
};

static void *read_ahead(void *arg)
{
    struct reader *rd = arg;
    unsigned k = 0;
    for (uint64_t off = 0; off < rd->size; off += CHUNK, k ^= 1) {
        pthread_mutex_lock(&rd->mu);
        while (rd->ready[k] && !rd->stop)
            pthread_cond_wait(&rd->cv, &rd->mu);
        bool stop = rd->stop;
        pthread_mutex_unlock(&rd->mu);
        if (stop)
            break;
        size_t n = rd->size - off < CHUNK ? (size_t)(rd->size - off) : CHUNK;
        /* Keep several chunks of read-ahead in flight (as qemu-img's parallel
         * requests do): the disk is faster with a deeper queue. */
        if (rd->fd >= 0)
            (void)posix_fadvise(rd->fd, (off_t)(off + READ_AHEAD), CHUNK, POSIX_FADV_WILLNEED);
        int r = bd_pread(rd->bd, rd->buf[k], n, off, &rd->err);
        pthread_mutex_lock(&rd->mu);
        rd->ready[k] = r < 0 ? -1 : 1;
        pthread_cond_broadcast(&rd->cv);
        pthread_mutex_unlock(&rd->mu);
        if (r < 0)
            break;
    }
    return NULL;
}

/* Copy the whole source into the sink; 0 or -1 with *err filled. */
static int copy_all(blockdev *bd, sink *w, p2v_err *err)
{
    struct reader rd = { .bd = bd, .size = bd_size(bd), .fd = bd_raw_fd(bd) };
    int ret = -1;
    rd.buf[0] = malloc(CHUNK);
    rd.buf[1] = malloc(CHUNK);
    pthread_mutex_init(&rd.mu, NULL);
    pthread_cond_init(&rd.cv, NULL);
    if (!rd.buf[0] || !rd.buf[1]) {
        p2v_errf(err, -ENOMEM, "out of memory");
        goto out_nothread;
    }
    if (rd.fd >= 0) { /* a plain file or device: read it sequentially */
        (void)posix_fadvise(rd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        (void)posix_fadvise(rd.fd, 0, READ_AHEAD, POSIX_FADV_WILLNEED);
    }
    if (pthread_create(&rd.th, NULL, read_ahead, &rd) != 0) {
        p2v_errf(err, -EAGAIN, "cannot start the reading thread");
        goto out_nothread;
    }
    unsigned k = 0;
    uint64_t off = 0;
    for (; off < rd.size; off += CHUNK, k ^= 1) {
        pthread_mutex_lock(&rd.mu);
        while (!rd.ready[k])
            pthread_cond_wait(&rd.cv, &rd.mu);
        int st = rd.ready[k];
        pthread_mutex_unlock(&rd.mu);
        if (st < 0) {
            *err = rd.err;
            break;
        }
        size_t n = rd.size - off < CHUNK ? (size_t)(rd.size - off) : CHUNK;
        if (img_convert_cancel) {
            p2v_errf(err, -EINTR, "interrupted by a signal");
            break;
        }
        if (sink_write(w, off, rd.buf[k], n, err) < 0)
            break;
        pthread_mutex_lock(&rd.mu);
        rd.ready[k] = 0;
        pthread_cond_broadcast(&rd.cv);
        pthread_mutex_unlock(&rd.mu);
    }
    if (off >= rd.size)
        ret = 0;
    pthread_mutex_lock(&rd.mu);
    rd.stop = true;
    pthread_cond_broadcast(&rd.cv);
    pthread_mutex_unlock(&rd.mu);
    pthread_join(rd.th, NULL);
out_nothread:
    pthread_mutex_destroy(&rd.mu);
    pthread_cond_destroy(&rd.cv);
    free(rd.buf[0]);
    free(rd.buf[1]);
    return ret;
}

int img_convert_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "compress", optional_argument, NULL, 'c' },
        { "cluster-size", required_argument, NULL, 'C' },
        { "compat", required_argument, NULL, 'V' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    sink_opts opts = { .format = SINK_QCOW2 };
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "c::fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            /* "-c zstd SRC DST" as well as "-czstd": a following zlib/zstd is
             * the method when SRC and DST still follow it. */
            if (!optarg && optind < argc && argc - optind >= 3 &&
                (!strcmp(argv[optind], "zlib") || !strcmp(argv[optind], "zstd")))
                optarg = argv[optind++];
            if (!optarg || !strcmp(optarg, "zlib"))
                opts.compression = SINK_COMPRESS_ZLIB;
            else if (!strcmp(optarg, "zstd"))
                opts.compression = SINK_COMPRESS_ZSTD;
            else {
                cli_error("img convert: unknown compression '%s' (zlib or zstd)", optarg);
                return P2V_EXIT_USAGE;
            }
            break;
        case 'C': {
            uint64_t v;
            if (size_parse(optarg, &v) < 0 || v > UINT32_MAX) {
                cli_error("img convert: bad cluster size '%s'", optarg);
                return P2V_EXIT_USAGE;
            }
            opts.cluster_size = (uint32_t)v;
            break;
        }
        case 'V':
            if (!strcmp(optarg, "0.10"))
                opts.qcow2_version = 2;
            else if (!strcmp(optarg, "1.1"))
                opts.qcow2_version = 3;
            else {
                cli_error("img convert: compat must be 0.10 or 1.1, not '%s'", optarg);
                return P2V_EXIT_USAGE;
            }
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            fputs(convert_usage, stdout);
            return P2V_EXIT_OK;
        default:
            fputs(convert_usage, stderr);
            return P2V_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fputs(convert_usage, stderr);
        return P2V_EXIT_USAGE;
    }
    const char *src = argv[optind], *dst = argv[optind + 1];
    opts.force = force;
    p2v_err err = { { 0 } };
    sink_source source = { .path = src };
    blockdev *bd = NULL;
    sink_signals sigs;
    char *write_path = NULL;
    sink *sk = NULL;
    int ret = P2V_EXIT_FAIL;

    img_convert_cancel = 0;
    sink_catch_signals(&sigs, &img_convert_cancel);
    if (stat(src, &source.st) < 0) {
        cli_error("%s: %s", src, strerror(errno));
        goto out;
    }
    if (bd_open(src, &bd, &err) < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    source.bd = bd;
    if (sink_guard_output(dst, &source, 1, force, &write_path, &err) < 0 ||
        sink_create(write_path ? write_path : dst, bd_size(bd), &opts, &sk, &err) < 0 ||
        copy_all(bd, sk, &err) < 0 || sink_finish(sk, &err) < 0 ||
        sink_commit(sk, &err) < 0) {
        cli_error("%s", err.msg);
        if (sk)
            cli_error("%s was not written", dst);
        goto out;
    }
    ret = P2V_EXIT_OK;
out:
    sink_close(sk);
    sink_restore_signals(&sigs);
    bd_close(bd);
    free(write_path);
    return ret;
}
