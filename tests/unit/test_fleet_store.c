/* The fleet server's state (src/fleet/store.c, page.c): reports checked
 * before anything is stored (each refusal with its reason, the database
 * unchanged), a run's state on its PC's row, a new run taking the row over,
 * late progress of an ended run ignored, PCs without a serial, the state
 * kept across a close and reopen, and a PC's markup escaped on the page;
 * the chart's figures (bytes per stage, a finish counted once); which
 * images --boot-check may open (fleet_output_matches) and its queue, kept
 * across a reopen with the interrupted check first. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fleet/server.h"
#include "t.h"

static char dir[] = "/tmp/p2v-fleetdb-XXXXXX";

static int ingest(fleet_store *s, const char *body, p2v_err *err)
{
    return fleet_store_ingest(s, body, strlen(body), err);
}

struct seen {
    int n;
    char status[32], serial[64], error[256], stage[16];
    int64_t done, total, image;
};

static void grab(const fleet_pc_row *p, void *ctx)
{
    struct seen *v = ctx;
    v->n++;
    snprintf(v->status, sizeof v->status, "%s", p->status ? p->status : "");
    snprintf(v->serial, sizeof v->serial, "%s", p->serial ? p->serial : "");
    snprintf(v->error, sizeof v->error, "%s", p->error ? p->error : "");
    snprintf(v->stage, sizeof v->stage, "%s", p->stage ? p->stage : "");
    v->done = p->bytes_done;
    v->total = p->bytes_total;
    v->image = p->image_bytes;
}

static struct seen one(fleet_store *s, int64_t id)
{
    struct seen v = { 0 };
    p2v_err err;
    CHECK(fleet_store_each(s, id, grab, &v, &err) >= 0);
    return v;
}

#define EV(ev, run, time, extra)                                                                   \
    "{\"p2v_report\":1,\"event\":\"" ev "\",\"run\":\"" run "\",\"time\":\"" time "\","             \
    "\"pc\":{\"serial\":\"SN-1\",\"model\":\"M\"}" extra "}"

static void test_refusals(fleet_store *s)
{
    static const struct { const char *body, *reason; } bad[] = {
        { "", "malformed JSON" },
        { "{\"p2v_report\":1,", "malformed JSON" },
        { "{} {}", "data after the object" },
        { "[1]", "not a JSON object" },
        { "{\"p2v_report\":2,\"event\":\"start\",\"run\":\"aa\"}", "\"p2v_report\" is not 1" },
        { "{\"p2v_report\":1,\"event\":\"boom\",\"run\":\"aa\"}", "\"event\" is not" },
        { "{\"p2v_report\":1,\"event\":\"start\"}", "no \"run\"" },
        { "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"../x\"}", "\"run\" is not hex" },
        { "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"aa\",\"pc\":[]}", "\"pc\" is not an object" },
        { "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"aa\",\"pc\":{\"serial\":5}}", "\"serial\" is not a string" },
        { "{\"p2v_report\":1,\"event\":\"progress\",\"run\":\"aa\"}", "without a \"progress\"" },
        { "{\"p2v_report\":1,\"event\":\"progress\",\"run\":\"aa\",\"progress\":"
          "{\"bytes_done\":9,\"bytes_total\":5}}", "inconsistent" },
        { "{\"p2v_report\":1,\"event\":\"progress\",\"run\":\"aa\",\"progress\":"
          "{\"bytes_done\":-1,\"bytes_total\":5}}", "out of range" },
        { "{\"p2v_report\":1,\"event\":\"finish\",\"run\":\"aa\",\"result\":\"x\"}", "\"result\" is not an object" },
        { "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"aa\",\"selection\":[1]}", "non-string" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p2v_err err = { { 0 } };
        CHECK(ingest(s, bad[i].body, &err) == -EINVAL);
        if (!strstr(err.msg, bad[i].reason))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].reason);
        CHECK(strstr(err.msg, bad[i].reason) != NULL);
    }
    char big[600];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = 0;
    char *body = NULL;
    CHECK(asprintf(&body, "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"aa\",\"pc\":{\"model\":\"%s\"}}", big) > 0);
    p2v_err err;
    CHECK(ingest(s, body, &err) == -EINVAL && strstr(err.msg, "longer than") != NULL);
    free(body);
    CHECK(one(s, -1).n == 0);   /* nothing of it stored */
}

static void test_runs(fleet_store *s)
{
    p2v_err err;
    CHECK(ingest(s, EV("start", "01", "2026-12-07T10:00:00Z", ",\"output\":\"a.qcow2\""), &err) == 0);
    struct seen v = one(s, -1);
    CHECK(v.n == 1);
    CHECK_STR(v.status, "converting");
    CHECK(ingest(s, EV("progress", "01", "2026-12-07T10:00:03Z",
                       ",\"progress\":{\"stage\":\"copy\",\"partition\":2,\"bytes_done\":50,"
                       "\"bytes_total\":100,\"rate\":10,\"eta\":5}"), &err) == 0);
    v = one(s, 1);
    CHECK(v.done == 50 && v.total == 100);
    CHECK_STR(v.stage, "copy");
    CHECK(ingest(s, EV("finish", "01", "2026-12-07T10:00:09Z",
                       ",\"result\":{\"image_bytes\":777,\"copied_bytes\":100}"), &err) == 0);
    /* a progress event that arrives after the finish changes nothing */
    CHECK(ingest(s, EV("progress", "01", "2026-12-07T10:00:08Z",
                       ",\"progress\":{\"bytes_done\":60,\"bytes_total\":100}"), &err) == 0);
    v = one(s, 1);
    CHECK_STR(v.status, "done");
    CHECK(v.image == 777);
    CHECK(v.done == 50);
    /* a new run of the same PC takes its row over; its failure is kept */
    CHECK(ingest(s, EV("failed", "02", "2026-12-07T11:00:00Z",
                       ",\"error\":\"disk1.img:9: no partition 9\""), &err) == 0);
    v = one(s, -1);
    CHECK(v.n == 1);
    CHECK_STR(v.status, "failed");
    CHECK_STR(v.error, "disk1.img:9: no partition 9");
    CHECK(v.image < 0 && v.done == 0);   /* the old run's figures are not the new one's */
    /* a PC that names no identity: a row per run */
    CHECK(ingest(s, "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"03\",\"time\":\"t\"}", &err) == 0);
    CHECK(ingest(s, "{\"p2v_report\":1,\"event\":\"start\",\"run\":\"04\",\"time\":\"t\"}", &err) == 0);
    CHECK(one(s, -1).n == 3);
}

static void test_page(fleet_store *s)
{
    p2v_err err;
    CHECK(ingest(s, "{\"p2v_report\":1,\"event\":\"failed\",\"run\":\"05\",\"time\":\"t\","
                    "\"pc\":{\"serial\":\"EV\",\"computername\":\"<script>alert('x')</script>\"},"
                    "\"error\":\"a & b <i>\"}", &err) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f && fleet_page_html(s, f, &err) == 0);
    if (f)
        fclose(f);
    /* the page's one script is its own file, never a PC's text */
    const char *own = "<script src=\"app.js\" defer></script>", *sc = buf ? strstr(buf, "<script") : NULL;
    CHECK(sc && !strncmp(sc, own, strlen(own)) && !strstr(sc + 1, "<script"));
    CHECK(buf && !strstr(buf, "<i>"));
    CHECK(buf && strstr(buf, "<svg id=\"chart\""));
    CHECK(buf && strstr(buf, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    CHECK(buf && strstr(buf, "failed: a &amp; b &lt;i&gt;"));
    CHECK(buf && strstr(buf, "<span>PCs: 4</span>"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK(f && fleet_pc_json(s, 999, f, &err) == -ENOENT);
    if (f)
        fclose(f);
    free(buf);
}

static void test_matches(void)
{
    const char *t = "/srv/img/{serial}.qcow2";
    CHECK(fleet_output_matches(t, "/srv/img/SN-1.qcow2"));
    CHECK(fleet_output_matches(t, "/srv/img/a.b.qcow2"));
    CHECK(!fleet_output_matches(t, "/srv/img/.qcow2"));
    CHECK(!fleet_output_matches(t, "/srv/img/../etc/x.qcow2"));
    CHECK(!fleet_output_matches(t, "/srv/img/...qcow2"));   /* ".." then ".qcow2" */
    CHECK(!fleet_output_matches(t, "/srv/img/a/b.qcow2"));
    CHECK(!fleet_output_matches(t, "/srv/img/-x.qcow2"));
    CHECK(!fleet_output_matches(t, "/srv/img/x.qcow2 "));
    CHECK(!fleet_output_matches(t, "/etc/passwd"));
    CHECK(!fleet_output_matches(t, ""));
    CHECK(!fleet_output_matches(NULL, "/srv/img/x.qcow2"));
    CHECK(fleet_output_matches("nbd://10.1.1.5:10809/{serial}", "nbd://10.1.1.5:10809/SN1"));
    CHECK(!fleet_output_matches("nbd://10.1.1.5:10809/{serial}", "nbd://10.1.1.5:10809/SN1?socket=/x"));
    CHECK(!fleet_output_matches("rbd:pool/{serial}", "rbd:pool/img:conf=/tmp/evil"));
    CHECK(fleet_output_matches("/i/{vendor}-{serial}.raw", "/i/Acme-SN-2.raw"));
    CHECK(!fleet_output_matches("/i/{serial}.raw", "/i/x.qcow2"));
}

static void add_flow(int64_t t, int64_t bytes, int64_t done, void *ctx)
{
    int64_t *sum = ctx;
    (void)t;
    sum[0] += bytes;
    sum[1] += done;
}

#define EVQ(ev, run, extra) \
    "{\"p2v_report\":1,\"event\":\"" ev "\",\"run\":\"" run "\",\"time\":\"2026-12-07T10:00:00Z\"," \
    "\"pc\":{\"serial\":\"Q-" run "\"}" extra "}"
#define PROG(stage, done) \
    ",\"progress\":{\"stage\":\"" stage "\",\"bytes_done\":" done ",\"bytes_total\":1000}"

/* A fresh store: the chart's sums and the boot-check queue. */
static void test_flow_and_checks(void)
{
    char d[] = "/tmp/p2v-fleetq-XXXXXX";
    CHECK(mkdtemp(d) != NULL);
    fleet_store *s = NULL;
    p2v_err err;
    CHECK(fleet_store_open(d, &s, &err) == 0);
    if (!s)
        return;
    fleet_store_check_images(s, "/srv/img/{serial}.qcow2");
    CHECK(ingest(s, EVQ("start", "a1", ",\"output\":\"/srv/img/Q-a1.qcow2\""), &err) == 0);
    CHECK(ingest(s, EVQ("progress", "a1", PROG("copy", "300")), &err) == 0);
    CHECK(ingest(s, EVQ("progress", "a1", PROG("copy", "1000")), &err) == 0);
    CHECK(ingest(s, EVQ("progress", "a1", PROG("verify", "400")), &err) == 0);
    CHECK(ingest(s, EVQ("finish", "a1", ",\"output\":\"/srv/img/Q-a1.qcow2\""), &err) == 0);
    CHECK(ingest(s, EVQ("finish", "a1", ",\"output\":\"/srv/img/Q-a1.qcow2\""), &err) == 0);
    CHECK(ingest(s, EVQ("progress", "a1", PROG("copy", "1000")), &err) == 0);  /* late */
    /* a run that names an image outside the template: finished, never queued */
    CHECK(ingest(s, EVQ("finish", "b2", ",\"output\":\"/etc/shadow\""), &err) == 0);
    int64_t sum[2] = { 0, 0 };
    CHECK(fleet_store_flow(s, add_flow, sum, &err) == 0);
    CHECK(sum[0] == 1400);      /* 300 + 700 copied, 400 verified */
    CHECK(sum[1] == 2);         /* a1 once, b2 (its start lost) too */
    fleet_check_job job;
    CHECK(fleet_store_check_next(s, &job, &err) == 1);
    CHECK_STR(job.image, "/srv/img/Q-a1.qcow2");
    int64_t first = job.id;
    fleet_store_close(s);
    s = NULL;
    /* reopened mid-check: the same check again, and nothing else queued */
    CHECK(fleet_store_open(d, &s, &err) == 0);
    if (s) {
        CHECK(fleet_store_check_next(s, &job, &err) == 1 && job.id == first);
        char name[64];
        CHECK(fleet_store_check_shot(s, first, name, sizeof name) == -ENOENT);
        CHECK(fleet_store_check_end(s, first, 0, "Missing operating system", "shot-004.png", &err) == 0);
        CHECK(fleet_store_check_next(s, &job, &err) == 0);
        CHECK(fleet_store_check_shot(s, first, name, sizeof name) == 0);
        CHECK_STR(name, "shot-004.png");
        fleet_store_close(s);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d);
}

int main(void)
{
    test_matches();
    test_flow_and_checks();
    CHECK(mkdtemp(dir) != NULL);
    fleet_store *s = NULL;
    p2v_err err;
    CHECK(fleet_store_open(dir, &s, &err) == 0);
    if (!s)
        return t_done("test_fleet_store");
    test_refusals(s);
    test_runs(s);
    fleet_store_close(s);
    s = NULL;
    CHECK(fleet_store_open(dir, &s, &err) == 0);   /* reopened: all still there */
    if (s) {
        CHECK(one(s, -1).n == 3);
        CHECK_STR(one(s, 1).status, "failed");
        test_page(s);
        fleet_store_close(s);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_done("test_fleet_store");
}
