/* p2v img: qemu-img-compatible inspection (info, check, map, compare) of
 * qcow2 and raw images, and convert into a qcow2 written by p2v's own writer. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/img_ops.h"

static const char img_usage[] =
    "Usage: p2v img SUBCOMMAND [OPTIONS] ARGS\n"
    "\n"
    "Inspect qcow2 (v2 and v3, any cluster size, zlib/zstd-compressed clusters,\n"
    "backing chains) and raw images the way qemu-img does, with its JSON field\n"
    "names and exit codes.\n"
    "\n"
    "Subcommands:\n"
    "  info [--output=json] FILE      format, sizes and qcow2 options\n"
    "  check [--output=json] FILE     rebuild refcounts and compare: exit 0 clean,\n"
    "                                 1 could not check, 2 corruptions, 3 leaks only\n"
    "  map [--output=json] FILE       where each range of the disk's data lives\n"
    "  compare FILE1 FILE2            equal content? exit 0 equal, 1 different, 2 error\n"
    "  convert [OPTIONS] SRC DST      write SRC (raw or qcow2) into a new qcow2 DST\n"
    "\n"
    "Run 'p2v img SUBCOMMAND --help' for details.\n";

static const struct cli_command subs[] = {
    { "info", img_info_main },
    { "check", img_check_main },
    { "map", img_map_main },
    { "compare", img_compare_main },
    { "convert", img_convert_main },
};

int cmd_img(int argc, char **argv)
{
    int status;
    const struct cli_command *sub = cli_pick_command(subs, sizeof subs / sizeof subs[0], argc, argv,
                                                     img_usage, "img: unknown subcommand '%s'",
                                                     &status);
    if (!sub)
        return status;
    optind = 0; /* getopt restarts for the subcommand */
    return sub->fn(argc - 1, argv + 1);
}
