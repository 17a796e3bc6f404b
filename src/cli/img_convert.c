/* p2v img convert: copy a raw or qcow2 image into a new qcow2 written by
 * p2v's own writer (the writer's command-line face, used by the tests and
 * the benchmark). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/copy_timing.h"
#include "cli/img_ops.h"
#include "copy/copy.h"
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
    "  -c, --compress [zlib|zstd][:LEVEL]\n"
    "                              compressed clusters (default zlib; \"-c zstd\",\n"
    "                              \"-czstd\" and \"--compress=zstd\" all work); LEVEL\n"
    "                              zlib 1-9 (default 6), zstd 1-19 (default 3)\n"
    "  -j, --threads N             compressing threads (default: the online CPUs);\n"
    "                              the image is the same for every N; high zstd levels\n"
    "                              use fewer threads (codec memory at most 24 MiB)\n"
    "      --queue-depth N         source reads in flight, 1-16 (default 4)\n"
    "      --io-timeout SECONDS    an NBD source (SRC nbd://...) silent this long\n"
    "                              fails the command (default 60)\n"
    "      --cluster-size SIZE     512 to 2M, default 64K\n"
    "      --compat 0.10|1.1       qcow2 version 2 or 3 (default 1.1)\n"
    "  -f, --force                 overwrite an existing DST (never SRC, a file of\n"
    "                              its backing chain or VHD/VHDX parent chain, a\n"
    "                              VMDK extent file, or the file behind a source\n"
    "                              loop device; DST must be a regular file)\n"
    "  -h, --help                  this text\n"
    "\n"
    "DST is written under a temporary name beside it and renamed at the end; on an\n"
    "error or a signal (INT, TERM, HUP, PIPE, QUIT, USR1, USR2) it is removed and an\n"
    "existing DST is left as it was.\n";

static volatile sig_atomic_t img_convert_cancel;

/* Copy the whole source into the sink through the copy engine (reads in
 * flight while the writer stores, zero granules skipped). */
static int copy_all(blockdev *bd, sink *w, unsigned queue_depth, copy_stats *st, p2v_err *err)
{
    copy_range r = { .src = bd, .src_len = bd_size(bd), .dst_len = bd_size(bd),
                     .what = bd_path(bd) };
    copy_opts o = { .queue_depth = queue_depth, .cancel = &img_convert_cancel };
    sink_copy_opts(w, &o);
    return copy_run(&r, 1, &o, st, err);
}

static int parse_count(const char *opt, const char *arg, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > max) {
        cli_error("img convert: %s must be a number from 1 to %u, not '%s'", opt, max, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int img_convert_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "compress", optional_argument, NULL, 'c' },
        { "cluster-size", required_argument, NULL, 'C' },
        { "compat", required_argument, NULL, 'V' },
        { "force", no_argument, NULL, 'f' },
        { "threads", required_argument, NULL, 'j' },
        { "queue-depth", required_argument, NULL, 'Q' },
        { "io-timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    sink_opts opts = { .format = SINK_QCOW2 };
    bool force = false;
    unsigned queue_depth = 0;
    int c;
    p2v_err err = { { 0 } };
    while ((c = getopt_long(argc, argv, "c::fhj:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            /* "-c zstd SRC DST" as well as "-czstd": a following zlib/zstd
             * (with its :LEVEL) is the method when SRC and DST still follow it. */
            if (!optarg && optind < argc && argc - optind >= 3 &&
                (!strncmp(argv[optind], "zlib", 4) || !strncmp(argv[optind], "zstd", 4)))
                optarg = argv[optind++];
            if (!optarg) {
                opts.compression = SINK_COMPRESS_ZLIB;
            } else if (sink_compression_parse(optarg, &opts.compression, &opts.level, &err) < 0) {
                cli_error("img convert: %s", err.msg);
                return P2V_EXIT_USAGE;
            }
            break;
        case 'j':
            if (parse_count("-j", optarg, QCOW2_MAX_THREADS, &opts.threads) < 0)
                return P2V_EXIT_USAGE;
            break;
        case 'Q':
            if (parse_count("--queue-depth", optarg, COPY_MAX_QUEUE_DEPTH, &queue_depth) < 0)
                return P2V_EXIT_USAGE;
            break;
        case 'T':
            if (img_parse_io_timeout("convert", optarg, &opts.io_timeout) < 0)
                return P2V_EXIT_USAGE;
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
            return cli_usage_error(convert_usage);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(convert_usage);
    const char *src = argv[optind], *dst = argv[optind + 1];
    opts.force = force;
    sink_source source = { .path = src };
    blockdev *bd = NULL;
    sink_signals sigs;
    char *write_path = NULL;
    sink *sk = NULL;
    copy_stats st;
    int ret = P2V_EXIT_FAIL;

    img_convert_cancel = 0;
    sink_catch_signals(&sigs, &img_convert_cancel);
    if (source_open(src, &(source_opts){ .io_timeout = opts.io_timeout }, &bd, &err) < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    /* A source that is no file (an NBD export) has no stat (left zero): no
     * file to keep DST off, beyond its name. */
    if (stat(src, &source.st) < 0 && errno != ENOENT) {
        cli_error("%s: %s", src, strerror(errno));
        goto out;
    }
    source.bd = bd;
    if (sink_guard_output(dst, &source, 1, force, &write_path, &err) < 0 ||
        sink_create(write_path ? write_path : dst, bd_size(bd), &opts, &sk, &err) < 0 ||
        copy_all(bd, sk, queue_depth, &st, &err) < 0 || sink_finish(sk, &err) < 0 ||
        sink_commit(sk, &err) < 0) {
        cli_error("%s", err.msg);
        if (sk)
            cli_error("%s was not written", dst);
        goto out;
    }
    cli_print_copy_timing(&st);
    ret = P2V_EXIT_OK;
out:
    sink_close(sk);
    sink_restore_signals(&sigs);
    bd_close(bd);
    free(write_path);
    return ret;
}
