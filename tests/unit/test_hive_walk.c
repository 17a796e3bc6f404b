/* The one registry path walker (win_hive_walk): keys made on the way in a
 * blank hive built at test time (blank_hive.py), then read back by hivexget
 * (not p2v) from the saved bytes; lookups without regard to case, from the
 * root or from a key, with empty names skipped; missing keys are 0 and are
 * not made without create. */
#include <errno.h>
#include <hivex.h>
#include <stdlib.h>
#include <unistd.h>

#include "sh_testlib.h"
#include "t.h"
#include "windows/windows.h"

static char lib[512];

static win_hive *open_blank(void)
{
    size_t len = 0;
    win_hive *h = NULL;
    p2v_err err;
    if (sh("python3 %s/blank_hive.py blank", lib) != 0)
        return NULL;
    uint8_t *data = slurp("blank", &len);
    if (data)
        win_hive_open(data, len, true, "blank", &h, &err);
    free(data);
    return h;
}

static void test_walk(void)
{
    win_hive *wh = open_blank();
    CHECK(wh != NULL);
    if (!wh)
        return;
    hive_h *h = win_hive_h(wh);
    size_t root = hivex_root(h);

    /* missing: 0, and nothing is made */
    CHECK(win_hive_walk(h, 0, "ControlSet001\\Services", false) == 0);
    CHECK(win_hive_node(wh, "ControlSet001") == 0);

    /* made on the way; the same walk finds them again, in any case */
    size_t svc = win_hive_walk(h, 0, "ControlSet001\\Services\\viostor", true);
    CHECK(svc != 0);
    CHECK(win_hive_walk(h, 0, "controlset001\\SERVICES\\ViOsToR", false) == svc);
    CHECK(win_hive_node(wh, "ControlSet001\\Services\\viostor") == svc);
    /* empty names (leading, doubled, trailing '\') are skipped */
    CHECK(win_hive_walk(h, 0, "\\ControlSet001\\\\Services\\viostor\\", false) == svc);
    /* the empty path is where the walk starts */
    CHECK(win_hive_walk(h, 0, "", false) == root);

    /* from a key: relative to it, not to the root */
    size_t cs = win_hive_node(wh, "ControlSet001");
    CHECK(cs != 0 && win_hive_walk(h, cs, "Services\\viostor", false) == svc);
    CHECK(win_hive_walk(h, cs, "ControlSet001", false) == 0);
    size_t params = win_hive_walk(h, svc, "Parameters\\PnpInterface", true);
    CHECK(params != 0);
    CHECK(win_hive_node(wh, "ControlSet001\\Services\\viostor\\Parameters\\PnpInterface") ==
          params);

    /* a name longer than a registry key name can be: not found, not made */
    char longname[300];
    memset(longname, 'k', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    errno = 0;
    CHECK(win_hive_walk(h, 0, longname, true) == 0 && errno == ENAMETOOLONG);

    /* a value on the made key, and the hive saved: hivexget reads it back */
    hive_set_value v = { .key = "Start", .t = hive_t_REG_DWORD, .len = 4,
                         .value = (char *)"\x00\x00\x00\x00" };
    CHECK(hivex_node_set_value(h, svc, &v, 0) == 0);
    uint8_t *out = NULL;
    size_t olen = 0;
    p2v_err err;
    CHECK(win_hive_save(wh, &out, &olen, &err) == 0);
    CHECK(out && spill("saved", out, olen) == 0);
    free(out);
    win_hive_close(wh);
    CHECK(sh("hivexget saved 'ControlSet001\\Services\\viostor' Start >start.txt") == 0);
    CHECK(sh("grep -qx 0 start.txt") == 0);
    CHECK(sh("hivexget saved 'ControlSet001\\Services\\viostor\\Parameters\\PnpInterface' "
             ">/dev/null") == 0);
}

int main(void)
{
    t_libdir(lib, sizeof lib, __FILE__);
    static void (*const tests[])(void) = { test_walk };
    return T_SCRATCH_RUN("hive", "test_hive_walk", tests);
}
