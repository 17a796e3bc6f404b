/* p2v: move a physical PC's partitions into a new KVM disk image in one pass. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/rbdlib.h"

static const char usage_text[] =
    "Usage: p2v COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Move partitions of one or more physical disks into a new qcow2 or raw disk\n"
    "image with a fresh partition table, copying only what the filesystems use.\n"
    "\n"
    "Commands:\n"
    "  disks [--json] [DISK...]        list disks and their partitions\n"
    "  convert [OPTIONS] -o OUTPUT SEL...\n"
    "                                  write the selected partitions (SEL = DISK:N)\n"
    "                                  into a new image, in the order given\n"
    "  plan show [--json] PLAN [DISK...]\n"
    "                                  how a plan file (by role or by disk identity)\n"
    "                                  resolves on the disks at hand\n"
    "  img info [--output=json] FILE   describe a qcow2 or raw image\n"
    "  img check [--output=json] FILE  check a qcow2 image's consistency\n"
    "  img map [--output=json] FILE    show where an image's data lives\n"
    "  img compare FILE1 FILE2         compare the contents of two images\n"
    "  img convert [OPTIONS] SRC DST   copy a raw or qcow2 image into a new qcow2\n"
    "  tui [DISK...]                   the picking screen: pick, order, preview and\n"
    "                                  write interactively ('p2v' alone on a\n"
    "                                  terminal starts it)\n"
    "  boot-check [OPTIONS] IMAGE      boot an image in qemu (never writing it) and\n"
    "                                  say whether it comes up\n"
    "  fleet serve --dir DIR --token-file FILE [--listen ADDR:PORT] [--live ISO|DIR]\n"
    "                                  receive the reports of many conversions\n"
    "                                  (convert --report-url), show them on a page,\n"
    "                                  serve p2v Live for network boot\n"
    "  fleet status [--json] URL       the PCs of a fleet server as a table\n"
    "\n"
    "Run 'p2v COMMAND --help' for the options of a command; 'p2v --version'\n"
    "(or -V) prints the version.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const struct cli_command commands[] = {
    { "disks", cmd_disks },
    { "convert", cmd_convert },
    { "img", cmd_img },
    { "tui", cmd_tui },
    { "boot-check", cmd_bootcheck },
    { "fleet", cmd_fleet },
    { "plan", cmd_plan },
};

/* Output that could not be written (a full disk, a closed pipe) is a
 * failure, not a success with the JSON silently lost. */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("error writing to standard output: %s", strerror(errno));
        return status == P2V_EXIT_OK ? P2V_EXIT_FAIL : status;
    }
    return status;
}

/* A Ceph client given up on (a cluster that stopped answering) may still
 * have librados threads at work, which the libraries' teardown at exit would
 * run into: such a process ends with _exit, its output flushed first. */
static int leave(int status)
{
    if (rbdlib_left_running()) {
        fflush(NULL);
        _exit(status);
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return leave(cmd_tui(1, (char *[]){ "tui", NULL }));
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("p2v %s\n", P2V_VERSION);
        return P2V_EXIT_OK;
    }
    int status;
    const struct cli_command *cmd = cli_pick_command(
        commands, sizeof commands / sizeof commands[0], argc, argv, usage_text,
        "unknown command '%s'", &status);
    if (!cmd)
        return status;
    return leave(finish_stdout(cmd->fn(argc - 1, argv + 1)));
}
