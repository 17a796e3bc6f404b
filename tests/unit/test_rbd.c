/* The rbd: target spelling (util/rbdlib.c): what qemu and the rbd tool accept,
 * and one clear refusal for everything else. No cluster is needed. */
#include <errno.h>

#include "t.h"
#include "util/rbdlib.h"

/* A spelling that parses, and the fields it must give; NULL: not checked. */
struct parse_case {
    const char *spec;
    const char *pool, *ns, *image, *snap, *conf, *id, *keyring;
    const char *name; /* rbdlib_name's spelling */
};

static void parses(const struct parse_case *c)
{
    struct rbd_target t = { { 0 } };
    p2v_err err = { { 0 } };
    char buf[1024];
    CHECK(rbdlib_parse(c->spec, &t, &err) == 0);
    const struct {
        const char *got, *want;
    } fields[] = {
        { t.pool, c->pool }, { t.ns, c->ns }, { t.image, c->image }, { t.snap, c->snap },
        { t.conf, c->conf }, { t.id, c->id }, { t.keyring, c->keyring },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].want)
            CHECK_STR(fields[i].got, fields[i].want);
    if (c->name)
        CHECK_STR(rbdlib_name(&t, buf, sizeof buf), c->name);
}

static void test_parse_ok(void)
{
    static const struct parse_case cases[] = {
        { "rbd:vdi/pc1", .pool = "vdi", .ns = "", .image = "pc1", .snap = "", .conf = "",
          .name = "vdi/pc1" },
        { "rbd:vdi/floor2/pc-7:conf=/etc/ceph/x.conf:id=p2v:keyring=/k", .pool = "vdi",
          .ns = "floor2", .image = "pc-7", .conf = "/etc/ceph/x.conf", .id = "p2v",
          .keyring = "/k", .name = "vdi/floor2/pc-7" },
        { "rbd:p/img@snap1:id=u", .image = "img", .snap = "snap1", .id = "u",
          .name = "p/img@snap1" },
        /* escapes: a ':' in a path, a '@' in a name */
        { "rbd:p/a\\@b:conf=/x\\:y.conf", .image = "a@b", .conf = "/x:y.conf" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parses(&cases[i]);
    CHECK(rbdlib_is_target("rbd:x/y"));
    CHECK(!rbdlib_is_target("nbd://x/y"));
    CHECK(!rbdlib_is_target("./rbd:x"));
}

static void refused(const char *spec, int code, const char *words)
{
    struct rbd_target t;
    p2v_err err = { { 0 } };
    int r = rbdlib_parse(spec, &t, &err);
    CHECK(r == code);
    CHECK(strstr(err.msg, words) != NULL);
    if (r != code || !strstr(err.msg, words))
        fprintf(stderr, "  %s -> %d '%s'\n", spec, r, err.msg);
}

static void test_parse_refused(void)
{
    char longname[400];
    static const struct {
        const char *spec;
        int code;
        const char *words;
    } bad[] = {
        { "rbd:", -EINVAL, "an empty name" },
        { "rbd:pool", -EINVAL, "no image name" },
        { "rbd:pool/", -EINVAL, "an empty name" },
        { "rbd:/img", -EINVAL, "an empty name" },
        { "rbd:a/b/c/d", -EINVAL, "more than POOL/NAMESPACE/IMAGE" },
        { "rbd:a/b@", -EINVAL, "empty snapshot" },
        { "rbd:a/b:conf", -EINVAL, "has no '=VALUE'" },
        { "rbd:a/b:conf=", -EINVAL, "is empty" },
        { "rbd:a/b:id=x:id=y", -EINVAL, "given twice" },
        { "rbd:a/b:mon_host=1.2.3.4", -EINVAL, "unknown option 'mon_host'" },
        { "rbd:a/b:a_key_longer_than_thirty_one_bytes=1", -ENAMETOOLONG,
          "the option name is longer than 31 bytes" },
        { "rbd:a/b\\", -EINVAL, "a '\\' ends" },
        { "rbd:a/b\x01", -EINVAL, "control character" },
        { "nbd://h/x", -EINVAL, "not an rbd: image" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i].spec, bad[i].code, bad[i].words);
    memset(longname, 'x', sizeof longname);
    memcpy(longname, "rbd:p/", 6);
    longname[sizeof longname - 1] = 0;
    refused(longname, -ENAMETOOLONG, "longer than");
}

int main(void)
{
    test_parse_ok();
    test_parse_refused();
    return t_done("test_rbd");
}
