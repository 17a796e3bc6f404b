#include "sink/sink_impl.h"

#include "copy/copy.h"
#include "qcow2/qcow2.h"
#include "source/source.h"
#include "util/cancel.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *temp_name_for(const char *output)
{
    char *a = strdup(output), *b = strdup(output), *t = NULL;
    if (a && b) {
        const char *dir = dirname(a), *base = basename(b);
        size_t n = strlen(dir) + strlen(base) + 32;
        if ((t = malloc(n)))
            /* ".", ".p2v-XXXXXX" and the name must fit NAME_MAX (255): a long
             * name is shortened in the temporary name only. */
            snprintf(t, n, "%s/.%.*s.p2v-XXXXXX", dir, 255 - 12, base);
    }
    free(a);
    free(b);
    return t;
}

static const struct sink_backend *file_backend(const sink_opts *o)
{
    return o->format == SINK_RAW ? &sink_raw_backend : &sink_qcow2_backend;
}

/* Any OUTPUT no other target takes: an image file, written under a
 * temporary name beside it and renamed when complete. */
const struct sink_target sink_target_file = {
    .info = { .name = "file", .what = "image file", .readback = true, .is_file = true },
    .backend = file_backend,
};

/* The targets, asked in turn; the file takes what the others do not. To add
 * a target: one file with its row and its backend, one line here
 * (docs/architecture.md). */
static const struct sink_target *const sink_targets[] = {
    &sink_target_stream, /* sink_stream.c: "-" */
    &sink_target_nbd,    /* sink_nbd.c: nbd://, nbd+unix://, nbds:// */
    &sink_target_rbd,    /* sink_rbd.c: rbd:POOL/IMAGE */
    &sink_target_file,   /* last: any other OUTPUT */
};

static const struct sink_target *target_of(const char *output)
{
    for (size_t i = 0; i < sizeof sink_targets / sizeof *sink_targets; i++)
        if (!sink_targets[i]->match || (output && sink_targets[i]->match(output)))
            return sink_targets[i];
    return &sink_target_file;
}

void sink_target_info(const char *output, struct sink_target_info *info)
{
    *info = target_of(output)->info;
}

static unsigned io_timeout_of(const sink_opts *o)
{
    return o && o->io_timeout ? o->io_timeout : SINK_IO_TIMEOUT_DEFAULT;
}

int sink_target_size(const char *output, const sink_opts *o, uint64_t *size, p2v_err *err)
{
    const struct sink_target *t = target_of(output);
    if (!t->size)
        return p2v_errf(err, -ENOTSUP, "%s: a %s has no size of its own", output, t->info.what);
    sink_opts d = o ? *o : (sink_opts){ 0 };
    d.io_timeout = io_timeout_of(o);
    return t->size(output, &d, size, err);
}

void *sink_priv_new(sink *s, size_t size, p2v_err *err)
{
    void *p = calloc(1, size);
    if (!p)
        p2v_errf(err, -ENOMEM, "out of memory");
    s->priv = p;
    return p;
}

/* A sink of target t writing to output, nothing opened yet; NULL when out
 * of memory. */
static sink *sink_new(const struct sink_target *t, const char *output, uint64_t virtual_size,
                      const sink_opts *o)
{
    sink *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    s->target = t;
    s->be = t->backend ? t->backend(o) : t->be;
    s->io_timeout = io_timeout_of(o);
    s->virtual_size = virtual_size;
    s->granularity = s->be->granularity;
    if (!(s->output = strdup(output))) {
        free(s);
        return NULL;
    }
    return s;
}

/* The last step of both kinds of sink: open the backend, then hand s out,
 * or close it. */
static int sink_open_backend(sink *s, const sink_opts *o, sink **out, p2v_err *err)
{
    int r = s->be->open(s, s->virtual_size, o, err);
    if (r < 0) {
        sink_close(s);
        return r;
    }
    *out = s;
    return 0;
}

/* A sink without a temporary file: stdout or an NBD export. */
static int sink_create_direct(const struct sink_target *t, const char *output,
                              uint64_t virtual_size, const sink_opts *o, sink **out, p2v_err *err)
{
    sink *s = sink_new(t, output, virtual_size, o);
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    return sink_open_backend(s, o, out, err);
}

int sink_set_layout(sink *s, const extent_list *will_write, p2v_err *err)
{
    return s->be->layout ? s->be->layout(s, will_write, err) : 0;
}

int sink_readback_open(const sink *s, blockdev **out, p2v_err *err)
{
    *out = NULL;
    if (!s->target->info.readback)
        return p2v_errf(err, -ENOTSUP, "%s: a %s cannot be read back", s->output,
                        s->target->info.what);
    source_opts so = { .io_timeout = s->io_timeout };
    const char *name = s->be->readback_name ? s->be->readback_name(s)
                       : s->target->info.direct ? s->output : s->temp;
    return source_open(name, &so, out, err);
}

int sink_create(const char *output, uint64_t virtual_size, const sink_opts *o, sink **out,
                p2v_err *err)
{
    int r;
    struct stat st;
    const struct sink_target *t = target_of(output);
    if (t->info.direct)
        return sink_create_direct(t, output, virtual_size, o, out, err);
    sink *s = sink_new(t, output, virtual_size, o);
    if (!s)
        return p2v_errf(err, -ENOMEM, "out of memory");
    s->force = o->force;
    if (!(s->temp = temp_name_for(output))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (lstat(output, &st) == 0 && !o->force) {
        r = p2v_errf(err, -EEXIST, "%s: already exists (use --force to replace it)", output);
        goto fail;
    }
    s->fd = mkostemp(s->temp, O_CLOEXEC);
    if (s->fd < 0) {
        r = p2v_errf(err, -errno, "%s: cannot create a temporary file beside it (%s): %s", output,
                     s->temp, strerror(errno));
        free(s->temp);
        s->temp = NULL;
        goto fail;
    }
    /* mkostemp creates 0600; an image gets the usual permissions. */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(s->fd, 0666 & ~um) < 0) {
        r = p2v_errf(err, -errno, "%s: chmod: %s", s->temp, strerror(errno));
        goto fail;
    }
    return sink_open_backend(s, o, out, err);
fail:
    sink_close(s);
    return r;
}

int sink_write(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err)
{
    sink *s = ctx;
    uint64_t end;
    if (__builtin_add_overflow(offset, (uint64_t)len, &end) || end > s->virtual_size)
        return p2v_errf(err, -EINVAL, "%s: write of %zu bytes at %llu past the disk end (%llu)",
                        s->output, len, (unsigned long long)offset,
                        (unsigned long long)s->virtual_size);
    return s->be->write(s, offset, buf, len, err);
}

int sink_compression_parse(const char *spec, enum sink_compression *c, int *level, p2v_err *err)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    int max;
    if (n == 4 && !strncmp(spec, "zlib", 4)) {
        *c = SINK_COMPRESS_ZLIB;
        max = 9;
    } else if (n == 4 && !strncmp(spec, "zstd", 4)) {
        *c = SINK_COMPRESS_ZSTD;
        max = QCOW2_ZSTD_MAX_LEVEL;
    } else {
        return p2v_errf(err, -EINVAL, "unknown compression '%.*s' (zlib or zstd)", (int)n, spec);
    }
    *level = 0;
    if (!colon)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || v < 1 || v > max)
        return p2v_errf(err, -EINVAL, "compression level '%s' of %.*s is not a number from 1 to %d",
                        colon + 1, (int)n, spec, max);
    *level = (int)v;
    return 0;
}

uint32_t sink_granularity(const sink *s) { return s->granularity; }

static int sink_gather_take(void *ctx, void **token, p2v_err *err)
{
    sink *s = ctx;
    *token = NULL;
    return s->be->gather_take(s, token, err);
}

static int sink_gather_write(void *ctx, void *token, p2v_err *err)
{
    sink *s = ctx;
    return token ? s->be->gather_write(s, token, err) : 0;
}

static int sink_gather(void *ctx, bool on, p2v_err *err)
{
    sink *s = ctx;
    return s->be->gather ? s->be->gather(s, on, err) : 0;
}

void sink_copy_opts(sink *s, copy_opts *o)
{
    o->write = sink_write;
    o->write_ctx = s;
    o->granularity = s->granularity;
    o->writers = s->writers ? s->writers : 1;
    o->gather = sink_gather;
    /* writes that must stay in order: stored in turn, their data written by several */
    o->gather_take = s->be->gather_take ? sink_gather_take : NULL;
    o->gather_write = s->be->gather_take ? sink_gather_write : NULL;
}

const char *sink_temp_path(const sink *s) { return s->temp; }

uint64_t sink_file_bytes(const sink *s)
{
    struct stat st;
    if (s->be->bytes)
        return s->be->bytes(s);
    if (s->fd < 0 || fstat(s->fd, &st) < 0)
        return 0;
    return (uint64_t)st.st_blocks * 512;
}

int sink_finish(sink *s, p2v_err *err)
{
    int r = s->be->finish(s, err);
    if (r < 0 || s->be->commit)
        return r;
    if (fsync(s->fd) < 0)
        return p2v_errf(err, -errno, "%s: %s", s->output, strerror(errno));
    return 0;
}

static void sync_dir_of(const char *path)
{
    char *a = strdup(path);
    if (!a)
        return;
    int dfd = open(dirname(a), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(a);
}

int sink_commit(sink *s, p2v_err *err)
{
    int r;
    if (s->be->commit) {
        if ((r = s->be->commit(s, err)) == 0)
            s->committed = true;
        return r;
    }
    if (s->force)
        r = rename(s->temp, s->output);
    else
        r = renameat2(AT_FDCWD, s->temp, AT_FDCWD, s->output, RENAME_NOREPLACE);
    if (r < 0 && !s->force && (errno == EINVAL || errno == ENOSYS)) {
        /* No RENAME_NOREPLACE on this filesystem: link() refuses to replace too. */
        r = link(s->temp, s->output);
        if (r == 0)
            unlink(s->temp);
    }
    if (r < 0) {
        int e = errno;
        if (e == EEXIST)
            return p2v_errf(err, -e, "%s: appeared while converting; not replaced (use --force)",
                            s->output);
        return p2v_errf(err, -e, "%s: cannot rename %s to it: %s", s->output, s->temp,
                        strerror(e));
    }
    s->committed = true;
    sync_dir_of(s->output);
    return 0;
}

int sink_discard(sink *s, p2v_err *err)
{
    return s && s->be && s->priv && s->be->discard && !s->committed ? s->be->discard(s, err) : 0;
}

void sink_describe(const sink *s, char *buf, size_t len)
{
    buf[0] = '\0';
    if (s && s->be && s->priv && s->be->describe)
        s->be->describe(s, buf, len);
}

void sink_close(sink *s)
{
    if (!s)
        return;
    if (s->be && s->priv)
        s->be->free(s);
    if (s->fd >= 0)
        close(s->fd);
    if (s->temp && !s->committed)
        unlink(s->temp);
    free(s->temp);
    free(s->output);
    free(s);
}

static const int sink_signal_list[SINK_NSIGNALS] = { SIGINT,  SIGTERM, SIGHUP, SIGPIPE,
                                                     SIGQUIT, SIGUSR1, SIGUSR2 };
static volatile sig_atomic_t *sink_signal_flag;

static void sink_on_signal(int sig)
{
    (void)sig;
    if (sink_signal_flag)
        *sink_signal_flag = 1;
}

void sink_catch_signals(sink_signals *ss, volatile sig_atomic_t *flag)
{
    struct sigaction sa = { .sa_handler = sink_on_signal };
    sigemptyset(&sa.sa_mask);
    sink_signal_flag = flag;
    p2v_cancel_watch(flag); /* waits on a silent server end at the signal too */
    for (size_t i = 0; i < SINK_NSIGNALS; i++)
        sigaction(sink_signal_list[i], &sa, &ss->old[i]);
}

void sink_restore_signals(sink_signals *ss)
{
    p2v_cancel_watch(NULL);
    for (size_t i = 0; i < SINK_NSIGNALS; i++)
        sigaction(sink_signal_list[i], &ss->old[i], NULL);
}
