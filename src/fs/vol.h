/* Files by path on the volumes p2v edits (NTFS through ntvol.c, FAT through
 * fatfile.c), behind one set of operations: a caller that reads a file or
 * replaces one does not branch on the filesystem. The kind's driver row
 * (fs/driver.h) names its operations; a kind without them is -ENOTSUP.
 *
 *   fs_vol *v;
 *   fs_vol_open(cp->fs.kind, ov, 0, bd_size(ov), FS_VOL_WRITE, &v, &err);
 *   fs_vol_read_file(v, "/EFI/Microsoft/Boot/BCD", max, &data, &len, &err);
 *   fs_vol_write_file(v, "/EFI/Microsoft/Boot/BCD", out, olen, &err);
 *   fs_vol_close(v, &err);
 *
 * The rules of each (paths, case, refusals, what a write may do) are those
 * of ntvol.h and fatfile.h. */
#ifndef P2V_FS_VOL_H
#define P2V_FS_VOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "fs/kind.h"
#include "util/err.h"

typedef struct fs_vol fs_vol;

enum {
    FS_VOL_WRITE = 1, /* open for writing; bd must be an overlay (bd_is_overlay) */
};

/* Open the volume of `kind` at [off, off + len) of bd. -ENOTSUP for a kind
 * p2v cannot open by path, else the filesystem's own errors. */
int fs_vol_open(enum fs_kind kind, blockdev *bd, uint64_t off, uint64_t len, unsigned flags,
                fs_vol **out, p2v_err *err);

/* *exists, and when it does *is_dir and *size (either may be NULL). */
int fs_vol_stat(fs_vol *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                p2v_err *err);

/* The whole file into a new buffer (*data to free()). -ENOENT, -EISDIR,
 * -EFBIG (more than max bytes). */
int fs_vol_read_file(fs_vol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                     p2v_err *err);

/* Make path hold exactly data[0..len): an existing file is rewritten; NTFS
 * also creates a missing one (in an existing directory), FAT does not
 * (-ENOENT). Needs FS_VOL_WRITE. */
int fs_vol_write_file(fs_vol *v, const char *path, const uint8_t *data, size_t len,
                      p2v_err *err);

/* Write back what is pending and free v (NULL is fine); a failed write on
 * the way is reported here too. */
int fs_vol_close(fs_vol *v, p2v_err *err);

#endif
