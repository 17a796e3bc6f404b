/* Filesystem identity of a partition: type, label and UUID via libblkid,
 * plus BitLocker, recognised by its own signature ("-FVE-FS-" at byte 3). */
#ifndef P2V_FS_PROBE_H
#define P2V_FS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "fs/kind.h"
#include "util/err.h"

struct fs_identity {
    char type[32];   /* libblkid TYPE ("ntfs", "vfat", "ext4", "swap", ...), "bitlocker", or "" */
    enum fs_kind kind; /* of type (fs_kind_of): what callers compare */
    char label[256]; /* "" when none */
    char uuid[64];   /* "" when none */
    bool bitlocker;  /* a BitLocker-encrypted volume: its contents cannot be read offline */
    bool ambivalent; /* several signatures matched; type left empty */
};

/* Probe the byte range [off, off + len) of bd. Returns 0 with an empty type
 * when nothing is recognised; a negative code only on read or system errors,
 * with a message "<disk path>: partition at byte <off>: <what>" (the
 * fsmap_err_locate form), or "<disk path>: <what>" when the range is the
 * whole disk.
 *
 * How: a raw file or block device is probed in place (libblkid on the
 * source's own read-only fd, limited to the range). Any other source (qcow2,
 * memory) is copied into a sparse memfd of the same length: its first 8 MiB
 * and last 1 MiB, where the superblocks libblkid knows live (the head alone
 * if the system refuses a sparse memfd that large). */
int fs_probe(blockdev *bd, uint64_t off, uint64_t len, struct fs_identity *out, p2v_err *err);

/* Does the start of a volume (b, n bytes read at its first byte, 4 KiB is
 * enough) hold a filesystem laid out for ss-byte sectors? BPB filesystems
 * (NTFS, exFAT, FAT) store their sector size: it must equal ss. Others (ext
 * superblock, XFS, swap, LUKS) do not depend on it: they count for any ss.
 * For ptable's guess of an image's sector size. */
bool fs_laid_out_for(const uint8_t *b, size_t n, uint32_t ss);

#endif
