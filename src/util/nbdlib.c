#include "util/nbdlib.h"

union nbdlib_fns nbdlib;
OPTLIB(nbdlib_lib, P2V_SONAME_NBD, "NBD", NBDLIB_FNS, nbdlib);

int nbdlib_load(p2v_err *err) { return optlib_load(&nbdlib_lib, err); }
