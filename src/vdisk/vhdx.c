#include "vdisk/vdisk_impl.h"
bool vhdx_probe(const uint8_t *buf, size_t len) { (void)buf; (void)len; return false; }
int vhdx_open(blockdev *file, blockdev **out, p2v_err *err) { (void)out; bd_close(file); return p2v_errf(err, -95, "x"); }
