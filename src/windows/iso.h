/* Files of an ISO 9660 image (with Joliet/Rock Ridge names when present),
 * read through libarchive from a blockdev: no mounting, nothing written. */
#ifndef P2V_WINDOWS_ISO_H
#define P2V_WINDOWS_ISO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct blockdev blockdev;

/* Called for each regular file: path '/'-separated without a leading "./". A
 * negative return stops the walk and is returned. */
typedef int (*iso_file_fn)(void *ctx, const char *path, uint64_t size);

/* Walk every regular file. -EINVAL naming bd's path when it is not an ISO
 * 9660 image or cannot be read. */
int iso_walk(blockdev *bd, iso_file_fn fn, void *ctx, p2v_err *err);

/* Read the file at path (as iso_walk gave it) into a malloc'd buffer of
 * *len bytes; at most max bytes (-EFBIG beyond). -ENOENT when absent. */
int iso_read_file(blockdev *bd, const char *path, size_t max, uint8_t **buf, size_t *len,
                  p2v_err *err);

#endif
