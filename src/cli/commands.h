/* Sub-commands of p2v. Each returns the process exit status:
 * 0 success, 1 failure, 2 usage error (see SPEC.md). argv[0] is the command name. */
#ifndef P2V_CLI_COMMANDS_H
#define P2V_CLI_COMMANDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "convert/convert.h"

#define P2V_EXIT_OK 0
#define P2V_EXIT_FAIL 1
#define P2V_EXIT_USAGE 2

int cmd_disks(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_img(int argc, char **argv);
int cmd_tui(int argc, char **argv);
int cmd_bootcheck(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_plan(int argc, char **argv);

/* Print "p2v: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of the first cli_error ("" before any): the reason a failed report gives. */
const char *cli_first_error(void);

/* A command or sub-command by name: the tables main and "img" dispatch with. */
struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
};
/* The row of t (n rows) that argv[1] names; NULL after the usage text: on
 * stdout for "--help", "-h" or "help" (*status 0), else on stderr after
 * unknown_fmt with argv[1] ("unknown command '%s'") when there is one
 * (*status 2). */
const struct cli_command *cli_pick_command(const struct cli_command *t, size_t n, int argc,
                                           char **argv, const char *usage,
                                           const char *unknown_fmt, int *status);

/* A command line a command cannot take: its usage text on stderr; returns 2. */
int cli_usage_error(const char *usage);
/* getopt_long's ':' (a value missing) or anything else it refuses, for
 * command cmd ("disks"): "p2v: CMD: option '...' needs an argument" or
 * "p2v: CMD: unknown option '...'", then usage on stderr. Returns 2. */
int cli_option_error(const char *cmd, int c, char **argv, const char *usage);
/* --sector-size's value, 512 or 4096; else "p2v: CMD: --sector-size must be
 * 512 or 4096, not 'V'" and 2. */
int cli_sector_size_opt(const char *cmd, const char *v, uint32_t *out);

/* convert_events' message: "p2v: warning: ..." for a warning, a notice else
 * (convert and plan show). */
void cli_convert_message(void *ctx, enum convert_level level, const char *msg);

/* The boot-check report, shared by boot-check and convert --boot-check;
 * its notices as "p2v: boot-check: ...". */
void cli_bootcheck_notice(void *ctx, const char *msg);
struct bootcheck_result;
struct json_writer;
void cli_bootcheck_json(struct json_writer *j, const char *image, const char *expect,
                        const struct bootcheck_result *r);
void cli_bootcheck_text(FILE *out, const char *image, const struct bootcheck_result *r);
/* "p2v: boot-check IMAGE: did not boot: REASON; last screenshot PATH"; returns 1. */
int cli_bootcheck_failure_line(const char *image, const struct bootcheck_result *r);

#endif
