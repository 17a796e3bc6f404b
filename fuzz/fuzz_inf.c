/* libFuzzer harness for the INF parser and the driver-package reader on top
 * of it: any bytes must parse or be refused, never crash or leak; a package
 * that reads must be consistent (every device has an ID and an install
 * section). */
#include <stdint.h>
#include <stdlib.h>

#include "windows/drivers.h"
#include "windows/inf.h"

static void read_package(const inf *f, enum drv_arch arch, unsigned major, unsigned minor)
{
    drv_windows w = {.major = major, .minor = minor, .build = 19045, .arch = arch};
    drv_package p;
    p2v_err err;
    if (drv_package_from_inf(f, "fuzz/x.inf", &w, &p, &err) == 0) {
        for (size_t i = 0; i < p.ndevices; i++)
            if (!p.devices[i].hwid || !p.devices[i].install)
                abort();
        if (!p.service.name || p.nfiles == 0)
            abort();
        drv_package_free(&p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inf *f;
    p2v_err err;
    if (inf_parse(data, size, "fuzz.inf", &f, &err) == 0) {
        for (size_t i = 0; i < inf_section_count(f); i++)
            if (!inf_section_at(f, i)->name)
                abort();
        read_package(f, DRV_ARCH_AMD64, 10, 0);
        read_package(f, DRV_ARCH_X86, 6, 1);
        inf_free(f);
    }
    return 0;
}
