/* Partition identities as Windows records them, the old -> new mapping of a
 * conversion, and the report of what the rewrites did. */
#include <stdio.h>
#include <string.h>

#include "windows/windows.h"

const win_move *win_map_find(const win_map *m, const win_part_id *id)
{
    for (size_t i = 0; m && i < m->count; i++) {
        const win_part_id *f = &m->v[i].from;
        if (f->gpt != id->gpt)
            continue;
        if (f->gpt ? guid_equal(&f->part_guid, &id->part_guid)
                   : f->mbr_signature == id->mbr_signature && f->mbr_offset == id->mbr_offset)
            return &m->v[i];
    }
    return NULL;
}

void win_part_id_format(const win_part_id *id, char *out, size_t cap)
{
    if (id->gpt) {
        char d[P2V_GUID_STRLEN], p[P2V_GUID_STRLEN];
        guid_format(&id->disk_guid, d);
        guid_format(&id->part_guid, p);
        if (guid_is_zero(&id->disk_guid)) /* MountedDevices names no disk */
            snprintf(out, cap, "GPT partition {%s}", p);
        else
            snprintf(out, cap, "GPT disk {%s} partition {%s}", d, p);
    } else {
        snprintf(out, cap, "MBR 0x%08x @ %llu", id->mbr_signature,
                 (unsigned long long)id->mbr_offset);
    }
}

void win_report_free(win_report *r)
{
    p2v_warnings_free(&r->changes);
    p2v_warnings_free(&r->warnings);
}
