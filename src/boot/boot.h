/* Making the target bootable: p2v's own MBR boot program, an empty ESP. */
#ifndef P2V_BOOT_H
#define P2V_BOOT_H

#include <stdint.h>

#include "util/err.h"
#include "util/io.h"

#define BOOT_MBR_CODE_SIZE 440

/* Copy p2v's own MBR boot program (bytes 0..439 of LBA 0) into code.
 * 0, or -ENOTSUP if this build has none. */
int boot_mbr_program(uint8_t code[BOOT_MBR_CODE_SIZE]);

/* Format an empty FAT32 EFI System Partition of `sectors` sectors of
 * sector_size bytes starting at sector start_lba of the target disk, writing
 * through write(ctx, byte offset on the target disk, ...) in increasing offset
 * order. Label "EFI", fresh volume serial. 0 or negative errno. */
int boot_format_esp(uint64_t start_lba, uint64_t sectors, uint32_t sector_size, p2v_write_fn write,
                    void *ctx, p2v_err *err);

#endif
