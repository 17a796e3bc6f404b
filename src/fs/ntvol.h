/* Files on an NTFS volume, read and (over a copy-on-write overlay) written
 * through libntfs-3g, without mounting anything and without writing a source.
 *
 *   blockdev *ov;                                  an overlay of the partition
 *   bd_overlay_open(src, part_off, part_len, NULL, &ov, &err);
 *   ntvol *v;
 *   ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, &v, &err);
 *   ntvol_read_file(v, "/Windows/System32/config/SYSTEM", 1 << 28, &data, &len, &err);
 *   ntvol_write_file(v, "/Boot/BCD", data, len, &err);    replace or create
 *   ntvol_close(v, &err);                  flushes into the overlay, unmounts
 *
 * Paths are absolute, '/' or '\' separated, and looked up without regard to
 * case (Windows' names); created names keep the case given and are made in
 * the Win32 namespace. Errors name the volume ("<bd path>@<offset>") and the
 * file. A volume that is dirty, hibernated (Fast Startup) or has unfinished
 * journal transactions is refused for writing (-EBUSY), like ntfs-3g does.
 * Not thread-safe (libntfs-3g's log hook is process-wide): one volume
 * operation at a time. */
#ifndef P2V_FS_NTVOL_H
#define P2V_FS_NTVOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

typedef struct ntvol ntvol;

enum {
    NTVOL_WRITE = 1, /* mount read-write; bd must be an overlay (bd_is_overlay) */
};

/* Mount the NTFS volume at [off, off + len) of bd. flags: 0 or NTVOL_WRITE.
 * -EROFS for NTVOL_WRITE on a blockdev that is not an overlay, -EBUSY for a
 * volume that is not clean, -EINVAL when libntfs-3g refuses the volume. */
int ntvol_open(blockdev *bd, uint64_t off, uint64_t len, unsigned flags, ntvol **out,
               p2v_err *err);

/* What is at path: *exists, and when it does, *is_dir and *size (data bytes
 * of a file, 0 for a directory). Any pointer but exists may be NULL. */
int ntvol_stat(ntvol *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
               p2v_err *err);

/* Read a whole file into a new buffer (*data, free() it; never NULL on
 * success, even for an empty file). -ENOENT when missing, -EISDIR for a
 * directory, -EFBIG when larger than max bytes. */
int ntvol_read_file(ntvol *v, const char *path, size_t max, uint8_t **data, size_t *len,
                    p2v_err *err);

/* Make path a file holding exactly data[0..len): an existing file is
 * truncated and rewritten (its other attributes and its name are kept), a
 * missing one is created in its parent directory, which must exist
 * (-ENOENT otherwise). Needs NTVOL_WRITE. */
int ntvol_write_file(ntvol *v, const char *path, const uint8_t *data, size_t len, p2v_err *err);

/* Create directory path (its parent must exist); an existing directory is
 * fine, an existing file is -EEXIST. Needs NTVOL_WRITE. */
int ntvol_mkdir(ntvol *v, const char *path, p2v_err *err);

/* Call fn for each entry of directory path (not "." and ".."), with its name
 * in UTF-8 and whether it is a directory; DOS 8.3 aliases are skipped. fn
 * returns 0 to go on, anything else stops the walk and is returned. */
typedef int (*ntvol_dir_fn)(void *ctx, const char *name, bool is_dir);
int ntvol_list(ntvol *v, const char *path, ntvol_dir_fn fn, void *ctx, p2v_err *err);

/* Unmount: write back everything (into the overlay) and free v. A write that
 * failed on the way is reported here too. v may be NULL. */
int ntvol_close(ntvol *v, p2v_err *err);

#endif
