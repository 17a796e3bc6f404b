/* Placeholder until the qcow2 reader lands: refuse qcow2 sources clearly. */
#include <errno.h>

#include "qcow2/qcow2.h"

int qcow2_bd_open(const char *path, blockdev **out, p2v_err *err)
{
    (void)out;
    return p2v_errf(err, -ENOTSUP, "%s: qcow2 sources are not supported yet", path);
}
