/* p2v's own MBR boot program, assembled from src/boot/mbr.asm at build time
 * (cmake/boot.cmake) and linked in as an array. */
#include "boot/boot.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* generated/boot_mbr_bin.c */
extern const uint8_t p2v_mbr_bin[];
extern const size_t p2v_mbr_bin_size;

int boot_mbr_program(uint8_t code[BOOT_MBR_CODE_SIZE])
{
    /* nasm pads the program to exactly 440 bytes and refuses to assemble a
     * longer one; size 0 means the build had no nasm. */
    if (p2v_mbr_bin_size == 0 || p2v_mbr_bin_size > BOOT_MBR_CODE_SIZE)
        return -ENOTSUP;
    memset(code, 0, BOOT_MBR_CODE_SIZE);
    memcpy(code, p2v_mbr_bin, p2v_mbr_bin_size);
    return 0;
}
