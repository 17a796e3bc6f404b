/* libFuzzer harness for plan files: the JSON parser and every field check
 * (types, ranges, unknown fields, indexes between selections and disks). */
#include <stdint.h>
#include <stdlib.h>

#include "convert/planfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    convert_planfile *pf = NULL;
    p2v_err err;
    if (convert_planfile_parse((const char *)data, size, &pf, &err) == 0) {
        const convert_request *rq = convert_planfile_request(pf);
        if (rq && rq->nsels != pf->nsels)
            abort();
        convert_planfile_free(pf);
    }
    return 0;
}
