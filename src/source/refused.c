/* Image formats p2v recognises but does not read: a source in one of them is
 * refused by name ("VHDX image: not supported as a source...") instead of
 * being copied as raw bytes. A reader for one of them replaces its row here
 * by a file of its own (source.c lists the rows). */
#include "source/source_impl.h"

static bool qed_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return source_magic_at(p, 0, "QED\0", 4);
}

static bool vhdx_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return source_magic_at(p, 0, "vhdxfile", 8);
}

static bool vmdk_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return source_magic_at(p, 0, "KDMV", 4) || source_magic_at(p, 0, "COWD", 4) ||
           source_magic_at(p, 0, "# Disk DescriptorFile", 21);
}

static bool vdi_probe(const source_probe *p, uint64_t *d)
{
    static const uint8_t sig[4] = { 0x7f, 0x10, 0xda, 0xbe }; /* 0xbeda107f LE at 0x40 */
    (void)d;
    return source_magic_at(p, 0x40, sig, 4);
}

static bool parallels_probe(const source_probe *p, uint64_t *d)
{
    (void)d;
    return source_magic_at(p, 0, "WithoutFreeSpace", 16) ||
           source_magic_at(p, 0, "WithouFreSpacExt", 16);
}

static bool vhd_dynamic_probe(const source_probe *p, uint64_t *d)
{
    uint64_t cur;
    (void)d;
    return source_vhd_type(p, &cur) == 3;
}

static bool vhd_diff_probe(const source_probe *p, uint64_t *d)
{
    uint64_t cur;
    (void)d;
    return source_vhd_type(p, &cur) == 4;
}

const struct source_format source_qed = { .name = "QED", .probe = qed_probe };
const struct source_format source_vhdx = { .name = "VHDX", .probe = vhdx_probe };
const struct source_format source_vmdk = { .name = "VMDK", .probe = vmdk_probe };
const struct source_format source_vdi = { .name = "VDI", .probe = vdi_probe };
const struct source_format source_parallels = { .name = "Parallels", .probe = parallels_probe };
const struct source_format source_vhd_dynamic = { .name = "VHD (dynamic)",
                                                  .probe = vhd_dynamic_probe };
const struct source_format source_vhd_diff = { .name = "VHD (differencing)",
                                               .probe = vhd_diff_probe };
