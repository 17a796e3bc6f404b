/* VHD (Virtual Hard Disk Image Format Specification; footer fields
 * big-endian): a fixed VHD is the disk's bytes followed by a 512-byte
 * footer, read as the file up to the footer (format "vpc", as qemu-img
 * names it). Dynamic and differencing VHDs are refused (refused.c). */
#include "source/source_impl.h"

#include "util/endian.h"

#define VHD_COOKIE         "conectix"
#define VHD_FOOTER_SIZE    512
#define VHDF_CURRENT_SIZE  48
#define VHDF_DISK_TYPE     60
#define VHDF_CHECKSUM      64
#define VHD_TYPE_FIXED     2

bool source_vhd_footer_parse(const uint8_t f[512], uint32_t *disk_type, uint64_t *current_size)
{
    if (memcmp(f, VHD_COOKIE, 8) != 0)
        return false;
    /* One's complement of the sum of all bytes, the checksum field counted as zero. */
    uint32_t sum = 0;
    for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
        if (i < VHDF_CHECKSUM || i >= VHDF_CHECKSUM + 4)
            sum += f[i];
    if (~sum != get_be32(f + VHDF_CHECKSUM))
        return false;
    *disk_type = get_be32(f + VHDF_DISK_TYPE);
    *current_size = get_be64(f + VHDF_CURRENT_SIZE);
    return true;
}

uint32_t source_vhd_type(const source_probe *p, uint64_t *current_size)
{
    uint32_t type;
    *current_size = 0;
    if (source_magic_at(p, 0, VHD_COOKIE, 8)) {
        /* The copy at byte 0 exists only for dynamic and differencing disks;
         * one that does not validate still says "dynamic". */
        bool ok = p->n >= VHD_FOOTER_SIZE && source_vhd_footer_parse(p->head, &type, current_size);
        return ok && type == 4 ? 4 : 3;
    }
    /* Only a footer at the end, and only one that validates: else raw. */
    if (p->tail && p->size >= 2 * VHD_FOOTER_SIZE &&
        source_vhd_footer_parse(p->tail, &type, current_size))
        return type;
    return 0;
}

static bool vpc_probe(const source_probe *p, uint64_t *data_size)
{
    uint64_t cur;
    if (source_vhd_type(p, &cur) != VHD_TYPE_FIXED || source_magic_at(p, 0, VHD_COOKIE, 8) ||
        cur == 0 || cur > p->size - VHD_FOOTER_SIZE)
        return false;
    *data_size = cur;
    return true;
}

static int vpc_open(const char *path, blockdev *file, uint64_t data_size, const source_opts *o,
                    blockdev **out, p2v_err *err)
{
    (void)path, (void)o;
    int r = bd_limit(file, data_size, "vpc", err);
    if (r < 0) {
        bd_close(file);
        return r;
    }
    *out = file;
    return 0;
}

const struct source_format source_vpc = { .name = "vpc", .probe = vpc_probe, .open = vpc_open };
