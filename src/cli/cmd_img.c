/* Placeholder: replaced by the work that delivers 'p2v img'. */
#include "cli/commands.h"

int cmd_img(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("'img' is not implemented yet");
    return P2V_EXIT_FAIL;
}
