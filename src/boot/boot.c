/* Placeholder until the boot work lands. */
#include "boot/boot.h"

#include <errno.h>

int boot_mbr_program(uint8_t code[BOOT_MBR_CODE_SIZE])
{
    (void)code;
    return -ENOTSUP;
}

int boot_format_esp(uint64_t start_lba, uint64_t sectors, uint32_t sector_size, p2v_write_fn write,
                    void *ctx, p2v_err *err)
{
    (void)start_lba; (void)sectors; (void)sector_size; (void)write; (void)ctx;
    return p2v_errf(err, -ENOTSUP, "formatting an ESP is not available yet");
}
