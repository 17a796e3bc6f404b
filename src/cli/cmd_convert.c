/* Placeholder: replaced by the work that delivers 'p2v convert'. */
#include "cli/commands.h"

int cmd_convert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("'convert' is not implemented yet");
    return P2V_EXIT_FAIL;
}
