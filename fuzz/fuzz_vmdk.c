/* libFuzzer harness for the VMDK reader (src/vdisk/vmdk.c): the input is a
 * sparse file (fuzz/sparse_input.h) holding a sparse extent or a descriptor;
 * every extent and parent file it names is the same bytes again, as another
 * file (one parent level, then a loop). Open, read
 * at spread offsets (compressed grains inflate), walk the block status. */
#include <stdint.h>

#include "sparse_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return sparse_fuzz_one(data, size, "dir/fuzz.vmdk", vmdk_probe, vmdk_open_opts);
}
