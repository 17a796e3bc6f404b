/* Windows' computer name from the SYSTEM hive of an offline volume. */
#include "windows/computername.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>

#include "windows/windows.h"

#define SYSTEM_HIVE "/Windows/System32/config/SYSTEM"
#define SYSTEM_HIVE_MAX ((size_t)1 << 30)

int win_computername(ntvol *v, char *out, size_t cap, p2v_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    win_hive *h = NULL;
    uint32_t cur = 1;
    char path[96];
    int r = ntvol_read_file(v, SYSTEM_HIVE, SYSTEM_HIVE_MAX, &data, &len, err);
    if (r == 0)
        r = win_hive_open(data, len, false, SYSTEM_HIVE, &h, err);
    free(data);
    if (r < 0)
        return r;
    win_hive_get_dword(h, "Select", "Current", &cur);
    snprintf(path, sizeof path, "ControlSet%03u\\Control\\ComputerName\\ComputerName", cur);
    out[0] = '\0';
    r = win_hive_get_string(h, path, "ComputerName", out, cap);
    win_hive_close(h);
    if (r < 0 || !out[0])
        return p2v_errf(err, -ENOENT, "%s: no %s\\ComputerName", SYSTEM_HIVE, path);
    return 0;
}

int win_computername_part(blockdev *bd, uint64_t off, uint64_t len, char *out, size_t cap,
                          p2v_err *err)
{
    ntvol *v;
    int r = ntvol_open(bd, off, len, 0, &v, err);
    if (r < 0)
        return r;
    r = win_computername(v, out, cap, err);
    p2v_err e;
    ntvol_close(v, &e);
    return r;
}
