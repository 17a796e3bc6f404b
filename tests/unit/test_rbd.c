/* The rbd: target spelling (util/rbdlib.c): what qemu and the rbd tool accept,
 * and one clear refusal for everything else. No cluster is needed. */
#include <errno.h>

#include "t.h"
#include "util/rbdlib.h"

static void test_parse_ok(void)
{
    struct rbd_target t;
    p2v_err err = { { 0 } };
    char buf[1024];

    CHECK(rbdlib_parse("rbd:vdi/pc1", &t, &err) == 0);
    CHECK_STR(t.pool, "vdi");
    CHECK_STR(t.ns, "");
    CHECK_STR(t.image, "pc1");
    CHECK_STR(t.snap, "");
    CHECK_STR(t.conf, "");
    CHECK_STR(rbdlib_name(&t, buf, sizeof buf), "vdi/pc1");

    CHECK(rbdlib_parse("rbd:vdi/floor2/pc-7:conf=/etc/ceph/x.conf:id=p2v:keyring=/k", &t, &err) == 0);
    CHECK_STR(t.pool, "vdi");
    CHECK_STR(t.ns, "floor2");
    CHECK_STR(t.image, "pc-7");
    CHECK_STR(t.conf, "/etc/ceph/x.conf");
    CHECK_STR(t.id, "p2v");
    CHECK_STR(t.keyring, "/k");
    CHECK_STR(rbdlib_name(&t, buf, sizeof buf), "vdi/floor2/pc-7");

    CHECK(rbdlib_parse("rbd:p/img@snap1:id=u", &t, &err) == 0);
    CHECK_STR(t.image, "img");
    CHECK_STR(t.snap, "snap1");
    CHECK_STR(t.id, "u");
    CHECK_STR(rbdlib_name(&t, buf, sizeof buf), "p/img@snap1");

    /* escapes: a ':' in a path, a '@' in a name */
    CHECK(rbdlib_parse("rbd:p/a\\@b:conf=/x\\:y.conf", &t, &err) == 0);
    CHECK_STR(t.image, "a@b");
    CHECK_STR(t.conf, "/x:y.conf");
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
    refused("rbd:", -EINVAL, "an empty name");
    refused("rbd:pool", -EINVAL, "no image name");
    refused("rbd:pool/", -EINVAL, "an empty name");
    refused("rbd:/img", -EINVAL, "an empty name");
    refused("rbd:a/b/c/d", -EINVAL, "more than POOL/NAMESPACE/IMAGE");
    refused("rbd:a/b@", -EINVAL, "empty snapshot");
    refused("rbd:a/b:conf", -EINVAL, "has no '=VALUE'");
    refused("rbd:a/b:conf=", -EINVAL, "is empty");
    refused("rbd:a/b:id=x:id=y", -EINVAL, "given twice");
    refused("rbd:a/b:mon_host=1.2.3.4", -EINVAL, "unknown option 'mon_host'");
    refused("rbd:a/b\\", -EINVAL, "a '\\' ends");
    refused("rbd:a/b\x01", -EINVAL, "control character");
    refused("nbd://h/x", -EINVAL, "not an rbd: image");
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
