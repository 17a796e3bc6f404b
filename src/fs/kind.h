/* Which filesystem a volume holds, as a number: callers outside src/fs
 * compare kinds, never names. The names (libblkid's TYPE, fsmap's fstype)
 * belong to the filesystem driver table (src/fs/driver.h). */
#ifndef P2V_FS_KIND_H
#define P2V_FS_KIND_H

enum fs_kind {
    FS_UNKNOWN = 0, /* nothing recognised (or several signatures at once) */
    FS_NTFS,
    FS_FAT,         /* FAT12/16/32 (libblkid "vfat") */
    FS_EXT,         /* ext2/3/4 */
    FS_SWAP,        /* Linux swap */
    FS_BITLOCKER,   /* BitLocker-encrypted: unreadable offline */
    FS_OTHER,       /* recognised, but no driver of p2v's understands it */
};

/* The kind of a filesystem type name: libblkid's TYPE or fsmap's fstype
 * ("ntfs", "vfat", "ext4", "swap", "bitlocker", ...). FS_UNKNOWN for NULL
 * or "", FS_OTHER for a name no driver answers to. */
enum fs_kind fs_kind_of(const char *type);

/* The name p2v gives a kind (fsmap's fstype: "ntfs", "vfat", "ext2",
 * "swap", "bitlocker"), or "" for FS_UNKNOWN and FS_OTHER. */
const char *fs_kind_name(enum fs_kind kind);

#endif
