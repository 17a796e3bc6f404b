/* libFuzzer harness for the VHDX reader (src/vdisk/vhdx.c): the input is a
 * sparse file (fuzz/sparse_input.h); a differencing disk's parent is the
 * same bytes again, as another file: one level, then a loop. Open, read at spread offsets, walk the block status. */
#include <stdint.h>

#include "sparse_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return sparse_fuzz_one(data, size, "dir/fuzz.vhdx", vhdx_probe, vhdx_open_opts);
}
