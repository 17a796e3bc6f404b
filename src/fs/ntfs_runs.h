/* For the NTFS code of src/fs only: every runlist of a volume against a map
 * of used clusters. $Bitmap alone is not to be trusted: after a crash or a
 * broken tool it may mark free what a file still uses (ntfsresize's
 * "Cluster accounting failed"; chkdsk /f repairs it), and a map taken from
 * it would copy that file as zeros. Include it after the ntfs-3g headers. */
#ifndef P2V_FS_NTFS_RUNS_H
#define P2V_FS_NTFS_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "util/extent.h"

struct _ntfs_volume;

/* The clusters $Bitmap marks in use, as byte extents (sorted, merged) of
 * the volume. 0, -ENOMEM, or -EIO when $Bitmap cannot be read. */
int ntruns_bitmap_extents(struct _ntfs_volume *vol, extent_list *out);

/* Read every MFT record of vol in use (base and extension records alike)
 * and decode the runlist of each of its non-resident attributes: each
 * allocated run must lie inside the volume and inside `used` (byte
 * extents of the volume, normalized). 0 when they all do; 1 with the
 * reason in why when not ("NTFS $Bitmap says cluster 1234 is free but MFT
 * record 64 uses it (attribute type 0x80); run chkdsk /f"), or when an
 * in-use record or runlist cannot be decoded; -ENOMEM (why says so).
 * Records that cannot be read (bad sectors) are skipped and counted in
 * *skipped (after a 1 MiB piece of which none can be read, all the rest):
 * the device's read error is then recorded (ntdev failed), and the caller
 * decides whether it stands. */
int ntruns_check(struct _ntfs_volume *vol, const extent_list *used, uint64_t *skipped,
                 char *why, size_t cap);

#endif
