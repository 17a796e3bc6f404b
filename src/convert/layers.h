/* The layer stack of each copied partition, decided in one place
 * (convert/layers.c):
 *
 *   source disk (bytes src_offset .. +src_bytes)
 *     -> resize overlay   the resize step's, when the filesystem was fitted
 *                         to another size (window, remap and overlay inside)
 *     -> edit overlay     where the Windows fixes and the drivers write: the
 *                         resize overlay itself when there is one, else an
 *                         overlay of the source made on first use
 *
 * The copy, the report and every step that reads a partition ask here
 * which layer is on top; the source is never written. */
#ifndef P2V_CONVERT_LAYERS_H
#define P2V_CONVERT_LAYERS_H

#include "convert/convert_impl.h"
#include "fs/ntvol.h"

/* The top of plan part i's stack: the bytes the copy reads and the Windows
 * steps see. */
typedef struct convert_view {
    blockdev *bd;           /* the source disk, or an overlay */
    uint64_t off, len;      /* the partition's bytes in bd */
    bool overlay;           /* bd is an overlay: bd_overlay_written names its changes */
} convert_view;

/* The probed source partition of a copied plan part, or NULL. */
const convert_part *convert_part_source(const convert_job *job, const plan_part *pp);

/* Plan part i (a copied partition) as it reads now. */
void convert_part_view(const convert_job *job, size_t i, convert_view *v);

/* The overlay plan part i is edited in: its resize overlay when it was
 * resized (the resize step owns it), else the edit layer's own, made on
 * first use (freed by convert_layers_free). */
int convert_part_edit(convert_job *job, size_t i, blockdev **ov, p2v_err *err);

/* Plan part i's NTFS volume: with write, in its edit overlay (made here),
 * for writing; else read-only, as it reads now. */
int convert_part_ntvol(convert_job *job, size_t i, bool write, ntvol **v, p2v_err *err);

void convert_layers_free(convert_job *job);

#endif
