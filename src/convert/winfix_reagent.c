/* Windows fix: WinRE's ReAgent.xml names the recovery partition by its
 * identity; rewritten when that partition moved (see docs/windows.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/winfix.h"

#define REAGENT "\\Windows\\System32\\Recovery\\ReAgent.xml"
#define REAGENT_MAX ((size_t)1 << 20)

static int run_part(convert_winvol *vol, unsigned *changed, p2v_err *err)
{
    convert_winstate *ws = &vol->job->win;
    win_map m = { ws->moves, ws->nmoves };
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    unsigned n = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", vol->name, REAGENT);
    p2v_err e2;
    int rc = ntvol_read_file(vol->v, REAGENT, REAGENT_MAX, &data, &len, &e2);
    if (rc == -ENOENT)
        return 0; /* no WinRE configured: nothing to keep right */
    if (rc < 0) {
        /* There but not readable as one (over 1 MiB, a directory, damaged):
         * the user must hear that WinRE is not kept right. */
        p2v_warn(&ws->rep.warnings, "%s: not rewritten (%s); WinRE shows as disabled until "
                 "reagentc /enable", what, e2.msg);
        return rc == -ENOMEM ? p2v_errf(err, rc, "out of memory") : 0;
    }
    int r = win_reagent_rewrite(data, len, &m, what, &out, &olen, &ws->rep, &n, err);
    *changed += n;
    free(data);
    if (r == 0)
        return convert_winvol_add(vol, REAGENT, out, olen, err);
    free(out);
    return r;
}

const convert_winfix convert_winfix_reagent = {
    .name = "ReAgent.xml",
    .count = { .text = "ReAgent.xml locations", .json = "reagent_locations" },
    .applies = convert_winfix_on_windows,
    .run_part = run_part,
};
