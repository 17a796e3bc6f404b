/* What the commands share besides printing: finding a command by name, the
 * errors of getopt_long, the options more than one command takes. */
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "convert/convert.h"
#include "util/size.h"

void cli_convert_message(void *ctx, enum convert_level level, const char *msg)
{
    (void)ctx;
    if (level == CONVERT_WARNING)
        cli_warning("%s", msg);
    else
        cli_notice("%s", msg);
}

const struct cli_command *cli_pick_command(const struct cli_command *t, size_t n, int argc,
                                           char **argv, const char *usage,
                                           const char *unknown_fmt, int *status)
{
    const char *name = argc >= 2 ? argv[1] : NULL;
    *status = P2V_EXIT_USAGE;
    if (name && (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help"))) {
        fputs(usage, stdout);
        *status = P2V_EXIT_OK;
        return NULL;
    }
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(name, t[i].name))
            return &t[i];
    if (name)
        cli_error(unknown_fmt, name);
    fputs(usage, stderr);
    return NULL;
}

int cli_usage_error(const char *usage)
{
    fputs(usage, stderr);
    return P2V_EXIT_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv, const char *usage)
{
    if (c == ':')
        cli_error("%s: option '%s' needs an argument", cmd, argv[optind - 1]);
    else if (optopt) /* a short option: its argument may hold more letters */
        cli_error("%s: unknown option '-%c'", cmd, optopt);
    else
        cli_error("%s: unknown option '%s'", cmd, argv[optind - 1]);
    return cli_usage_error(usage);
}

int cli_sector_size_opt(const char *cmd, const char *v, uint32_t *out)
{
    uint64_t n;
    if (size_parse(v, &n) < 0 || (n != 512 && n != 4096)) {
        cli_error("%s: --sector-size must be 512 or 4096, not '%s'", cmd, v);
        return P2V_EXIT_USAGE;
    }
    *out = (uint32_t)n;
    return 0;
}
