/* The two registries of issue 23: which target takes an OUTPUT and what it
 * says about itself (sink_target_info), and which source format takes a
 * name without opening anything (source_probe_path: an NBD URI is matched by
 * its scheme, never connected to). The one NBD URI test is nbdlib_is_uri. */
#include <errno.h>

#include "sink/sink.h"
#include "source/source.h"
#include "util/nbdlib.h"
#include "t.h"

static void test_sink_targets(void)
{
    struct sink_target_info ti;
    sink_target_info("-", &ti);
    CHECK_STR(ti.name, "stream");
    CHECK_STR(ti.what, "standard output");
    CHECK(ti.direct && ti.to_stdout && ti.in_order && !ti.readback && !ti.is_file);
    CHECK(!ti.raw_only && !ti.sized && ti.partial == NULL);

    static const char *const nbd[] = { "nbd://host/exp", "nbd://127.0.0.1:10809/pc",
                                       "nbd+unix:///?socket=/run/x.sock", "nbds://h/e",
                                       "nbds+unix:///e?socket=/s" };
    for (size_t i = 0; i < sizeof nbd / sizeof *nbd; i++) {
        sink_target_info(nbd[i], &ti);
        CHECK_STR(ti.name, "nbd");
        CHECK(ti.direct && ti.raw_only && ti.sized && ti.readback && !ti.is_file);
        CHECK(!ti.to_stdout && !ti.in_order);
        CHECK_STR(ti.partial, "the export is partly written and is not a valid disk");
        CHECK(nbdlib_is_uri(nbd[i]));
    }

    /* Everything else is an image file, names that merely look alike too. */
    static const char *const files[] = { "pc.qcow2", "./-", "--", "nbd.qcow2", "nbdx://h/e",
                                         "NBD://h/e", "out/nbd://x", "" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        sink_target_info(files[i], &ti);
        CHECK_STR(ti.name, "file");
        CHECK(!ti.direct && ti.is_file && ti.readback && !ti.sized && !ti.raw_only);
        CHECK(ti.partial == NULL);
        CHECK(!nbdlib_is_uri(files[i]));
    }
    sink_target_info(NULL, &ti);
    CHECK_STR(ti.name, "file");
    CHECK(!nbdlib_is_uri(NULL));

    /* Only a sized target has a size of its own; asking a file fails
     * without touching it. */
    uint64_t size = 0;
    p2v_err err;
    CHECK(sink_target_size("pc.qcow2", NULL, &size, &err) == -ENOTSUP && size == 0);
}

static void test_source_by_name(void)
{
    const struct source_format *f = NULL;
    uint64_t sz = 7;
    p2v_err err;
    /* Matched by the scheme: no file is opened and no server contacted. */
    CHECK(source_probe_path("nbd+unix:///?socket=/nonexistent/x.sock", &f, &sz, &err) == 0);
    CHECK(f == &source_nbd);
    CHECK(source_probe_path("nbd://192.0.2.1:1/none", &f, NULL, &err) == 0 && f == &source_nbd);
    /* A missing file is named as before. */
    CHECK(source_probe_path("/nonexistent/disk.img", &f, NULL, &err) == -ENOENT);
    /* Opening a URI whose socket does not exist fails at once, naming it. */
    blockdev *bd = NULL;
    source_opts o = { .io_timeout = 2 };
    int r = source_open("nbd+unix:///?socket=/nonexistent/x.sock", &o, &bd, &err);
    CHECK(r < 0 && bd == NULL);
    CHECK(strstr(err.msg, "nbd+unix:///?socket=/nonexistent/x.sock") != NULL);
}

int main(void)
{
    test_sink_targets();
    test_source_by_name();
    return t_done("test_targets");
}
