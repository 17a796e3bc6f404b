/* A copy-on-write overlay: a writable view of a window of a read-only
 * blockdev. Reads return what was written to the overlay, else the base's
 * bytes; writes never reach the base. It is how p2v edits a source's
 * filesystem (Windows fixups, NTFS resize, drivers) without writing the
 * source: open an overlay on the partition, let libntfs-3g (or any writer)
 * work on it through bd_overlay_pwrite, then copy FROM the overlay and add
 * bd_overlay_written()'s extents to the used-block map, so the copy engine
 * takes the written blocks along with the filesystem's data.
 *
 *   blockdev *ov;
 *   bd_overlay_open(src, part_off, part_len, NULL, &ov, &err);
 *   ... bd_overlay_pwrite(ov, buf, n, off, &err) ...
 *   fsmap_build(ov, 0, bd_size(ov), ...);        the map of the edited view
 *   bd_overlay_written(ov, &extents, &err);      blocks that differ from src
 *   copy_range{ .src = ov, .src_offset = 0, ... }
 *   bd_close(ov);                                 the base stays open
 *
 * Offsets are relative to the window. Written data is kept in blocks of
 * BD_OVERLAY_BLOCK bytes: in memory up to a limit, then in an unlinked
 * temporary file (nothing is left behind on any exit). Not thread-safe while
 * being written; concurrent reads after the last write are fine. */
#ifndef P2V_BLOCKDEV_OVERLAY_H
#define P2V_BLOCKDEV_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"
#include "util/extent.h"

#define BD_OVERLAY_BLOCK 4096u

typedef struct bd_overlay_opts {
    size_t mem_limit;    /* bytes of written blocks kept in memory; 0: 64 MiB */
    const char *tmpdir;  /* where the spill file goes; NULL: $TMPDIR, else /tmp */
} bd_overlay_opts;

/* An overlay on [off, off + len) of base (len 0: to the end of base). The
 * overlay has base's sector size, path "<base path>@<off>" and base as its
 * bd_backing(). base must outlive the overlay; bd_close(overlay) does not
 * close base. opts may be NULL. */
int bd_overlay_open(blockdev *base, uint64_t off, uint64_t len, const bd_overlay_opts *opts,
                    blockdev **out, p2v_err *err);

/* Is bd an overlay (so bd_overlay_pwrite may be used on it)? */
bool bd_is_overlay(const blockdev *bd);

/* Write len bytes at off of the overlay (off + len <= bd_size). Partial blocks
 * are filled from the base first. 0 or negative errno (-EINVAL when bd is not
 * an overlay or the range is outside it; -ENOMEM; a spill-file error). */
int bd_overlay_pwrite(blockdev *bd, const void *buf, size_t len, uint64_t off, p2v_err *err);

/* The blocks written so far, as normalized byte extents relative to the
 * overlay's start (block-aligned, the last one clipped to bd_size). *out is
 * overwritten; free it with extent_list_free. */
int bd_overlay_written(const blockdev *bd, extent_list *out, p2v_err *err);

/* Bytes held in written blocks (block count times BD_OVERLAY_BLOCK), and the
 * part of them spilled to the temporary file. */
uint64_t bd_overlay_bytes(const blockdev *bd);
uint64_t bd_overlay_spilled(const blockdev *bd);

#endif
