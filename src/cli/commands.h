/* Sub-commands of p2v. Each returns the process exit status:
 * 0 success, 1 failure, 2 usage error (see SPEC.md). argv[0] is the command name. */
#ifndef P2V_CLI_COMMANDS_H
#define P2V_CLI_COMMANDS_H

#include <stdio.h>

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

/* The boot-check report, shared by boot-check and convert --boot-check. */
struct bootcheck_result;
struct json_writer;
void cli_bootcheck_json(struct json_writer *j, const char *image, const char *expect,
                        const struct bootcheck_result *r);
void cli_bootcheck_text(FILE *out, const char *image, const struct bootcheck_result *r);
/* "p2v: boot-check IMAGE: did not boot: REASON; last screenshot PATH"; returns 1. */
int cli_bootcheck_failure_line(const char *image, const struct bootcheck_result *r);

#endif
