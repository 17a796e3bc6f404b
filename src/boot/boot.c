/* p2v's own MBR boot program, assembled from src/boot/mbr.asm at build time
 * (cmake/boot.cmake) and linked in as an array. */
#include "boot/boot.h"

#include "fs/bpb.h"

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

bool boot_vbr_has_code(const uint8_t sector[512], enum fs_kind kind)
{
    size_t code;
    if (!bpb_has_signature(sector))
        return false;
    if (kind == FS_NTFS)
        code = 0x54;
    else if (kind == FS_FAT)
        code = bpb_has_fat_type(sector, true) ? BPB_FAT32_CODE : BPB_FAT16_FS_TYPE + 8;
    else
        return false;
    static const char stub[] = "This is not a bootable disk";
    for (size_t i = code; i + sizeof stub - 1 <= 510; i++)
        if (!memcmp(sector + i, stub, sizeof stub - 1))
            return false;
    for (size_t i = code; i < 510; i++)
        if (sector[i])
            return true;
    return false;
}
