/* The VHD (dynamic, differencing), VHDX and VMDK rows: their readers are in
 * src/vdisk/ (one file per format, each with a probe of the first bytes and
 * an open over the file as a blockdev); these rows only adapt them. */
#include "source/source_impl.h"
#include "vdisk/vdisk.h"

static bool vhd_row_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return vhd_probe(p->head, p->n);
}

static bool vhdx_row_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return vhdx_probe(p->head, p->n);
}

static bool vmdk_row_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return vmdk_probe(p->head, p->n);
}

#define ROW_OPEN(fn, reader)                                                                     \
    static int fn(const char *path, blockdev *file, uint64_t data_size, const source_opts *o,  \
                  blockdev **out, p2v_err *err)                                                 \
    {                                                                                           \
        (void)path, (void)data_size, (void)o;                                                   \
        return reader(file, out, err);                                                          \
    }
ROW_OPEN(vhd_row_open, vhd_open)
ROW_OPEN(vhdx_row_open, vhdx_open)
ROW_OPEN(vmdk_row_open, vmdk_open)

const struct source_format source_vdisk_vhd = { .name = "vpc", .probe = vhd_row_probe,
                                                .open = vhd_row_open };
const struct source_format source_vdisk_vhdx = { .name = "vhdx", .probe = vhdx_row_probe,
                                                 .open = vhdx_row_open };
const struct source_format source_vdisk_vmdk = { .name = "vmdk", .probe = vmdk_row_probe,
                                                 .open = vmdk_row_open };

bool source_is_vdisk(const struct source_format *f)
{
    return f == &source_vdisk_vhd || f == &source_vdisk_vhdx || f == &source_vdisk_vmdk;
}
