/* Files of a FAT12/16/32 volume (an EFI System Partition) by path, over a
 * blockdev window: read any file; replace an existing file's bytes (FAT16
 * and FAT32) through a copy-on-write overlay, growing or shrinking its
 * cluster chain, updating every FAT copy, its directory entry and the
 * FSInfo free count. Long (VFAT) and 8.3 names are matched without regard
 * to case; paths are '/' or '\' separated. Errors name the volume and file.
 * The volume's own structures are untrusted: chains are bounded by the
 * cluster count and stay inside the volume. */
#ifndef P2V_FS_FATFILE_H
#define P2V_FS_FATFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

typedef struct fatvol fatvol;

/* Open the FAT volume at [off, off + len) of bd. writable: bd must be an
 * overlay (bd_is_overlay), else -EROFS. -EINVAL when the boot sector or FAT
 * is not valid. */
int fatvol_open(blockdev *bd, uint64_t off, uint64_t len, bool writable, fatvol **out,
                p2v_err *err);

/* *exists, and when it does *is_dir and *size (either may be NULL). */
int fatvol_stat(fatvol *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                p2v_err *err);

/* The whole file into a new buffer (*data to free()). -ENOENT, -EISDIR,
 * -EFBIG (more than max bytes). */
int fatvol_read_file(fatvol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                     p2v_err *err);

/* Replace the contents of an existing file with data[0..len). -ENOSPC when
 * the volume has too few free clusters; -ENOTSUP on FAT12. */
int fatvol_replace_file(fatvol *v, const char *path, const uint8_t *data, size_t len,
                        p2v_err *err);

void fatvol_close(fatvol *v);

#endif
