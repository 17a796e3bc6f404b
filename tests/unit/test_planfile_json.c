/* The strict JSON reader of plan files (src/convert/planfile_json.c): every
 * RFC 8259 text is taken, everything else refused with the byte offset and
 * the reason; duplicate keys and \u0000 refused; and through
 * convert_planfile_parse, a plan that was read never differs from its text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/planfile_impl.h"
#include "t.h"

static void ok(const char *text)
{
    p2v_err err = { { 0 } };
    size_t start = 99;
    int r = planfile_json_check(text, strlen(text), &start, &err);
    if (r != 0)
        fprintf(stderr, "refused %s: %s\n", text, err.msg);
    CHECK(r == 0);
}

/* bad(TEXT, LEN, OFFSET, REASON): refused at byte OFFSET naming REASON. */
static void bad_n(const char *text, size_t len, long at, const char *reason)
{
    p2v_err err = { { 0 } };
    size_t start;
    char want[64];
    int r = planfile_json_check(text, len, &start, &err);
    CHECK_EQ_U64(r, (uint64_t)-EINVAL);
    snprintf(want, sizeof want, "at byte %ld: ", at);
    if (r == 0 || (at >= 0 && !strstr(err.msg, want)) || !strstr(err.msg, reason)) {
        fprintf(stderr, "for %.*s: want \"%s%s\", got \"%s\"\n", (int)len, text, want, reason,
                err.msg);
        CHECK(!"message");
    }
}

static void bad(const char *text, long at, const char *reason)
{
    bad_n(text, strlen(text), at, reason);
}

static void test_valid(void)
{
    ok("{}");
    ok("[]");
    ok(" \t\r\n{ \"a\" : [ 1 , -0 , 0.5 , -1.25e+10 , 2E-3 , true , false , null ] }\n");
    ok("\"x\"");
    ok("0");
    ok("{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}");
    ok("{\"utf8\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}");
    ok("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"a\":4}]}"); /* same key, other objects */
    ok("{\"a\":1,\"A\":2}");
    ok("\xEF\xBB\xBF{}"); /* a byte order mark */
    p2v_err err;
    size_t start = 0;
    CHECK(planfile_json_check("\xEF\xBB\xBF{}", 5, &start, &err) == 0);
    CHECK_EQ_U64(start, 3);
}

static void test_refused(void)
{
    /* empty and cut files */
    bad("", -1, "the file is empty");
    bad(" \n\t", -1, "the file is empty");
    bad("{\"p2v_plan\": 1, ", 16, "the text ends where a key in double quotes should be");
    bad("{\"p2v_plan\": ", 13, "the text ends where a value should be (the file is cut short?)");
    bad("{\"output\": \"pc.qc", 11, "the text ends inside the string that starts here");
    bad("[1, 2", 5, "the text ends where ',' or ']' in an array should be");
    bad("{\"a\":1", 6, "the text ends where ',' or '}' in an object should be");
    bad("{\"a\":\"\\u12", 6, "the text ends inside a \\u escape");
    /* what json-c lets through */
    bad("{\"a\":1 // one\n}", 7, "a comment, where ',' or '}' in an object should be");
    bad("/* c */ {}", 0, "a comment, where a value should be (JSON has no comments)");
    bad("{'a':1}", 1, "a single quote, where a key in double quotes should be");
    bad("{\"a\":'x'}", 5, "a single quote, where a value should be (JSON strings take double quotes)");
    bad("{\"a\":00}", 5, "a number with a leading zero");
    bad("{\"a\":-01}", 5, "a number with a leading zero");
    bad("{\"a\":1.}", 5, "a number with no digits after its '.'");
    bad("{\"a\":1e}", 5, "a number with no digits in its exponent");
    bad("{\"a\":-}", 5, "a number with no digits before its end");
    bad("{\"a\":+1}", 5, "'+', where a value should be");
    bad("{\"a\":.5}", 5, "'.', where a value should be");
    bad("{\"a\":NaN}", 5, "'N', where a value should be");
    bad("{\"a\":Infinity}", 5, "'I', where a value should be");
    bad("{\"a\":tru}", 5, "'t', where a value should be");
    bad("{a:1}", 1, "'a', where a key in double quotes should be");
    bad("{\"a\"=1}", 4, "'=', where ':' after the key should be");
    bad("{\"a\":\"x\ty\"}", 7, "a raw tab in a string (write it as \\t)");
    bad("{\"a\":\"x\ny\"}", 7, "a raw control character 0x0a in a string (write it as \\u000a)");
    bad("{\"a\":\"\\x41\"}", 6, "\\x is not a JSON escape");
    bad("{\"a\":\"\\u00G0\"}", 6, "a \\u escape needs 4 hex digits");
    bad_n("{\"a\":\"x\0y\"}", 11, 7, "a raw control character 0x00 in a string");
    bad_n("{\"a\":1}\0", 8, 7, "text after the JSON value");
    /* not UTF-8 */
    bad("{\"a\":\"\xff\"}", 6, "byte 0xff: not UTF-8 (the file must be UTF-8)");
    bad("{\"a\":\"\xc0\xaf\"}", 6, "byte 0xc0: not UTF-8");      /* overlong '/' */
    bad("{\"a\":\"\xe0\x80\xaf\"}", 6, "byte 0xe0: not UTF-8");  /* overlong */
    bad("{\"a\":\"\xed\xa0\x80\"}", 6, "byte 0xed: not UTF-8");  /* an encoded surrogate */
    bad("{\"a\":\"\xf4\x90\x80\x80\"}", 6, "byte 0xf4: not UTF-8"); /* above U+10FFFF */
    bad("{\"a\":\"\xc3\"}", 6, "byte 0xc3: not UTF-8");          /* cut sequence */
    bad("{\"a\":\"\x80\"}", 6, "byte 0x80: not UTF-8");
    bad("\xff{}", 0, "byte 0xff, where a value should be");
    /* surrogates */
    bad("{\"a\":\"\\uD800\"}", 6, "a lone high surrogate \\uD800 (not followed by a low one)");
    bad("{\"a\":\"\\uD800\\u0041\"}", 6, "a lone high surrogate \\uD800");
    bad("{\"a\":\"\\uDC00\"}", 6, "a lone low surrogate \\uDC00");
    /* NUL */
    bad("{\"output\":\"out/pl\\u0000an.qcow2\"}", 17, "\\u0000 (a NUL character) in a string");
    /* duplicate keys, also spelled with escapes, also when the file is otherwise fine */
    bad("{\"format\":\"qcow2\",\"format\":\"raw\"}", 18,
        "the key \"format\" again (first at byte 1): a plan names each field once");
    bad("{\"format\":\"qcow2\",\"form\\u0061t\":\"raw\"}", 18, "the key \"format\" again");
    bad("{\"o\":{\"b\":1,\"a\":2,\"b\":3}}", 18, "the key \"b\" again (first at byte 6)");
    /* trailing commas, extra text, depth */
    bad("{\"a\":1,}", 7, "a comma before '}' (JSON has no trailing commas)");
    bad("[1,]", 3, "a comma before ']'");
    bad("{} {}", 3, "text after the JSON value (one plan per file)");
    bad("{}x", 2, "text after the JSON value");
    char deep[64];
    memset(deep, '[', 17);
    memset(deep + 17, ']', 17);
    deep[34] = 0;
    bad(deep, 16, "nested deeper than 16 levels");
    deep[0] = ' ';
    deep[33] = 0;
    ok(deep);
}

/* Through the whole parser: the messages reach the caller with "plan:". */
static void test_parse(void)
{
    static const char plan_text[] =
        "{\"p2v_plan\": 1, \"output\": \"out.qcow2\", \"options\": {\"format\": \"qcow2\", "
        "\"format\": \"raw\"}, \"disks\": [{\"path\": \"d.img\", \"size\": 1048576, "
        "\"sector_size\": 512, \"table\": \"mbr\", \"id\": \"0x00000001\"}], "
        "\"selections\": [{\"disk\": 0, \"number\": 1, \"start\": 2048, \"size\": 8, "
        "\"type\": \"0x83\"}]}";
    convert_planfile *pf = NULL;
    p2v_err err = { { 0 } };
    CHECK(convert_planfile_parse(plan_text, sizeof plan_text - 1, &pf, &err) == -EINVAL);
    CHECK(pf == NULL);
    CHECK(strstr(err.msg, "plan: not valid JSON at byte 70: the key \"format\" again (first at byte 51)") != NULL);
    /* Without the duplicate it parses; with a bus, a tree and a bad-sector mode. */
    static const char fixed[] =
        "{\"p2v_plan\": 1, \"output\": \"out.qcow2\", \"options\": {\"format\": \"qcow2\", "
        "\"target_bus\": \"virtio-scsi\", \"drivers\": \"/v.iso\", \"bad_sectors\": \"zero\", "
        "\"bad_sectors_map\": \"/var/log/pc.map\"}, "
        "\"disks\": [{\"path\": \"d.img\", \"size\": 1048576, "
        "\"sector_size\": 512, \"table\": \"mbr\", \"id\": \"0x00000001\"}], "
        "\"selections\": [{\"disk\": 0, \"number\": 1, \"start\": 2048, \"size\": 8, "
        "\"type\": \"0x83\"}]}";
    int r = convert_planfile_parse(fixed, strlen(fixed), &pf, &err);
    if (r < 0)
        fprintf(stderr, "%s\n%s\n", fixed, err.msg);
    CHECK(r == 0);
    if (r == 0) {
        const convert_request *rq = convert_planfile_request(pf);
        CHECK_STR(rq->drivers, "/v.iso");
        CHECK_EQ_U64(rq->target_bus, 2); /* DRV_BUS_VIRTIO_SCSI */
        CHECK_EQ_U64(rq->bad_sectors, SALVAGE_ZERO);
        CHECK_STR(rq->bad_sectors_map, "/var/log/pc.map");
        CHECK_STR(rq->output, "out.qcow2");
        convert_planfile_free(pf);
    }
    CHECK(convert_planfile_parse("", 0, &pf, &err) == -EINVAL);
    CHECK_STR(err.msg, "plan: the file is empty (no JSON in it)");
    CHECK(convert_planfile_parse(plan_text, 40, &pf, &err) == -EINVAL);
    CHECK(strstr(err.msg, "plan: not valid JSON at byte 39: the text ends inside the string") != NULL);
}

int main(void)
{
    test_valid();
    test_refused();
    test_parse();
    return t_done("test_planfile_json");
}
