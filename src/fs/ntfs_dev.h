/* For the NTFS code of src/fs only: libntfs-3g's device operations over a
 * window of a p2v blockdev (one implementation, shared by the used-block map
 * and the NTFS editor), and the capture of libntfs-3g's log messages. Include
 * it after the ntfs-3g headers. */
#ifndef P2V_FS_NTFS_DEV_H
#define P2V_FS_NTFS_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

struct ntfs_device;

/* The private state of one device: [off, off + len) of bd. Writes are
 * accepted only when bd is a copy-on-write overlay (bd_is_overlay) and the
 * device was opened O_RDWR; everything else is read-only (EROFS). The first
 * read or write error is kept in err (failed set), since libntfs-3g only
 * sees errno. */
struct ntdev {
    blockdev *bd;
    uint64_t off;
    uint64_t len;
    int64_t pos;
    p2v_err err;
    int failed;
};

/* A libntfs-3g device over d (which must outlive it), named after bd's path.
 * NULL on ENOMEM. Free with ntfs_device_free when not handed to a mount. */
struct ntfs_device *ntdev_alloc(struct ntdev *d);

/* Why a mounted volume must not be edited or mapped as it is: "is marked
 * dirty (...)", "holds a hibernated Windows (...)", "has unfinished
 * transactions in its journal ($LogFile)"; NULL when clean. */
struct _ntfs_volume;
const char *ntdev_unclean_reason(struct _ntfs_volume *vol);

/* Route libntfs-3g's log to a per-thread buffer (nothing printed) and clear it. */
void ntdev_capture_log(void);
/* The last error line libntfs-3g logged on this thread, or "". */
const char *ntdev_last_msg(void);

#endif
