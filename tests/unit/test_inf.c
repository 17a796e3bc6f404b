/* INF syntax: sections, keys, fields, quotes, comments, continuation lines,
 * %strkey% substitution, and the UTF-16LE and ANSI encodings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "windows/inf.h"

static const char sample[] =
    "; a comment before anything\r\n"
    "[Version]\r\n"
    "Signature=\"$WINDOWS NT$\"\r\n"
    "Class=SCSIAdapter\r\n"
    "ClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}\r\n"
    "Provider=%VENDOR%\r\n"
    "DriverVer = 03/28/2023,100.93.104.24000 ; trailing comment\r\n"
    "CatalogFile=viostor.cat\r\n"
    "\r\n"
    "[Manufacturer]\r\n"
    "%VENDOR% = vendor_models, NTamd64.10.0, NTx86.6.1\r\n"
    "\r\n"
    "[vendor_models.NTamd64.10.0]\r\n"
    "%Dev.Desc% = viostor_inst, PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00, \\\r\n"
    "    PCI\\VEN_1AF4&DEV_1001\r\n"
    "\r\n"
    "[Strings]\r\n"
    "VENDOR = \"Example, Inc.\"\r\n"
    "Dev.Desc = \"Example VirtIO SCSI controller\"\r\n"
    "Quoted = \"say \"\"hi\"\"; not a comment\"\r\n"
    "\r\n"
    "[viostor_inst.Services]\r\n"
    "AddService = viostor, 0x00000002, viostor_svc\r\n"
    "Text = %%percent%% and %12%\\viostor.sys and %Quoted%\r\n"
    "Empty =\r\n"
    "Blank = a,,\"\" , d\r\n"
    "[Version]\r\n"
    "Extra = merged\r\n";

static void check_sample(const inf *f)
{
    CHECK_STR(inf_value(f, "version", "signature"), "$WINDOWS NT$");
    CHECK_STR(inf_value(f, "Version", "Class"), "SCSIAdapter");
    CHECK_STR(inf_value(f, "Version", "Provider"), "Example, Inc.");
    CHECK_STR(inf_value(f, "Version", "Extra"), "merged");
    const inf_line *dv = inf_line_find(inf_section_find(f, "Version"), "DriverVer");
    CHECK(dv && dv->nfields == 2);
    if (dv && dv->nfields == 2) {
        CHECK_STR(dv->fields[0], "03/28/2023");
        CHECK_STR(dv->fields[1], "100.93.104.24000");
    }
    const inf_line *m = inf_line_find(inf_section_find(f, "Manufacturer"), "Example, Inc.");
    CHECK(m && m->nfields == 3);
    if (m && m->nfields == 3) {
        CHECK_STR(m->fields[0], "vendor_models");
        CHECK_STR(m->fields[1], "NTamd64.10.0");
        CHECK_STR(m->fields[2], "NTx86.6.1");
    }
    const inf_section *models = inf_section_find(f, "VENDOR_MODELS.ntamd64.10.0");
    CHECK(models && models->nlines == 1);
    if (models && models->nlines == 1) {
        const inf_line *l = &models->lines[0];
        CHECK_STR(l->key, "Example VirtIO SCSI controller");
        CHECK_EQ_U64(l->nfields, 3); /* continuation joined the next line */
        if (l->nfields == 3) {
            CHECK_STR(l->fields[0], "viostor_inst");
            CHECK_STR(l->fields[1], "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
            CHECK_STR(l->fields[2], "PCI\\VEN_1AF4&DEV_1001");
        }
    }
    const inf_section *svc = inf_section_find(f, "viostor_inst.Services");
    const inf_line *add = inf_line_find(svc, "addservice");
    CHECK(add && add->nfields == 3);
    CHECK_STR(inf_value(f, "viostor_inst.Services", "Text"),
              "%percent% and %12%\\viostor.sys and say \"hi\"; not a comment");
    const inf_line *empty = inf_line_find(svc, "Empty");
    CHECK(empty && empty->nfields == 0);
    const inf_line *blank = inf_line_find(svc, "Blank");
    CHECK(blank && blank->nfields == 4);
    if (blank && blank->nfields == 4) {
        CHECK_STR(blank->fields[1], "");
        CHECK_STR(blank->fields[2], "");
        CHECK_STR(blank->fields[3], "d");
    }
    CHECK_STR(inf_string(f, "dev.desc"), "Example VirtIO SCSI controller");
    CHECK(inf_string(f, "nope") == NULL);
    CHECK_EQ_U64(inf_section_count(f), 5);
}

static void test_ansi(void)
{
    inf *f = NULL;
    p2v_err err = {{0}};
    int rc = inf_parse((const uint8_t *)sample, strlen(sample), "sample.inf", &f, &err);
    CHECK_EQ_U64(rc, 0);
    if (rc == 0)
        check_sample(f);
    inf_free(f);
}

/* The same text as UTF-16LE with a BOM, plus one non-ASCII character. */
static void test_utf16(void)
{
    size_t n = strlen(sample);
    uint8_t *buf = malloc(2 + 2 * n + 64);
    size_t len = 0;
    buf[len++] = 0xFF;
    buf[len++] = 0xFE;
    for (size_t i = 0; i < n; i++) {
        buf[len++] = (uint8_t)sample[i];
        buf[len++] = 0;
    }
    const uint16_t extra[] = {'[', 'S', 't', 'r', 'i', 'n', 'g', 's', ']', '\n',
                              'U', '=', 0x00E9, 0x20AC, '\n'};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        buf[len++] = (uint8_t)extra[i];
        buf[len++] = (uint8_t)(extra[i] >> 8);
    }
    inf *f = NULL;
    p2v_err err = {{0}};
    int rc = inf_parse(buf, len, "utf16.inf", &f, &err);
    CHECK_EQ_U64(rc, 0);
    if (rc == 0) {
        check_sample(f);
        CHECK_STR(inf_string(f, "U"), "\xC3\xA9\xE2\x82\xAC");
    }
    inf_free(f);
    free(buf);
}

static void test_latin1(void)
{
    const char txt[] = "[Version]\nSignature=\"$Chicago$\"\n[Strings]\nA=caf\xE9\n";
    inf *f = NULL;
    p2v_err err = {{0}};
    CHECK_EQ_U64(inf_parse((const uint8_t *)txt, strlen(txt), "l1.inf", &f, &err), 0);
    if (f)
        CHECK_STR(inf_string(f, "A"), "caf\xC3\xA9");
    inf_free(f);
}

static void test_refusals(void)
{
    inf *f = NULL;
    p2v_err err = {{0}};
    const char *no_version = "[Strings]\nA=1\n";
    CHECK_EQ_U64(inf_parse((const uint8_t *)no_version, strlen(no_version), "x.inf", &f, &err),
                 (uint64_t)-EINVAL);
    CHECK(strstr(err.msg, "x.inf") && strstr(err.msg, "[Version]"));
    const char *bad_header = "[Version]\nSignature=$Windows NT$\n[Broken\n";
    CHECK_EQ_U64(inf_parse((const uint8_t *)bad_header, strlen(bad_header), "y.inf", &f, &err),
                 (uint64_t)-EINVAL);
    CHECK(strstr(err.msg, "y.inf: line 3"));
    const char *no_sig = "[Version]\nClass=Net\n";
    CHECK_EQ_U64(inf_parse((const uint8_t *)no_sig, strlen(no_sig), "z.inf", &f, &err),
                 (uint64_t)-EINVAL);
    CHECK(strstr(err.msg, "Signature"));
    CHECK_EQ_U64(inf_parse((const uint8_t *)"", 0, "e.inf", &f, &err), (uint64_t)-EINVAL);
    CHECK(f == NULL);
}

/* A backslash at the end of the very last line, unterminated quotes and a
 * lone '%' must neither crash nor lose the rest of the file. */
static void test_edges(void)
{
    const char txt[] = "[Version]\nSignature=\"$Windows NT$\nA=%x\nB=\"%%\"\\";
    inf *f = NULL;
    p2v_err err = {{0}};
    CHECK_EQ_U64(inf_parse((const uint8_t *)txt, strlen(txt), "edge.inf", &f, &err), 0);
    if (f) {
        CHECK_STR(inf_value(f, "Version", "Signature"), "$Windows NT$");
        CHECK_STR(inf_value(f, "Version", "A"), "%x");
        CHECK_STR(inf_value(f, "Version", "B"), "%");
    }
    inf_free(f);
}

int main(void)
{
    test_ansi();
    test_utf16();
    test_latin1();
    test_refusals();
    test_edges();
    return t_done("test_inf");
}
