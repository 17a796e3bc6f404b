/* Fitting a filesystem to a partition of another size, offline, on a
 * copy-on-write overlay (the source is never written).
 *
 *   fsresize_check()   what the filesystem allows: its size, used bytes, the
 *                      smallest size it can take here, and why not (refusals)
 *   fsresize_apply()   make the volume on the overlay fill new_bytes
 *
 * NTFS grows and shrinks: $Bitmap gets the new cluster count (its own
 * runlist through libntfs-3g), $BadClus:$Bad the new length, the boot sector
 * the new total sectors and a backup at the new end. A shrink that would
 * leave used clusters beyond the new end is refused: relocating clusters is
 * not implemented yet. ext2/3/4 and FAT keep their size (the caller tells
 * the user); shrinking them below their size is refused. */
#ifndef P2V_FS_RESIZE_H
#define P2V_FS_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

enum fsresize_kind {
    FSRESIZE_OTHER = 0,     /* not understood: the partition is resized, the contents kept */
    FSRESIZE_NTFS,
    FSRESIZE_EXT,
    FSRESIZE_FAT,
};

typedef struct fsresize_info {
    enum fsresize_kind kind;
    char fstype[16];        /* "ntfs", "ext4", "vfat", ... or "" */
    uint64_t fs_bytes;      /* the filesystem's own size (0: unknown) */
    uint64_t used_bytes;    /* bytes the filesystem uses (0: unknown) */
    uint64_t data_end;      /* end of the last used byte (NTFS: last used cluster) */
    uint64_t min_bytes;     /* smallest partition that holds it without moving data */
    uint32_t cluster;       /* NTFS cluster size, else 0 */
    uint32_t bytes_per_sector; /* NTFS: the boot sector's, else 0 */
} fsresize_info;

/* Look at the filesystem in [off, off + len) of bd (read-only) and fill
 * *out. Errors: read errors, and an NTFS volume that must not be resized
 * (dirty, hibernated, unfinished journal, bad clusters listed): -EBUSY with
 * the reason. Messages name `what` (e.g. "disk.img:2"). */
int fsresize_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                   fsresize_info *out, p2v_err *err);

/* Can a partition of new_bytes hold this filesystem (as fsresize_apply
 * would make it)? 0, or -ERANGE with the reason (below the used data, a
 * filesystem that cannot shrink, data beyond the new end). */
int fsresize_fits(const fsresize_info *fi, uint64_t new_bytes, const char *what, p2v_err *err);

/* Resize the NTFS volume at the start of overlay ov (bd_size(ov) is the new
 * partition size) so that it fills the partition. Only for kind NTFS. */
int fsresize_ntfs_apply(blockdev *ov, const char *what, p2v_err *err);

/* NTFS geometry of a partition of `bytes`: sectors the volume covers (the
 * last sector of the partition holds the backup boot sector) and clusters. */
void fsresize_ntfs_geometry(uint64_t bytes, uint32_t bytes_per_sector, uint32_t cluster,
                            uint64_t *sectors, uint64_t *clusters);

#endif
