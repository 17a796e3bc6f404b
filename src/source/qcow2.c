/* qcow2 as a source: "QFI\xfb" at byte 0; read through qcow2/reader.c, which
 * opens the file and its backing chain itself. */
#include "source/source_impl.h"

#include "qcow2/qcow2.h"

static bool qcow2_probe(const source_probe *p, uint64_t *data_size)
{
    (void)data_size;
    return source_magic_at(p, 0, QCOW2_MAGIC, 4);
}

static int qcow2_open(const char *path, blockdev *file, uint64_t data_size, const source_opts *o,
                      blockdev **out, p2v_err *err)
{
    (void)data_size, (void)o;
    bd_close(file);
    return qcow2_bd_open(path, out, err);
}

const struct source_format source_qcow2 = {
    .name = "qcow2", .probe = qcow2_probe, .open = qcow2_open,
};
