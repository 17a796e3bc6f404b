/* The report format (src/fleet/event.c): each event written and read back
 * with json-c, hostile strings (quotes, newlines, markup) intact, unknown
 * identity fields null; the token file's rules; the retry waits. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

#include "fleet/fleet.h"
#include "t.h"

static struct json_object *render(const fleet_event *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f)
        return NULL;
    fleet_event_json(e, f);
    fclose(f);
    CHECK(len > 0 && buf[len - 1] == '\n');
    struct json_object *o = json_tokener_parse(buf);
    CHECK(o != NULL);
    free(buf);
    return o;
}

static const char *str(struct json_object *o, const char *a, const char *b)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v))
        return "(missing)";
    if (b && !json_object_object_get_ex(v, b, &v))
        return "(missing)";
    return v ? json_object_get_string(v) : "(null)";
}

static int64_t num(struct json_object *o, const char *a, const char *b)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
        return -1;
    return json_object_get_int64(v);
}

static bool has(struct json_object *o, const char *k)
{
    return json_object_object_get_ex(o, k, NULL);
}

static void result(json_writer *j, void *ctx)
{
    json_obj_begin(j);
    json_ku64(j, "copied_bytes", *(uint64_t *)ctx);
    json_obj_end(j);
}

static void test_events(void)
{
    fleet_pc pc = { .serial = "SN \"1\"\n", .vendor = "<script>alert(1)</script>",
                    .model = "Desk\\Pro", .mac = "52:54:00:aa:bb:01" };
    const char *sel[] = { "/dev/sda:1", "/dev/sda:3" };
    fleet_event e = { .kind = FLEET_START, .run = "0123abcd", .time = "2026-12-07T15:00:00Z",
                      .pc = &pc, .output = "/srv/{serial}.qcow2", .selection = sel,
                      .nselection = 2 };
    struct json_object *o = render(&e);
    CHECK_EQ_U64(num(o, "p2v_report", NULL), 1);
    CHECK_STR(str(o, "event", NULL), "start");
    CHECK_STR(str(o, "run", NULL), "0123abcd");
    CHECK_STR(str(o, "time", NULL), "2026-12-07T15:00:00Z");
    CHECK_STR(str(o, "pc", "serial"), "SN \"1\"\n");
    CHECK_STR(str(o, "pc", "vendor"), "<script>alert(1)</script>");
    CHECK_STR(str(o, "pc", "model"), "Desk\\Pro");
    CHECK_STR(str(o, "pc", "uuid"), "(null)");          /* unknown: null, not "" */
    CHECK_STR(str(o, "pc", "computername"), "(null)");
    CHECK_STR(str(o, "output", NULL), "/srv/{serial}.qcow2");
    struct json_object *a = NULL;
    CHECK(json_object_object_get_ex(o, "selection", &a) && json_object_array_length(a) == 2);
    if (a)
        CHECK_STR(json_object_get_string(json_object_array_get_idx(a, 1)), "/dev/sda:3");
    CHECK(!has(o, "progress") && !has(o, "result") && !has(o, "error"));
    json_object_put(o);

    fleet_progress p = { .stage = "verify", .partition = 2, .bytes_done = 5ULL << 30,
                         .bytes_total = 8ULL << 30, .rate = 123456789.7, .eta = 26.6 };
    e.kind = FLEET_PROGRESS;
    e.progress = &p;
    o = render(&e);
    CHECK_STR(str(o, "event", NULL), "progress");
    CHECK_STR(str(o, "progress", "stage"), "verify");
    CHECK_EQ_U64(num(o, "progress", "partition"), 2);
    CHECK_EQ_U64(num(o, "progress", "bytes_done"), 5ULL << 30);
    CHECK_EQ_U64(num(o, "progress", "bytes_total"), 8ULL << 30);
    CHECK_EQ_U64(num(o, "progress", "rate"), 123456789);
    CHECK_EQ_U64(num(o, "progress", "eta"), 27);
    json_object_put(o);
    p.eta = -1;
    p.partition = 0;
    o = render(&e);
    CHECK_STR(str(o, "progress", "eta"), "(null)");
    CHECK_STR(str(o, "progress", "partition"), "(null)");
    json_object_put(o);

    uint64_t copied = 4242;
    e.kind = FLEET_FINISH;
    e.result = result;
    e.result_ctx = &copied;
    o = render(&e);
    CHECK_STR(str(o, "event", NULL), "finish");
    CHECK_EQ_U64(num(o, "result", "copied_bytes"), 4242);
    CHECK(!has(o, "progress") && !has(o, "error"));
    json_object_put(o);

    e.kind = FLEET_FAILED;
    e.error = "disk1.img:9: no such partition\n<b>";
    o = render(&e);
    CHECK_STR(str(o, "event", NULL), "failed");
    CHECK_STR(str(o, "error", NULL), "disk1.img:9: no such partition\n<b>");
    CHECK(!has(o, "result"));
    json_object_put(o);
}

static void put(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
}

static void test_token(void)
{
    char dir[] = "/tmp/p2v-fleet-XXXXXX", path[64], tok[FLEET_TOKEN_MAX + 1];
    p2v_err err;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/t", dir);
    put(path, " \tabc.DEF-123 \r\nsecond line\n", 28);
    CHECK(fleet_token_read(path, tok, sizeof tok, &err) == 0);
    CHECK_STR(tok, "abc.DEF-123");
    put(path, "\n", 1);
    CHECK(fleet_token_read(path, tok, sizeof tok, &err) == -EINVAL);
    CHECK(strstr(err.msg, "empty") != NULL);
    put(path, "a\033b", 3);
    CHECK(fleet_token_read(path, tok, sizeof tok, &err) == -EINVAL);
    CHECK(strstr(err.msg, "control character") != NULL);
    char *big = malloc(FLEET_TOKEN_MAX + 10);
    CHECK(big != NULL);
    if (big) {
        memset(big, 'x', FLEET_TOKEN_MAX + 10);
        put(path, big, FLEET_TOKEN_MAX + 10);
        CHECK(fleet_token_read(path, tok, sizeof tok, &err) == -EINVAL);
        put(path, big, 100);
        CHECK(fleet_token_read(path, tok, 50, &err) == -EINVAL);   /* caller's buffer */
        free(big);
    }
    unlink(path);
    CHECK(fleet_token_read(path, tok, sizeof tok, &err) == -ENOENT);
    CHECK(strstr(err.msg, path) != NULL);
    rmdir(dir);
}

static void test_misc(void)
{
    CHECK_EQ_U64(fleet_retry_delay(1), 0);
    CHECK_EQ_U64(fleet_retry_delay(2), 1);
    CHECK_EQ_U64(fleet_retry_delay(3), 2);
    CHECK_EQ_U64(fleet_retry_delay(5), 8);
    CHECK_EQ_U64(fleet_retry_delay(40), 32);          /* capped */
    char t[32];
    fleet_time_now(t, sizeof t);
    CHECK(strlen(t) == 20 && t[4] == '-' && t[10] == 'T' && t[19] == 'Z');
    struct vm_machine m = { .serial = "S1", .uuid = "U1", .vendor = "V", .product = "P",
                            .macs = { "52:54:00:00:00:01", "52:54:00:00:00:02" }, .nmacs = 2 };
    fleet_pc pc;
    fleet_pc_from_machine(&m, &pc);
    CHECK_STR(pc.serial, "S1");
    CHECK_STR(pc.model, "P");
    CHECK_STR(pc.mac, "52:54:00:00:00:01");
    CHECK_STR(pc.computername, "");
}

int main(void)
{
    test_events();
    test_token();
    test_misc();
    return t_done("test_fleet");
}
