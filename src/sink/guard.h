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

#endif
