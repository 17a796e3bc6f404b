/* Inside src/fs: the per-filesystem halves of fs/resize.h. */
#ifndef P2V_FS_RESIZE_IMPL_H
#define P2V_FS_RESIZE_IMPL_H

#include "fs/resize.h"

int fsresize_ntfs_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                        fsresize_info *fi, p2v_err *err);

struct _ntfs_volume;
/* Give every cluster at or beyond new_nr that a runlist names a place below
 * it: MFT records rewritten (and mirrored) straight into ov at the places
 * the mounted (read-only) volume's runlists name, $Bitmap bits set, moves
 * appended to res. */
int fsresize_ntfs_relocate(struct _ntfs_volume *vol, blockdev *ov, uint64_t new_nr,
                           const char *what, fsresize_ntfs_result *res, p2v_err *err);

/* libext2fs I/O over a blockdev (resize_ext_io.c), writable on an overlay.
 * The name from fsresize_extio_name() goes to ext2fs_open2 with the
 * manager; x must outlive the filesystem handle; x->err holds the first
 * blockdev error. */
struct fsresize_extio {
    blockdev *bd;
    p2v_err err;
    int failed;
};
void *fsresize_extio_manager(void);    /* an io_manager */
void fsresize_extio_name(struct fsresize_extio *x, char *buf, size_t len);

#endif
