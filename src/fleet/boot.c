/* The network boot the fleet server hands out: an iPXE script whose kernel
 * command line tells p2v Live where its plan is, where the image goes and
 * where to report (docs/fleet.md, docs/live.md). */
#include "fleet/server.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void fleet_ipxe_script(const fleet_serve_opts *o, const char *base, const char *token, FILE *out)
{
    fprintf(out, "#!ipxe\n");
    fprintf(out, "kernel %s/live/vmlinuz boot=live fetch=%s/live/filesystem.squashfs"
                 " systemd.gpt_auto=0 console=ttyS0,115200n8 console=tty0", base, base);
    if (o->plan)
        fprintf(out, " p2v.plan=%s/plan.json", base);
    /* the template is the admin's; a blank would end the argument */
    if (o->output) {
        fputs(" p2v.output=", out);
        for (const char *c = o->output; *c; c++)
            fputc((unsigned char)*c <= ' ' ? '_' : *c, out);
    }
    fprintf(out, " p2v.report=%s/api/report", base);
    if (token && *token)
        fprintf(out, " p2v.token=%s", token);
    fprintf(out, "\ninitrd %s/live/initrd.img\nboot\n", base);
}

/* An ISO's live/ folder copied out with xorriso (as scripts/live-image makes
 * the ISO), so that its three files can be served. */
int fleet_live_from_iso(const char *iso, const char *dir, p2v_err *err)
{
    char dest[4096];
    snprintf(dest, sizeof dest, "%s/live-files", dir);
    char *const argv[] = { "xorriso", "-osirrox", "on", "-indev", (char *)iso, "-extract",
                           "/live", dest, NULL };
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, "xorriso", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return p2v_errf(err, -rc, "--live %s: cannot run xorriso: %s", iso, strerror(rc));
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return p2v_errf(err, -EIO, "--live %s: xorriso could not extract /live (not a p2v Live ISO?)",
                        iso);
    return 0;
}

static bool value_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Placeholders match greedily with backtracking; templates are short. */
static bool match_at(const char *t, const char *o, unsigned depth)
{
    if (depth > 16)
        return false;
    while (*t && *t != '{') {
        if (*t++ != *o++)
            return false;
    }
    if (!*t)
        return !*o;
    const char *close = strchr(t, '}');
    if (!close)
        return !strcmp(t, o);
    if (*o == '-' || *o == '.')
        return false;
    for (size_t n = 1; value_char(o[n - 1]); n++)
        if (match_at(close + 1, o + n, depth + 1))
            return true;
    return false;
}

bool fleet_output_matches(const char *template, const char *output)
{
    return template && output && *output && match_at(template, output, 0);
}
