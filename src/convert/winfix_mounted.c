/* Windows fix: MountedDevices in the SYSTEM hive keeps every drive letter
 * on its partition after the move (see docs/windows.md). */
#include <string.h>

#include "convert/winfix.h"

static int rewrite(win_hive *h, const win_map *m, const char *what, win_report *rep,
                   unsigned *changed, p2v_err *err)
{
    return win_md_rewrite(h, m, rep, changed, err);
}

static int run_part(convert_winvol *vol, unsigned *changed, p2v_err *err)
{
    return convert_winvol_hive(vol, "\\Windows\\System32\\config\\SYSTEM", rewrite, changed,
                               err);
}

const convert_winfix convert_winfix_mounted_devices = {
    .name = "MountedDevices",
    .count = { .text = "MountedDevices values", .json = "mounted_devices" },
    .applies = convert_winfix_on_windows,
    .run_part = run_part,
};
