/* --boot-check: the server's one boot-check worker. It takes the queue of
 * store.c one image at a time and runs `p2v boot-check --json` on it as a
 * child process (the command the admin knows, and a hung or crashing qemu
 * never takes the server with it), in DIR/checks/ID, where the report, the
 * screenshots and the logs stay; the verdict and the last screenshot's name
 * go into the database. A stop kills the child and leaves the check
 * "running", so the next start does it again. The child holds a lock on
 * DIR/checks/ID/lock (an inherited descriptor), so that a server started
 * again after a kill -9 waits for the boot-check the dead one left running
 * instead of booting the same image twice at once. */
#include "fleet/server.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct fleet_checker {
    fleet_store *store;
    const fleet_serve_opts *o;
    pthread_t thread;
    atomic_int quit;
};

static void say(const struct fleet_checker *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct fleet_checker *ck, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ck->o->log)
        ck->o->log(ck->o->ctx, msg);
}

/* The child: stdout into report.json, stderr into boot-check.log. */
static int spawn_check(const struct fleet_checker *ck, const char *dir, const char *image,
                       pid_t *pid)
{
    char out[4200], log[4200], timeout[16];
    snprintf(out, sizeof out, "%s/report.json", dir);
    snprintf(log, sizeof log, "%s/boot-check.log", dir);
    unsigned t = ck->o->boot_check_timeout ? ck->o->boot_check_timeout : 300;
    snprintf(timeout, sizeof timeout, "%u", t);
    char *const argv[] = { (char *)ck->o->self, "boot-check", "--json", "--screenshots",
                           (char *)dir, "--timeout", timeout, "--", (char *)image, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(pid, ck->o->self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

/* Wait for the child; at a stop, end it (its check stays "running"). */
static int wait_child(struct fleet_checker *ck, pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (atomic_load(&ck->quit) || *ck->o->stop) {
            kill(pid, SIGTERM);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return -ECANCELED;
        }
        usleep(100000);
    }
}

/* The last screenshot's name, when it is one of boot-check's shot-NNN.png in
 * dir (the report names a path; only a plain name of that form is kept). */
static const char *shot_name(const char *path, const char *dir)
{
    size_t dl = strlen(dir);
    if (!path || strncmp(path, dir, dl) || path[dl] != '/')
        return NULL;
    const char *name = path + dl + 1;
    size_t n = strlen(name);
    if (n < 9 || n > 32 || strncmp(name, "shot-", 5) || strcmp(name + n - 4, ".png") ||
        strspn(name + 5, "0123456789") != n - 9)
        return NULL;
    return name;
}

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The last line boot-check wrote on its standard error: why it could not
 * run. len is at least 40. */
static void last_line(const char *dir, char *out, size_t len)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/boot-check.log", dir);
    FILE *f = fopen(path, "re");
    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        const char *l = strncmp(line, "p2v: ", 5) ? line : line + 5;
        size_t n = strlen(l);
        if (n) {                    /* cut to len: a reason, not the whole log */
            n = n < len - 1 ? n : len - 1;
            memcpy(out, l, n);
            out[n] = 0;
        }
    }
    if (!out[0])
        strcpy(out, "no message (see boot-check.log)");
    if (f)
        fclose(f);
}

/* The verdict from report.json; a check without one "could not run". */
static void record(struct fleet_checker *ck, const fleet_check_job *job, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/report.json", dir);
    struct json_object *o = json_object_from_file(path), *b;
    p2v_err err;
    int rc;
    if (o && json_object_object_get_ex(o, "booted", &b) &&
        json_object_is_type(b, json_type_boolean)) {
        bool booted = json_object_get_boolean(b);
        const char *reason = jstr(o, "reason");
        rc = fleet_store_check_end(ck->store, job->id, booted, reason,
                                   shot_name(jstr(o, "last_screenshot"), dir), &err);
        say(ck, "boot-check %s: %s%s%s", job->image, booted ? "booted" : "did not boot",
            reason ? ": " : "", reason ? reason : "");
    } else {
        char why[300], reason[400];
        last_line(dir, why, sizeof why);
        snprintf(reason, sizeof reason, "boot-check could not run: %s", why);
        rc = fleet_store_check_end(ck->store, job->id, -1, reason, NULL, &err);
        say(ck, "boot-check %s: could not run (%s/boot-check.log)", job->image, dir);
    }
    json_object_put(o);
    if (rc < 0)
        say(ck, "boot-check %s: %s", job->image, err.msg);
}

/* The check's lock, taken; its descriptor is left open across exec on
 * purpose (the child and its qemu keep holding it). -ECANCELED at a stop. */
static int lock_check(struct fleet_checker *ck, const char *dir, const char *image)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);   /* no O_CLOEXEC: see above */
    if (fd < 0)
        return -errno;
    bool said = false;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = -errno;
            close(fd);
            return e;
        }
        if (!said)
            say(ck, "boot-check %s: waiting for the boot-check an earlier server left running",
                image);
        said = true;
        if (atomic_load(&ck->quit) || *ck->o->stop) {
            close(fd);
            return -ECANCELED;
        }
        usleep(200000);
    }
    return fd;
}

/* A check done again starts from an empty folder: an earlier attempt's
 * screenshots would otherwise be taken for this one's last. */
static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "lock"))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
}

static void check_one(struct fleet_checker *ck, const fleet_check_job *job)
{
    char dir[4096];
    p2v_err err;
    snprintf(dir, sizeof dir, "%s/checks", ck->o->dir);
    mkdir(dir, 0700);
    if ((size_t)snprintf(dir, sizeof dir, "%s/checks/%lld", ck->o->dir, (long long)job->id) >=
        sizeof dir) {
        fleet_store_check_end(ck->store, job->id, -1, "the server's folder name is too long", NULL,
                              &err);
        return;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        say(ck, "boot-check: %s: %s", dir, strerror(errno));
        fleet_store_check_end(ck->store, job->id, -1, "cannot make the check's folder", NULL, &err);
        return;
    }
    int lock = lock_check(ck, dir, job->image);
    if (lock == -ECANCELED)
        return;
    if (lock < 0) {
        say(ck, "boot-check: %s/lock: %s", dir, strerror(-lock));
        fleet_store_check_end(ck->store, job->id, -1, "cannot lock the check's folder", NULL, &err);
        return;
    }
    clear_dir(dir);
    say(ck, "boot-check %s: started", job->image);
    pid_t pid;
    int status = 0, rc = spawn_check(ck, dir, job->image, &pid);
    if (rc < 0) {
        close(lock);
        say(ck, "boot-check: cannot run %s: %s", ck->o->self, strerror(-rc));
        fleet_store_check_end(ck->store, job->id, -1, "cannot run p2v boot-check", NULL, &err);
        return;
    }
    rc = wait_child(ck, pid, &status);
    close(lock);
    if (rc == -ECANCELED)
        return;
    record(ck, job, dir);
}

static void *worker(void *arg)
{
    struct fleet_checker *ck = arg;
    while (!atomic_load(&ck->quit) && !*ck->o->stop) {
        fleet_check_job job;
        p2v_err err;
        int rc = fleet_store_check_next(ck->store, &job, &err);
        if (rc == 1)
            check_one(ck, &job);
        else if (rc == 0)
            fleet_store_check_wait(ck->store, 1000);
        else {
            say(ck, "boot-check queue: %s", err.msg);
            sleep(5);
        }
    }
    return NULL;
}

int fleet_checker_start(fleet_store *s, const fleet_serve_opts *o, fleet_checker **out,
                        p2v_err *err)
{
    struct fleet_checker *ck = calloc(1, sizeof *ck);
    if (!ck)
        return p2v_errf(err, -ENOMEM, "out of memory");
    ck->store = s;
    ck->o = o;
    int rc = pthread_create(&ck->thread, NULL, worker, ck);
    if (rc) {
        free(ck);
        return p2v_errf(err, -rc, "boot-check worker: %s", strerror(rc));
    }
    *out = ck;
    return 0;
}

void fleet_checker_stop(fleet_checker *ck)
{
    if (!ck)
        return;
    atomic_store(&ck->quit, 1);
    pthread_join(ck->thread, NULL);
    free(ck);
}
