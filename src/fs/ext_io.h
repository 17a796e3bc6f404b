/* libext2fs's I/O on a partition of a p2v blockdev (ext_io.c): one I/O
 * manager for the used map and file lookup (read-only, ext.c) and for the
 * ext grow (writable, resize_ext.c: the blockdev is then a copy-on-write
 * overlay, and only the overlay is written). A qcow2 source works like a
 * raw disk. */
#ifndef P2V_FS_EXT_IO_H
#define P2V_FS_EXT_IO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "fs/fsmap_impl.h"

/* ext_io_name() gives the name to pass to ext2fs_open2 with ext_io_manager();
 * x must outlive the filesystem handle. Opening for writing is refused
 * unless writable is set and the blockdev is an overlay. */
struct ext_io {
    fsmap_src src;  /* the filesystem's bytes */
    bool writable;
    p2v_err err;    /* the first blockdev error */
    int failed;
};
void *ext_io_manager(void); /* an io_manager */
void ext_io_name(struct ext_io *x, char *buf, size_t len);

/* libext2fs complains about hostile metadata through com_err, which prints
 * to stderr; p2v's CLI alone speaks, and what matters reaches the notice or
 * the error. ext_io_quiet() loads libext2fs's error table and silences
 * com_err; it returns the hook to put back with set_com_err_hook() when the
 * filesystem work is done. */
typedef void (*ext_io_hook)(const char *, long, const char *, va_list);
ext_io_hook ext_io_quiet(void);

/* Every block that an inode in use names (data, extent tree or indirect
 * blocks, its extended attribute block) against fs's block bitmap, read
 * already: 0 when all are marked in use; 1 with the reason in why ("ext4
 * block bitmap says block 1234 is free but inode 12 uses it; run e2fsck
 * -f"); 2 with the reason when an inode or its tree cannot be read or
 * walked (a read error, damage). Reads every inode table (the
 * unused parts of uninit_bg groups skipped) and extent tree blocks (ext.c). */
struct struct_ext2_filsys;
int ext_check_inode_blocks(struct struct_ext2_filsys *fs, char *why, size_t cap);

#endif
