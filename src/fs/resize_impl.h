/* Inside src/fs: the per-filesystem halves of fs/resize.h. */
#ifndef P2V_FS_RESIZE_IMPL_H
#define P2V_FS_RESIZE_IMPL_H

#include "fs/resize.h"

int fsresize_ntfs_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                        fsresize_info *fi, p2v_err *err);

#endif
