/* p2v tui: the picking screen. Arguments and errors here; the screens are tui/. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "tui/tui.h"
#include "util/size.h"

static const char tui_usage[] =
    "Usage: p2v tui [-o OUTPUT] [--sector-size 512|4096] [DISK...]\n"
    "\n"
    "The picking screen: every disk (DISK..., or with none every disk of the\n"
    "machine, as p2v disks lists them) with its partitions as a bar and a list;\n"
    "pick partitions with Space, put them in order with - and +, set the target\n"
    "(table, firmware, ESP, size, output, format, compression), preview the new\n"
    "disk and write it. Every choice is checked by the same planner as p2v\n"
    "convert, and the result screen shows the p2v convert command line that does\n"
    "the same. '?' on the screen lists the keys; see docs/tui.md.\n"
    "'p2v' with no arguments on a terminal starts this screen.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUTPUT      the image to write (default p2v.qcow2; changed with o)\n"
    "      --sector-size N      read image files with N-byte sectors (512 or 4096)\n"
    "  -h, --help               this text\n"
    "\n"
    "Colours follow NO_COLOR (set and not empty: none). Needs a terminal of at\n"
    "least 80x24 to show everything; it follows resizes.\n"
    "Exit status: 0 quit, 1 no terminal or the screen could not start, 2 usage error.\n";

int cmd_tui(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "sector-size", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    tui_opts o = { 0 };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.output = optarg;
            break;
        case 's':
            if (cli_sector_size_opt("tui", optarg, &o.sector_size))
                return P2V_EXIT_USAGE;
            break;
        case 'h':
            fputs(tui_usage, stdout);
            return P2V_EXIT_OK;
        default:
            return cli_option_error("tui", c, argv, tui_usage);
        }
    }
    struct sink_target_info ti;
    sink_target_info(o.output, &ti);
    if (o.output && (!o.output[0] || ti.to_stdout)) {
        cli_error("tui: -o needs a file name (to stream, use p2v convert -o -)");
        return P2V_EXIT_USAGE;
    }
    if (optind < argc) {
        o.paths = argv + optind;
        o.npaths = (size_t)(argc - optind);
    }
    p2v_err err;
    if (tui_main(&o, &err) < 0) {
        cli_error("tui: %s", err.msg);
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}
