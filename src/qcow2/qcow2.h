/* The qcow2 format: reader (as a blockdev backend), writer, and the checks
 * behind `p2v img`. Owned by the qcow2 engine work. */
#ifndef P2V_QCOW2_H
#define P2V_QCOW2_H

#include "blockdev/blockdev.h"
#include "util/err.h"

#define QCOW2_MAGIC "QFI\xfb"

/* Open a qcow2 image read-only as a blockdev (backing chains followed). */
int qcow2_bd_open(const char *path, blockdev **out, p2v_err *err);

#endif
