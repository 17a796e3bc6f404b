/* Guarding OUTPUT against the sources: a new image never goes over a file it
 * reads from, by any name (hard link, symlink, the file behind a loop device,
 * a file of a qcow2 backing chain). Used by every command that writes. */
#ifndef P2V_SINK_GUARD_H
#define P2V_SINK_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

typedef struct sink_source {
    const char *path;      /* as the user named it */
    struct stat st;        /* stat() of path */
    const blockdev *bd;    /* its opened blockdev (backing chain walked through bd_backing) */
} sink_source;

/* Same file or same block device. */
bool sink_same_file(const struct stat *a, const struct stat *b);

/* Check OUTPUT against the sources; an existing OUTPUT needs force and must be
 * a regular file. A symlink OUTPUT is followed: *write_path (malloc'd, else
 * NULL) is then the file it names, where the image must go. 0 or -1 with err. */
int sink_guard_output(const char *output, const sink_source *src, size_t nsrc, bool force,
                      char **write_path, p2v_err *err);

/* The directory OUTPUT goes in must take a new file (a dry run checks it
 * too): 0, or -errno with a message naming the directory. */
int sink_guard_output_dir(const char *output, p2v_err *err);

/* Temporary files of interrupted runs beside OUTPUT (".NAME.p2v-XXXXXX", the
 * name sink_create gives, that no running process has open): removed when
 * `remove`, else left; either way each is named in `said` (to show as a
 * notice). A file some process has open (a run in progress) is left alone
 * and not named. 0, or -ENOMEM. */
int sink_guard_stale_temps(const char *output, bool remove, p2v_warnings *said, p2v_err *err);

/* After a failed run: the temporary file at `temp`, if it is still there,
 * is removed; 0 when it is gone, else -errno with a message naming it and
 * why it stays (a read-only filesystem, an append-only directory...). */
int sink_guard_remove_temp(const char *temp, p2v_err *err);

#endif
