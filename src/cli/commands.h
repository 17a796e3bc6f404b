/* Sub-commands of p2v. Each returns the process exit status:
 * 0 success, 1 failure, 2 usage error (see SPEC.md). argv[0] is the command name. */
#ifndef P2V_CLI_COMMANDS_H
#define P2V_CLI_COMMANDS_H

#define P2V_EXIT_OK 0
#define P2V_EXIT_FAIL 1
#define P2V_EXIT_USAGE 2

int cmd_disks(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_img(int argc, char **argv);
int cmd_tui(int argc, char **argv);

/* Print "p2v: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
