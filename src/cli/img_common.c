/* Argument parsing shared by `p2v img info|check|map`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "cli/commands.h"
#include "cli/img_ops.h"

int img_parse_output_args(int argc, char **argv, const char *usage, int *json,
                          const char **file)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    *json = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
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
            fputs(usage, stderr);
            return P2V_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(usage, stderr);
        return P2V_EXIT_USAGE;
    }
    *file = argv[optind];
    return 0;
}

void img_unsupported(const char *path, const char *name)
{
    cli_error("%s: %s image: not supported; p2v reads qcow2, raw, VHD, VHDX and VMDK images "
              "(convert it to raw or qcow2 with qemu-img first)", path, name);
}

bool img_refuse_unsupported(const char *path)
{
    enum bd_fmt fmt;
    const char *name;
    p2v_err err = { { 0 } };
    if (bd_probe_path(path, &fmt, &name, NULL, &err) < 0) {
        cli_error("%s", err.msg);
        return true;
    }
    if (fmt == BD_FMT_UNSUPPORTED) {
        img_unsupported(path, name);
        return true;
    }
    return false;
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
