/* The qemu child process and the files and directories of a boot check. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootcheck/bootcheck_impl.h"
#include "util/io.h"

double bootcheck_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bootcheck_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void child_exec(char **argv, int logfd, pid_t parent)
{
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
        _exit(127);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* p2v died before prctl */
        _exit(127);
    execvp(argv[0], argv);
    static const char msg[] = "cannot run qemu: exec failed\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(127);
    _exit(127);
}

int bootcheck_proc_start(char **argv, const char *log_path, pid_t *pid, p2v_err *err)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return p2v_errf(err, -errno, "%s: cannot create: %s", log_path, strerror(errno));
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(logfd);
        return p2v_errf(err, -e, "cannot start %s: fork: %s", argv[0], strerror(e));
    }
    if (p == 0)
        child_exec(argv, logfd, parent);
    close(logfd);
    *pid = p;
    return 0;
}

int bootcheck_proc_ended(pid_t pid, int *status)
{
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
        if (status)
            *status = st;
        return 1;
    }
    return 0;
}

void bootcheck_proc_stop(pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return;
    if (bootcheck_proc_ended(pid, NULL))
        return;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 50) {
        if (bootcheck_proc_ended(pid, NULL))
            return;
        bootcheck_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

void bootcheck_last_line(const char *path, char *out, size_t cap)
{
    char buf[4096];
    size_t got = 0;
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    uint64_t off = 0;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > sizeof buf - 1)
        off = (uint64_t)st.st_size - (sizeof buf - 1);
    pread_full(fd, buf, sizeof buf - 1, off, &got);
    close(fd);
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
        buf[--got] = '\0';
    char *start = strrchr(buf, '\n');
    snprintf(out, cap, "%s", start ? start + 1 : buf);
}

bool bootcheck_file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

int bootcheck_copy_file(const char *src, const char *dst, p2v_err *err)
{
    char buf[65536];
    int rc = 0, in = -1, out = -1;
    size_t got;
    uint64_t off = 0;
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = p2v_errf(err, -errno, "%s: cannot open: %s", src, strerror(errno));
        goto out;
    }
    if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = p2v_errf(err, -errno, "%s: cannot create: %s", dst, strerror(errno));
        goto out;
    }
    do {
        if ((rc = pread_full(in, buf, sizeof buf, off, &got)) < 0) {
            rc = p2v_errf(err, rc, "%s: read error: %s", src, strerror(-rc));
            goto out;
        }
        size_t put;
        if (got && (rc = pwrite_full(out, buf, got, off, &put)) < 0) {
            rc = p2v_errf(err, rc, "%s: write error: %s", dst, strerror(-rc));
            goto out;
        }
        off += got;
    } while (got == sizeof buf);
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && rc == 0)
        rc = p2v_errf(err, -errno, "%s: write error: %s", dst, strerror(errno));
    return rc;
}

int bootcheck_tempdir(const char *what, char out[PATH_MAX], p2v_err *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(out, PATH_MAX, "%s/p2v-%s.XXXXXX", tmp, what) >= PATH_MAX)
        return p2v_errf(err, -ENAMETOOLONG, "TMPDIR too long: %s", tmp);
    if (!mkdtemp(out))
        return p2v_errf(err, -errno, "cannot create a directory under %s: %s", tmp, strerror(errno));
    return 0;
}

int bootcheck_ensure_dir(const char *dir, p2v_err *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return p2v_errf(err, -ENOTDIR, "%s: not a directory", dir);
        return 0;
    }
    if (errno != ENOENT)
        return p2v_errf(err, -errno, "%s: %s", dir, strerror(errno));
    if (mkdir(dir, 0755) < 0)
        return p2v_errf(err, -errno, "%s: cannot create: %s", dir, strerror(errno));
    return 0;
}

int bootcheck_path(char *out, size_t cap, const char *dir, const char *name, p2v_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
        return p2v_errf(err, -ENAMETOOLONG, "path too long: %s/%s", dir, name);
    return 0;
}

bool bootcheck_program_exists(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name) < (int)sizeof buf &&
            access(buf, X_OK) == 0)
            return true;
        p += n + (colon ? 1 : 0);
    }
    return false;
}
