/* Argument parsing shared by `p2v img info|check|map`. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/img_ops.h"

int img_parse_io_timeout(const char *cmd, const char *arg, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < 1 || v > IMG_IO_TIMEOUT_MAX) {
        cli_error("img %s: --io-timeout must be a number of seconds from 1 to %u, not '%s'", cmd,
                  IMG_IO_TIMEOUT_MAX, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int img_parse_output_args(int argc, char **argv, const char *usage, int *json,
                          unsigned *io_timeout, const char **file)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "io-timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    *json = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'T':
            if (!io_timeout)
                return cli_usage_error(usage);
            if (img_parse_io_timeout(argv[0], optarg, io_timeout) < 0)
                return P2V_EXIT_USAGE;
            break;
        case 'o':
            if (!strcmp(optarg, "json"))
                *json = 1;
            else if (!strcmp(optarg, "human"))
                *json = 0;
            else {
                cli_error("img %s: --output must be 'json' or 'human', not '%s'", argv[0], optarg);
                return P2V_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            return cli_usage_error(usage);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(usage);
    *file = argv[optind];
    return 0;
}

int img_run_on_file(int argc, char **argv, const char *usage,
                    int (*run)(const char *path, int json))
{
    int json = 0;
    const char *path = NULL;
    int r = img_parse_output_args(argc, argv, usage, &json, NULL, &path);
    if (r)
        return r < 0 ? P2V_EXIT_OK : r;
    return run(path, json);
}

void img_unsupported(const char *path, const char *name)
{
    cli_error("%s: %s image: not supported; p2v reads qcow2, raw, VHD, VHDX and VMDK images "
              "(convert it to raw or qcow2 with qemu-img first)", path, name);
}

const struct source_format *img_probe_supported(const char *path, uint64_t *data_size)
{
    const struct source_format *fmt;
    p2v_err err = { { 0 } };
    if (source_probe_path(path, &fmt, data_size, &err) < 0) {
        cli_error("%s", err.msg);
        return NULL;
    }
    if (!fmt->open) {
        img_unsupported(path, fmt->name);
        return NULL;
    }
    return fmt;
}

bool img_refuse_unsupported(const char *path)
{
    return !img_probe_supported(path, NULL);
}

char *img_size_str(uint64_t bytes, char *out, size_t outlen)
{
    static const char *const prefix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    unsigned u = 0;
    /* Next unit once the value reaches 1000 of this one (1000 << 50 fits). */
    while (u < 6 && bytes >= (1000ULL << (10 * u)))
        u++;
    snprintf(out, outlen, "%0.3g %sB", (double)bytes / (double)(1ULL << (10 * u)), prefix[u]);
    return out;
}
