/* Placeholder: replaced by the work that delivers 'p2v disks'. */
#include "cli/commands.h"

int cmd_disks(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("'disks' is not implemented yet");
    return P2V_EXIT_FAIL;
}
