/* HKLM\SYSTEM\MountedDevices: the drive letters and volume names Windows
 * gives to partitions, keyed by their MBR (signature + offset) or GPT
 * (partition GUID) identity. */
#include <errno.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "windows/windows.h"

static const char dmio[8] = { 'D', 'M', 'I', 'O', ':', 'I', 'D', ':' };

bool win_md_parse(const uint8_t *data, size_t len, win_part_id *out)
{
    memset(out, 0, sizeof *out);
    if (len == WIN_MD_MBR_LEN) {
        out->mbr_signature = get_le32(data);
        out->mbr_offset = get_le64(data + 4);
        return true;
    }
    if (len == WIN_MD_GPT_LEN && !memcmp(data, dmio, sizeof dmio)) {
        out->gpt = true;
        memcpy(out->part_guid.b, data + 8, 16);
        return true;
    }
    return false;
}

size_t win_md_encode(const win_part_id *id, uint8_t out[WIN_MD_GPT_LEN])
{
    if (id->gpt) {
        memcpy(out, dmio, sizeof dmio);
        memcpy(out + 8, id->part_guid.b, 16);
        return WIN_MD_GPT_LEN;
    }
    put_le32(out, id->mbr_signature);
    put_le64(out + 4, id->mbr_offset);
    return WIN_MD_MBR_LEN;
}

struct md_edit {
    char *key;
    uint8_t data[WIN_MD_GPT_LEN];
    size_t len;
};

/* What one value becomes: 1 with e filled when it names a moved partition. */
static int md_plan(hive_h *h, hive_value_h v, const win_map *m, win_report *rep,
                   struct md_edit *e)
{
    hive_type t;
    size_t len;
    char *key = hivex_value_key(h, v), *raw = hivex_value_value(h, v, &t, &len);
    win_part_id id;
    const win_move *mv = NULL;
    int r = 0;
    if (key && raw && t == hive_t_REG_BINARY && win_md_parse((uint8_t *)raw, len, &id))
        mv = win_map_find(m, &id);
    if (mv) {
        char from[160], to[160];
        win_part_id_format(&id, from, sizeof from);
        win_part_id_format(&mv->to, to, sizeof to);
        e->len = win_md_encode(&mv->to, e->data);
        bool letter = !strncmp(key, "\\DosDevices\\", 12);
        /* GPT to GPT: the partition GUID stays, so does the value. */
        bool same = e->len == len && !memcmp(e->data, raw, len);
        if (same)
            p2v_warn(&rep->changes, "MountedDevices: %s %s: %s unchanged (%s)", key,
                     letter ? "kept" : "follows", from, mv->what);
        else
            p2v_warn(&rep->changes, "MountedDevices: %s %s: %s -> %s (%s)", key,
                     letter ? "kept" : "follows", from, to, mv->what);
        if (!same) {
            e->key = key;
            key = NULL;
            r = 1;
        }
    }
    free(key);
    free(raw);
    return r;
}

int win_md_rewrite(win_hive *system, const win_map *m, win_report *rep, unsigned *changed,
                   p2v_err *err)
{
    hive_h *h = win_hive_h(system);
    *changed = 0;
    hive_node_h md = win_hive_node(system, "MountedDevices");
    if (!md)
        return 0;
    hive_value_h *vals = hivex_node_values(h, md);
    if (!vals)
        return p2v_errf_at(err, -EIO, win_hive_what(system), "MountedDevices cannot be read");
    size_t n = 0, k = 0;
    while (vals[n])
        n++;
    struct md_edit *ed = calloc(n ? n : 1, sizeof *ed);
    int r = ed ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; ed && i < n; i++)
        k += (size_t)md_plan(h, vals[i], m, rep, &ed[k]);
    /* Values are set after the walk, so no handle of the walk goes stale. */
    for (size_t i = 0; i < k && r == 0; i++) {
        hive_set_value sv = { .key = ed[i].key, .t = hive_t_REG_BINARY, .len = ed[i].len,
                              .value = (char *)ed[i].data };
        if (hivex_node_set_value(h, md, &sv, 0) != 0)
            r = p2v_errf_at(err, -EIO, win_hive_what(system),
                            "MountedDevices %s could not be stored (%s)", ed[i].key,
                            strerror(errno));
        else
            (*changed)++;
    }
    for (size_t i = 0; i < k; i++)
        free(ed[i].key);
    free(ed);
    free(vals);
    return r;
}
