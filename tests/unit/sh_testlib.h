/* Helpers for unit tests that build their disks with real tools: a scratch
 * directory, shell commands run in it (output appended to its "log", or
 * read back), and whole files read and written there. */
#ifndef P2V_TEST_SH_TESTLIB_H
#define P2V_TEST_SH_TESTLIB_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "t.h"

/* The scratch directory (t_scratch makes it). */
static char dir[256];

/* full = "cd dir && (command) redir", the command formatted from fmt, ap. */
static void sh_line(char *full, size_t n, const char *redir, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0), unused));
static void sh_line(char *full, size_t n, const char *redir, const char *fmt, va_list ap)
{
    char cmd[8192];
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    snprintf(full, n, "cd '%s' && (%s) %s", dir, cmd, redir);
}

/* Run a shell command in dir (its output appended to "log"); its exit
 * status, or -1. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int sh(const char *fmt, ...)
{
    char full[8800];
    va_list ap;
    va_start(ap, fmt);
    sh_line(full, sizeof full, ">>log 2>&1", fmt, ap);
    va_end(ap);
    int st = system(full);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* The output of a shell command run in dir (its stderr appended to "log")
 * in buf, trailing newlines and blanks removed; "" when it cannot run. */
static char *sh_out(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static char *sh_out(char *buf, size_t len, const char *fmt, ...)
{
    char full[8800];
    va_list ap;
    va_start(ap, fmt);
    sh_line(full, sizeof full, "2>>log", fmt, ap);
    va_end(ap);
    FILE *p = popen(full, "r");
    size_t n = p ? fread(buf, 1, len - 1, p) : 0;
    if (p)
        pclose(p);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

/* Make dir a new scratch directory, $TMPDIR/p2v-NAME.XXXXXX (/tmp without
 * TMPDIR); 0, or -1 when it cannot be made. */
static __attribute__((unused)) int t_scratch(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/p2v-%s.XXXXXX", tmp ? tmp : "/tmp", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* The end of a test: its scratch directory goes, unless a check failed;
 * then it stays for a look and the test says where. t_done's result. */
static __attribute__((unused)) int t_scratch_done(const char *test)
{
    if (!t_failures)
        sh("cd / && rm -rf '%s'", dir);
    else
        fprintf(stderr, "%s: files kept in %s\n", test, dir);
    return t_done(test);
}

/* The main of a test program: the tests, in order, in a new scratch
 * directory (t_scratch(name)); t_scratch_done(test)'s result, or 1 when the
 * directory cannot be made. */
static __attribute__((unused)) int t_scratch_run(const char *name, const char *test,
                                                 void (*const tests[])(void), size_t n)
{
    if (t_scratch(name) < 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        tests[i]();
    return t_scratch_done(test);
}
/* The same for an array of tests. */
#define T_SCRATCH_RUN(name, test, tests) \
    t_scratch_run(name, test, tests, sizeof(tests) / sizeof((tests)[0]))

/* tests/lib, found from a test's own source path (__FILE__, absolute). */
static __attribute__((unused)) void t_libdir(char *lib, size_t n, const char *file)
{
    snprintf(lib, n, "%s", file);
    char *slash = strrchr(lib, '/');
    snprintf(slash ? slash : lib, n - (size_t)(slash ? slash - lib : 0), "/../lib");
}

/* The whole file at path, malloc'ed; NULL if it cannot be read whole. */
static __attribute__((unused)) uint8_t *slurp_path(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (b && n > 0 && *len != (size_t)n) {
        free(b);
        return NULL;
    }
    return b;
}

/* The whole file dir/name, malloc'ed; NULL if it cannot be read whole. */
static __attribute__((unused)) uint8_t *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return slurp_path(path, len);
}

/* Write len bytes as dir/name; 0 or -1. */
static __attribute__((unused)) int spill(const char *name, const uint8_t *b, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* dir/name opened by source_open (its format probed); NULL, a failed
 * check, when it cannot be. */
static __attribute__((unused)) blockdev *t_source(const char *name)
{
    char path[1024];
    blockdev *bd = NULL;
    p2v_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(source_open(path, NULL, &bd, &err) == 0);
    return bd;
}

/* disk.img: off bytes of pattern, then part.img; its checksum in disk.sum,
 * which `sha256sum -c --quiet disk.sum` checks after the test (sources
 * are never written). 0 or the shell's status. */
static __attribute__((unused)) int disk_around_part(unsigned off)
{
    return sh("yes p2v | head -c %u >disk.img && cat part.img >>disk.img && "
              "sha256sum disk.img >disk.sum", off);
}

/* view.img: the first len bytes of bd, for a filesystem's own tools to
 * judge; 0 or -1. */
static __attribute__((unused)) int spill_view(blockdev *bd, uint64_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    p2v_err err;
    int r = b ? bd_pread(bd, b, len, 0, &err) : -1;
    if (r == 0)
        r = spill("view.img", b, len);
    free(b);
    return r;
}

#endif
