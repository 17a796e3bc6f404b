/* Output names per PC (util/nametmpl.c), with hostile field values. */
#include <errno.h>

#include "t.h"
#include "util/nametmpl.h"

static const char *expand(const char *tmpl, const struct nametmpl_values *v, int *rc)
{
    static char out[512];
    static p2v_err err;
    *rc = nametmpl_expand(tmpl, v, out, sizeof out, &err);
    return *rc == 0 ? out : err.msg;
}

int main(void)
{
    int rc;
    struct nametmpl_values v = { { [NT_SERIAL] = "SN-42", [NT_UUID] = "4c4c4544-0042",
                                   [NT_VENDOR] = "Dell Inc.", [NT_MODEL] = "OptiPlex 7010",
                                   [NT_MAC] = "52:54:00:aa:bb:01", [NT_COMPUTERNAME] = "PC-ANN",
                                   [NT_DATE] = "2026-12-07" } };
    CHECK_STR(expand("rbd:vdi/{computername}-{serial}", &v, &rc), "rbd:vdi/PC-ANN-SN-42");
    CHECK(rc == 0);
    CHECK_STR(expand("/mnt/images/{vendor}_{model}/{mac}.qcow2", &v, &rc),
              "/mnt/images/Dell_Inc._OptiPlex_7010/52_54_00_aa_bb_01.qcow2");
    CHECK_STR(expand("nbd://10.1.1.5:10809/{serial}-{date}", &v, &rc),
              "nbd://10.1.1.5:10809/SN-42-2026-12-07");
    CHECK_STR(expand("lit{{eral}}-{uuid}", &v, &rc), "lit{eral}-4c4c4544-0042");
    CHECK_STR(expand("plain.qcow2", &v, &rc), "plain.qcow2");

    /* hostile ComputerName values */
    v.v[NT_COMPUTERNAME] = "../../etc/passwd";
    CHECK_STR(expand("/img/{computername}.qcow2", &v, &rc), "/img/_.._.._etc_passwd.qcow2");
    v.v[NT_COMPUTERNAME] = "..";
    CHECK_STR(expand("/img/{computername}", &v, &rc), "/img/_..");
    v.v[NT_COMPUTERNAME] = "ann's pc $(rm -rf)";
    CHECK_STR(expand("{computername}", &v, &rc), "ann_s_pc___rm_-rf_");
    v.v[NT_COMPUTERNAME] = "-rf";
    CHECK_STR(expand("{computername}", &v, &rc), "_-rf");
    v.v[NT_COMPUTERNAME] = "B\xc3\xbcro-M\xc3\xbcnchen\xe2\x82\xac"; /* Büro-München€ */
    CHECK_STR(expand("{computername}", &v, &rc), "B_ro-M_nchen_");
    char longname[301];
    memset(longname, 'A', 300);
    longname[300] = 0;
    v.v[NT_COMPUTERNAME] = longname;
    const char *s = expand("{computername}", &v, &rc);
    CHECK(rc == 0 && strlen(s) == NAMETMPL_FIELD_MAX);

    /* refusals */
    v.v[NT_SERIAL] = "";
    s = expand("x-{serial}", &v, &rc);
    CHECK(rc == -EINVAL && strstr(s, "{serial} is not known on this PC"));
    v.why[NT_SERIAL] = "no SMBIOS table";
    s = expand("x-{serial}", &v, &rc);
    CHECK(rc == -EINVAL && strstr(s, "x-{serial}: {serial} is not known on this PC: no SMBIOS table"));
    v.why[NT_SERIAL] = NULL;
    s = expand("x-{hostname}", &v, &rc);
    CHECK(rc == -EINVAL && strstr(s, "unknown field {hostname}"));
    s = expand("x-{serial", &v, &rc);
    CHECK(rc == -EINVAL && strstr(s, "is not closed"));
    char small[8];
    p2v_err err;
    v.v[NT_SERIAL] = "SN-42";
    CHECK(nametmpl_expand("{serial}-{serial}", &v, small, sizeof small, &err) == -ENAMETOOLONG);

    unsigned used;
    CHECK(nametmpl_fields("{serial}/{mac}{{x}}", &used, &err) == 0);
    CHECK_EQ_U64(used, (1u << NT_SERIAL) | (1u << NT_MAC));
    CHECK(nametmpl_has_fields("a{serial}"));
    CHECK(!nametmpl_has_fields("a{{b}}"));
    return t_done("test_nametmpl");
}
