/* Inside the bootcheck module: the qemu process and the files of a run. */
#ifndef P2V_BOOTCHECK_IMPL_H
#define P2V_BOOTCHECK_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "bootcheck/bootcheck.h"

/* Start argv[0] with stdin from /dev/null and stdout/stderr into log_path;
 * it dies with p2v (PR_SET_PDEATHSIG). */
int bootcheck_proc_start(char **argv, const char *log_path, pid_t *pid, p2v_err *err);
/* Whether pid has ended (reaped; *status as from waitpid): 1, 0 while it runs. */
int bootcheck_proc_ended(pid_t pid, int *status);
/* End pid: SIGTERM, up to grace_ms, then SIGKILL; always reaps it. */
void bootcheck_proc_stop(pid_t pid, int grace_ms);

/* The last non-empty line of a small text file (qemu's messages), "" if none. */
void bootcheck_last_line(const char *path, char *out, size_t cap);
/* Whether a file contains text (plain substring). */
bool bootcheck_file_has(const char *path, const char *text);
/* Copy src to dst (a fresh file, mode 0600). */
int bootcheck_copy_file(const char *src, const char *dst, p2v_err *err);
/* A new private directory under $TMPDIR (or /tmp) named p2v-<what>.XXXXXX. */
int bootcheck_tempdir(const char *what, char out[PATH_MAX], p2v_err *err);
/* DIR itself when it is a directory, else create it (mode 0755). */
int bootcheck_ensure_dir(const char *dir, p2v_err *err);
/* Join dir and name into out; -ENAMETOOLONG with a message if it does not fit. */
int bootcheck_path(char *out, size_t cap, const char *dir, const char *name, p2v_err *err);

/* name (a path, or looked up in $PATH) is an executable file. */
bool bootcheck_program_exists(const char *name);

/* Seconds on the monotonic clock. */
double bootcheck_now(void);
void bootcheck_sleep_ms(int ms);

#endif
