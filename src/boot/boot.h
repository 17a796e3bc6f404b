/* Making the target bootable: p2v's own MBR boot program, an empty ESP. */
#ifndef P2V_BOOT_H
#define P2V_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/kind.h"
#include "util/err.h"
#include "util/io.h"

#define BOOT_MBR_CODE_SIZE 440

/* Does this NTFS or FAT (kind) boot sector look bootable for
 * BIOS: 0x55AA and boot code after the BPB that is not all zeros (nor
 * mkfs.fat's "This is not a bootable disk" stub)? */
bool boot_vbr_has_code(const uint8_t sector[512], enum fs_kind kind);

/* Copy p2v's own MBR boot program (bytes 0..439 of LBA 0) into code.
 * 0, or -ENOTSUP if this build has none. The program (src/boot/mbr.asm,
 * described in docs/boot.md) loads the first sector of the one active primary
 * partition with INT 13h extensions and jumps to it with DL = boot drive and
 * DS:SI = the partition entry. */
int boot_mbr_program(uint8_t code[BOOT_MBR_CODE_SIZE]);

/* Format an empty FAT32 EFI System Partition of `sectors` sectors of
 * sector_size bytes starting at sector start_lba of the target disk, writing
 * through write(ctx, byte offset on the target disk, ...) in increasing offset
 * order. Label "EFI", fresh volume serial. 0 or negative errno.
 * Only the sectors that hold something other than zeros are written (boot
 * sectors, FSInfo, the first sector of each FAT, the root directory's first
 * sector): the rest of the range must read as zeros, as it does in a new image.
 * Fails with -ERANGE when the partition is too small for FAT32 (see
 * boot_esp_min_sectors) or too large (more than 2^32-1 sectors). */
int boot_format_esp(uint64_t start_lba, uint64_t sectors, uint32_t sector_size, p2v_write_fn write,
                    void *ctx, p2v_err *err);

/* boot_format_esp, with the directories and files of tree (laid out by
 * fatbuild_layout here, in contiguous clusters after the root directory)
 * written as well: the boot sectors, both FATs up to the last used
 * cluster, and every used cluster. FSInfo counts the clusters left free.
 * -ENOSPC when the files do not fit. tree NULL: an empty ESP. */
struct fatbuild;
int boot_format_esp_tree(uint64_t start_lba, uint64_t sectors, uint32_t sector_size,
                         struct fatbuild *tree, p2v_write_fn write, void *ctx, p2v_err *err);

/* Would tree fit in an ESP of `sectors` sectors? 0, or -ENOSPC (-ERANGE
 * for a size FAT32 cannot take) with a message. */
int boot_esp_fit(uint64_t sectors, uint32_t sector_size, struct fatbuild *tree, p2v_err *err);

/* The smallest ESP, in sectors of sector_size, that boot_format_esp accepts:
 * FAT32 needs at least 65525 clusters (about 32.5 MiB with 512-byte sectors).
 * 0 for a sector size it does not support (512, 1024, 2048, 4096 are). */
uint64_t boot_esp_min_sectors(uint32_t sector_size);

#endif
