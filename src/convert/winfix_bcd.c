/* Windows fix: the BCD's device elements name the moved partitions (see
 * docs/windows.md). A BCD on NTFS (\Boot\BCD of System Reserved or of
 * Windows' own volume) is rewritten with the volume's other files; one on
 * FAT (an ESP's \EFI\Microsoft\Boot\BCD, or \Boot\BCD on a FAT System
 * Reserved partition) in place in the partition's edit layer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/winfix.h"
#include "fs/vol.h"

static bool applies(const convert_job *job, const convert_part *cp)
{
    if (cp->fs.kind == FS_FAT)
        return cp->win.bcd_efi || cp->win.bcd_bios;
    return cp->fs.kind == FS_NTFS && cp->win.bcd_bios;
}

/* A BCD on a FAT volume, rewritten in place. */
static int fix_fat_bcd(convert_winvol *vol, const char *path, unsigned *changed, p2v_err *err)
{
    convert_winstate *ws = &vol->job->win;
    win_map m = { ws->moves, ws->nmoves };
    char what[600];
    fs_vol *v = NULL;
    win_hive *h = NULL;
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    unsigned n = 0;
    snprintf(what, sizeof what, "%s %s", vol->name, path);
    blockdev *ov = NULL;
    int r = convert_part_edit(vol->job, vol->part, &ov, err);
    if (r == 0)
        r = fs_vol_open(FS_FAT, ov, 0, bd_size(ov), FS_VOL_WRITE, &v, err);
    if (r == 0)
        r = fs_vol_read_file(v, path, CONVERT_HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = convert_win_way_out(win_hive_open(data, len, true, what, &h, err), err);
    if (r == 0)
        r = convert_win_way_out(win_bcd_rewrite(h, &m, what, &ws->rep, &n, err), err);
    if (r == 0 && n && (r = win_hive_save(h, &out, &olen, err)) == 0)
        r = fs_vol_write_file(v, path, out, olen, err);
    *changed += n;
    win_hive_close(h);
    p2v_err e2;
    int rc = fs_vol_close(v, r < 0 ? &e2 : err);
    if (r == 0)
        r = rc;
    free(data);
    free(out);
    return r;
}

static int run_part(convert_winvol *vol, unsigned *changed, p2v_err *err)
{
    const win_volume *w = &vol->cp->win;
    int r = 0;
    if (vol->cp->fs.kind == FS_FAT) {
        if (w->bcd_efi)
            r = fix_fat_bcd(vol, "\\EFI\\Microsoft\\Boot\\BCD", changed, err);
        if (r == 0 && w->bcd_bios)
            r = fix_fat_bcd(vol, "\\Boot\\BCD", changed, err);
        return r;
    }
    return convert_winvol_hive(vol, "\\Boot\\BCD", win_bcd_rewrite, changed, err);
}

const convert_winfix convert_winfix_bcd = {
    .name = "BCD device elements",
    .count = { .text = "BCD device elements", .json = "bcd_elements" },
    .applies = applies,
    .run_part = run_part,
};
