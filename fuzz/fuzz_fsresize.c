/* libFuzzer harness: the resize checks on arbitrary partition contents (the
 * first 8 bytes choose the new size), and for what they accept as NTFS the
 * whole resize on overlays: system files, relocation of runlists, the
 * remapped view and the boot sectors. Nothing may crash or read outside the
 * blockdevs; a view must have the new size. */
#include <stdint.h>
#include <string.h>

#include "blockdev/overlay.h"
#include "blockdev/remap.h"
#include "blockdev/window.h"
#include "fs/resize.h"
#include "resize_input.h"

static void try_ntfs(blockdev *bd, uint64_t old_bytes, uint64_t new_bytes)
{
    p2v_err err;
    uint64_t edit = new_bytes > old_bytes ? new_bytes : old_bytes;
    blockdev *win = NULL, *ov = NULL, *view = NULL, *fin = NULL;
    fsresize_ntfs_result res = { 0 };
    if (bd_window_open(bd, 0, old_bytes, edit, &win, &err) < 0 ||
        bd_overlay_open(win, 0, 0, NULL, &ov, &err) < 0 ||
        fsresize_ntfs_apply(ov, new_bytes, "fuzz:1", &res, &err) < 0)
        goto out;
    if (bd_remap_open(ov, new_bytes, res.moves, res.nmoves, &view, &err) == 0 &&
        bd_overlay_open(view, 0, 0, NULL, &fin, &err) == 0) {
        if (bd_size(fin) != new_bytes)
            __builtin_trap();
        fsresize_ntfs_finish(fin, &res, &err);
    }
out:
    fsresize_ntfs_result_free(&res);
    bd_close(fin);
    bd_close(view);
    bd_close(ov);
    bd_close(win);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 + 512)
        return 0;
    uint64_t new_bytes = resize_input_split(&data, &size);
    blockdev *bd = NULL;
    p2v_err err;
    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
        return 0;
    fsresize_info fi;
    if (fsresize_check(bd, 0, size, "fuzz:1", &fi, &err) == 0 && new_bytes &&
        fsresize_fits(&fi, new_bytes, "fuzz:1", &err) == 0 && fi.kind == FSRESIZE_NTFS)
        try_ntfs(bd, size, new_bytes);
    bd_close(bd);
    return 0;
}
