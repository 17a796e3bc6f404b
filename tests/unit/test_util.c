/* Unit tests for src/util: sizes, GUIDs, extents, JSON, optional libraries, errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "t.h"
#include "util/array.h"
#include "util/endian.h"
#include "util/hex.h"
#include "util/err.h"
#include "util/extent.h"
#include "util/guid.h"
#include "util/json.h"
#include "util/markup.h"
#include "util/optlib.h"
#include "util/size.h"

static void test_size_parse(void)
{
    uint64_t v;
    CHECK(size_parse("512", &v) == 0 && v == 512);
    CHECK(size_parse("64K", &v) == 0 && v == 65536);
    CHECK(size_parse("1M", &v) == 0 && v == 1048576);
    CHECK(size_parse("1MiB", &v) == 0 && v == 1048576);
    CHECK(size_parse("2G", &v) == 0 && v == 2147483648ULL);
    CHECK(size_parse("1.5K", &v) == 0 && v == 1536);
    CHECK(size_parse("16T", &v) == 0 && v == 16ULL << 40);
    CHECK(size_parse("", &v) == -EINVAL);
    CHECK(size_parse("-1", &v) == -EINVAL);
    CHECK(size_parse("12Q", &v) == -EINVAL);
    CHECK(size_parse("1KX", &v) == -EINVAL);
    CHECK(size_parse("99999999999999999999", &v) == -EINVAL);
    CHECK(size_parse("20000000E", &v) == -ERANGE);
}

static void test_size_human(void)
{
    char b[32];
    CHECK_STR(size_human(0, b, sizeof b), "0 B");
    CHECK_STR(size_human(1023, b, sizeof b), "1023 B");
    CHECK_STR(size_human(1536, b, sizeof b), "1.5 KiB");
    CHECK_STR(size_human(30ULL << 30, b, sizeof b), "30.0 GiB");
}

static void test_guid(void)
{
    /* The ESP type GUID as it is stored on disk (UEFI spec byte order). */
    static const uint8_t esp_disk[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                          0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
    p2v_guid g;
    char s[P2V_GUID_STRLEN];
    CHECK(guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", &g) == 0);
    CHECK(memcmp(g.b, esp_disk, 16) == 0);
    guid_format(&g, s);
    CHECK_STR(s, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    CHECK(guid_parse("{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}", &g) == 0);
    CHECK(guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93", &g) == -EINVAL);
    CHECK(guid_parse("c12a7328xf81f-11d2-ba4b-00a0c93ec93b", &g) == -EINVAL);
    CHECK(guid_parse("g12a7328-f81f-11d2-ba4b-00a0c93ec93b", &g) == -EINVAL);
    p2v_guid a, b;
    CHECK(guid_generate(&a) == 0 && guid_generate(&b) == 0);
    CHECK(!guid_equal(&a, &b));
    CHECK(!guid_is_zero(&a));
    guid_format(&a, s);
    CHECK(s[14] == '4');                                 /* version 4 */
    CHECK(strchr("89ab", s[19]) != NULL);                /* RFC 4122 variant */
}

/* The growing-array rule and the hex digit decoder of util. */
static void test_array_hex(void)
{
    size_t cap = 0;
    int *v = array_room(NULL, &cap, 0, sizeof *v, 4);
    CHECK(v && cap == 4);
    CHECK(array_room(v, &cap, 3, sizeof *v, 4) == v && cap == 4); /* room left: unchanged */
    v = array_room(v, &cap, 4, sizeof *v, 4);
    CHECK(v && cap == 8);
    size_t big = SIZE_MAX / 2 + 1;
    CHECK(array_room(v, &big, big, 1, 4) == NULL && big == SIZE_MAX / 2 + 1); /* would overflow */
    free(v);
    CHECK(hex_digit('0') == 0 && hex_digit('9') == 9 && hex_digit('a') == 10 &&
          hex_digit('F') == 15 && hex_digit('g') == -1 && hex_digit(' ') == -1);
}

static void test_extent(void)
{
    extent_list l = { 0 };
    CHECK(extent_list_add(&l, 0, 10) == 0);
    CHECK(extent_list_add(&l, 10, 5) == 0); /* adjacent: merged */
    CHECK_EQ_U64(l.count, 1);
    CHECK_EQ_U64(l.v[0].len, 15);
    CHECK(extent_list_add(&l, 100, 10) == 0);
    CHECK(extent_list_add(&l, 50, 60) == 0); /* out of order: kept until normalize */
    CHECK(extent_list_add(&l, UINT64_MAX, 2) == -ERANGE);
    extent_list_normalize(&l);
    CHECK_EQ_U64(l.count, 2);
    CHECK_EQ_U64(l.v[1].start, 50);
    CHECK_EQ_U64(l.v[1].len, 60);
    CHECK_EQ_U64(extent_list_bytes(&l), 75);
    extent_list_clip(&l, 60);
    CHECK_EQ_U64(l.count, 2);
    CHECK_EQ_U64(l.v[1].len, 10);
    extent_list_clip(&l, 5);
    CHECK_EQ_U64(l.count, 1);
    CHECK_EQ_U64(l.v[0].len, 5);
    extent_list_free(&l);
}

/* extent_list_subtract against a byte map, on random lists of a small space. */
static void test_extent_subtract(void)
{
    unsigned seed = 12345;
    for (int round = 0; round < 500; round++) {
        uint8_t in[300] = { 0 }, cutmap[300] = { 0 };
        extent_list l = { 0 }, cut = { 0 };
        for (int k = 0; k < 2; k++) {
            extent_list *dst = k ? &cut : &l;
            uint8_t *map = k ? cutmap : in;
            int n = (int)(rand_r(&seed) % 8);
            for (int e = 0; e < n; e++) {
                uint64_t st = rand_r(&seed) % 256, len = 1 + rand_r(&seed) % 40;
                CHECK(extent_list_add(dst, st, len) == 0);
                for (uint64_t b = st; b < st + len; b++)
                    map[b] = 1;
            }
            extent_list_normalize(dst);
        }
        CHECK(extent_list_subtract(&l, &cut) == 0);
        uint8_t got[300] = { 0 };
        for (size_t i = 0; i < l.count; i++) {
            CHECK(l.v[i].len > 0);
            if (i)  /* still normalized: sorted, apart */
                CHECK(l.v[i].start > l.v[i - 1].start + l.v[i - 1].len);
            for (uint64_t b = l.v[i].start; b < l.v[i].start + l.v[i].len; b++)
                got[b] = 1;
        }
        for (int b = 0; b < 300; b++)
            CHECK(got[b] == (in[b] && !cutmap[b]));
        extent_list_free(&l);
        extent_list_free(&cut);
    }
}

static void test_endian(void)
{
    uint8_t b[8];
    put_le32(b, 0x11223344);
    CHECK(b[0] == 0x44 && b[3] == 0x11);
    CHECK_EQ_U64(get_le32(b), 0x11223344);
    put_be64(b, 0x0102030405060708ULL);
    CHECK(b[0] == 1 && b[7] == 8);
    CHECK_EQ_U64(get_be64(b), 0x0102030405060708ULL);
    put_le64(b, 0x8877665544332211ULL);
    CHECK_EQ_U64(get_le64(b), 0x8877665544332211ULL);
    CHECK_EQ_U64(get_le16(b), 0x2211);
    CHECK_EQ_U64(get_be16(b), 0x1122);
}

static void test_json(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_writer j;
    json_init(&j, f);
    json_obj_begin(&j);
    json_kstr(&j, "a", "x\"y\n");
    json_key(&j, "list");
    json_arr_begin(&j);
    json_u64(&j, 1);
    json_boolean(&j, true);
    json_arr_end(&j);
    json_key(&j, "empty");
    json_arr_begin(&j);
    json_arr_end(&j);
    json_knull(&j, "n");
    json_kdouble(&j, "d", 1.5);
    json_obj_end(&j);
    json_end(&j);
    fclose(f);
    CHECK_STR(buf, "{\n    \"a\": \"x\\\"y\\n\",\n    \"list\": [\n        1,\n        true\n    ],\n"
                   "    \"empty\": [],\n    \"n\": null,\n    \"d\": 1.5\n}\n");
    free(buf);
}

/* util/markup: the references of HTML and XML, control characters blanked. */
static void test_markup(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    markup_put(f, "<a href=\"x\">Tom & Jerry's</a>", MARKUP_APOS_HTML);
    fputc('|', f);
    markup_put(f, "it's\tok\x7f", MARKUP_APOS_XML);
    fputc('|', f);
    markup_put(f, NULL, MARKUP_APOS_XML);
    fclose(f);
    CHECK_STR(buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;|it&apos;s ok |");
    free(buf);
}

/* util/optlib: a library opened on first use, its functions typed by its header. */
#define Z_FNS(X) X(zlibVersion) X(crc32)
static OPTLIB_TABLE(z_fns, Z_FNS) z;
OPTLIB(z_lib, "libz.so.1", "checksums", Z_FNS, z);

#define MISSING_FNS(X) X(zlibVersion) X(p2v_no_such_function)
static void p2v_no_such_function(void) {}
static OPTLIB_TABLE(missing_fns, MISSING_FNS) missing;
OPTLIB(missing_lib, "libz.so.1", "a test", MISSING_FNS, missing);

#define ABSENT_FNS(X) X(zlibVersion)
static OPTLIB_TABLE(absent_fns, ABSENT_FNS) absent;
OPTLIB(absent_lib, "libp2v-absent.so.9", "a test", ABSENT_FNS, absent);

static void test_optlib(void)
{
    p2v_err err = { 0 };
    CHECK(optlib_load(&z_lib, &err) == 0);
    CHECK(optlib_load(&z_lib, &err) == 0); /* once loaded, stays loaded */
    CHECK(strcmp(z.f.zlibVersion(), zlibVersion()) == 0);
    CHECK(z.f.crc32(0, (const Bytef *)"p2v", 3) == crc32(0, (const Bytef *)"p2v", 3));

    CHECK(optlib_load(&missing_lib, &err) == -ENOENT);
    CHECK(strstr(err.msg, "a test needs p2v_no_such_function() from libz.so.1") != NULL);
    (void)p2v_no_such_function;

    CHECK(optlib_load(&absent_lib, &err) == -ENOENT);
    CHECK(strstr(err.msg, "a test needs libp2v-absent.so.9, which cannot be loaded") != NULL);
    memset(&err, 0, sizeof err);
    CHECK(optlib_load(&absent_lib, &err) == -ENOENT); /* the first outcome, message and all */
    CHECK(strstr(err.msg, "libp2v-absent.so.9") != NULL);
}

/* An error names its where once; an outer layer adds its name only to an
 * error that does not name it yet, deciding on err.where, not on the text. */
static void test_err_where(void)
{
    p2v_err err;
    memset(&err, 'x', sizeof err); /* callers often leave it uninitialised */
    CHECK(p2v_errf(&err, -EIO, "read failed") == -EIO);
    CHECK(err.where[0] == '\0' && !p2v_err_names(&err, "pc.img:2"));
    CHECK(p2v_err_at(&err, -EIO, "pc.img:2", "Windows fixups") == -EIO);
    CHECK(strcmp(err.msg, "pc.img:2: Windows fixups: read failed") == 0);
    CHECK(strcmp(err.where, "pc.img:2") == 0 && p2v_err_names(&err, "pc.img:2"));

    /* named below (a hive of that partition): the outer name is not repeated */
    CHECK(p2v_errf_at(&err, -EINVAL, "pc.img:2 \\Boot\\BCD", "not a BCD store (%s)", "no Objects key")
          == -EINVAL);
    CHECK(strcmp(err.msg, "pc.img:2 \\Boot\\BCD: not a BCD store (no Objects key)") == 0);
    CHECK(p2v_err_at(&err, -EINVAL, "pc.img:2", "Windows fixups") == -EINVAL);
    CHECK(strcmp(err.msg, "pc.img:2 \\Boot\\BCD: not a BCD store (no Objects key)") == 0);
    /* about another partition: named, and then about this one */
    CHECK(p2v_err_at(&err, -EINVAL, "pc.img:5", "firmware switch to BIOS") == -EINVAL);
    CHECK(strcmp(err.msg, "pc.img:5: firmware switch to BIOS: pc.img:2 \\Boot\\BCD: not a BCD "
                          "store (no Objects key)") == 0);
    CHECK(strcmp(err.where, "pc.img:5") == 0);

    /* a prefix puts other words first: the message names no where any more */
    p2v_err_prefix(&err, -EIO, "verify");
    CHECK(err.where[0] == '\0' && strncmp(err.msg, "verify: pc.img:5: ", 18) == 0);
    CHECK(p2v_errf_at(NULL, -EIO, "x", "y") == -EIO && p2v_err_at(NULL, -EIO, "x", "y") == -EIO);

    /* what went wrong without its where; a message about no where is all text */
    CHECK(strcmp(p2v_err_text(&err), err.msg) == 0);
    p2v_errf_at(&err, -EIO, "pc.img", "read error at offset %d", 512);
    CHECK(strcmp(p2v_err_text(&err), "read error at offset 512") == 0);
    /* naming: only where the message is not about that name yet */
    CHECK(p2v_err_name(&err, -EIO, "pc.img") == -EIO);
    CHECK(strcmp(err.msg, "pc.img: read error at offset 512") == 0);
    CHECK(p2v_err_name(&err, -EIO, "pc.im") == -EIO);
    CHECK(strcmp(err.msg, "pc.im: pc.img: read error at offset 512") == 0);
    CHECK(strcmp(err.where, "pc.im") == 0 && strcmp(p2v_err_text(&err), "pc.img: read error at "
                                                    "offset 512") == 0);
    p2v_errf(&err, -EIO, "memfd_create: no memory");
    CHECK(p2v_err_name(&err, -EIO, "pc.img") == -EIO);
    CHECK(strcmp(err.msg, "pc.img: memfd_create: no memory") == 0 && !strcmp(err.where, "pc.img"));
}

int main(void)
{
    test_size_parse();
    test_size_human();
    test_guid();
    test_array_hex();
    test_extent();
    test_extent_subtract();
    test_endian();
    test_json();
    test_markup();
    test_optlib();
    test_err_where();
    return t_done("test_util");
}
