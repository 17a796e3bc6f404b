/* What the Windows fixes share: the identities Windows knows partitions
 * by, and a partition's rewritten files, queued by the part fixes and
 * written in one mount. The rows (convert/winfix.h) call these; this file
 * calls no fix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/winfix.h"

win_part_id convert_win_source_id(const convert_job *job, const plan_part *pp)
{
    const ptable *t = job->src[pp->disk]->pt;
    win_part_id id = { .gpt = t->type == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = t->disk_guid;
        id.part_guid = pp->src->uuid;
    } else {
        id.mbr_signature = t->mbr_signature;
    }
    id.mbr_offset = pp->src_offset;
    return id;
}

win_part_id convert_win_target_id(const plan *p, const plan_part *pp)
{
    win_part_id id = { .gpt = p->table == PTABLE_GPT };
    if (id.gpt) {
        id.disk_guid = p->disk_guid;
        id.part_guid = pp->uuid;
    } else {
        id.mbr_signature = p->mbr_signature;
    }
    id.mbr_offset = pp->start * p->sector_size;
    return id;
}

int convert_winvol_add(convert_winvol *vol, const char *path, uint8_t *data, size_t len,
                       p2v_err *err)
{
    if (!data)
        return 0;
    if (vol->nedits == CONVERT_WINVOL_EDITS) {
        free(data);
        return p2v_errf_at(err, -E2BIG, vol->name, "more than %d files rewritten",
                           CONVERT_WINVOL_EDITS);
    }
    vol->edits[vol->nedits++] = (convert_file_edit){ .path = path, .data = data, .len = len };
    return 0;
}

int convert_winvol_write(convert_winvol *vol, p2v_err *err)
{
    if (!vol->nedits)
        return 0;
    ntvol *v = NULL;
    int r = convert_part_ntvol(vol->job, vol->part, true, &v, err);
    for (size_t k = 0; r == 0 && k < vol->nedits; k++)
        r = ntvol_write_file(v, vol->edits[k].path, vol->edits[k].data, vol->edits[k].len, err);
    p2v_err e2;
    int rc = v ? ntvol_close(v, r < 0 ? &e2 : err) : 0;
    return r < 0 ? r : rc;
}

void convert_winvol_free(convert_winvol *vol)
{
    for (size_t k = 0; k < vol->nedits; k++)
        free(vol->edits[k].data);
    vol->nedits = 0;
}

bool convert_winfix_on_windows(const convert_job *job, const convert_part *cp)
{
    (void)job;
    return cp->fs.kind == FS_NTFS && cp->win.win.present;
}

int convert_win_way_out(int r, p2v_err *err)
{
    size_t l = strlen(err->msg);
    if (r < 0 && r != -ENOMEM && r != -EINTR)
        snprintf(err->msg + l, sizeof err->msg - l, "; --no-windows-fixups copies Windows "
                 "unchanged (its boot references then still name the old disk)");
    return r;
}

int convert_winvol_hive(convert_winvol *vol, const char *path, convert_hive_fn fn,
                        unsigned *changed, p2v_err *err)
{
    convert_winstate *ws = &vol->job->win;
    win_map m = { ws->moves, ws->nmoves };
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    win_hive *h = NULL;
    unsigned n = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", vol->name, path);
    int r = ntvol_read_file(vol->v, path, CONVERT_HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = win_hive_open(data, len, true, what, &h, err);
    if (r == 0)
        r = fn(h, &m, what, &ws->rep, &n, err);
    if (r == 0 && n)
        r = win_hive_save(h, &out, &olen, err);
    *changed += n;
    if (r == 0)
        r = convert_winvol_add(vol, path, out, olen, err);
    else
        free(out);
    win_hive_close(h);
    free(data);
    return convert_win_way_out(r, err);
}
