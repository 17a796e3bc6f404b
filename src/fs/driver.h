/* Inside src/fs: the filesystem driver table. One row per filesystem, kept
 * in the file of that filesystem (ntfs.c, fat.c, ext.c, swap.c; the ones
 * p2v recognises but cannot read in unmapped.c), listed once in drivers.c.
 * The dispatchers (fsmap_build, fs_files_at, fsresize_check, fsresize_apply,
 * fsresize_min, fs_kind_of)
 * reach a filesystem only through its row; a hook a filesystem lacks is
 * NULL. Adding a filesystem: one file with its row, one line in
 * drivers.c (docs/architecture.md). */
#ifndef P2V_FS_DRIVER_H
#define P2V_FS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fsmap_impl.h"
#include "fs/kind.h"
#include "fs/resize.h"

/* Bytes of a partition's start that the probes see: 64 KiB + the btrfs
 * superblock magic. */
#define FS_PROBE_LEN (0x10000 + 0x1000)

/* Files by path (fs/vol.h), for the filesystems p2v edits. */
struct fs_vol_ops {
    int (*open)(blockdev *bd, uint64_t off, uint64_t len, bool writable, void **out,
                p2v_err *err);
    int (*stat)(void *v, const char *path, bool *exists, bool *is_dir, uint64_t *size,
                p2v_err *err);
    int (*read_file)(void *v, const char *path, size_t max, uint8_t **data, size_t *len,
                     p2v_err *err);
    int (*write_file)(void *v, const char *path, const uint8_t *data, size_t len,
                      p2v_err *err);
    int (*close)(void *v, p2v_err *err);
};
extern const struct fs_vol_ops fs_vol_ops_ntfs, fs_vol_ops_fat; /* ntvol.c, fatfile.c */

/* NTFS's backup boot sector: the partition's last sector, or NT4's middle
 * of the volume (ntfs_backup.c; the backup_boot hook's contract). */
int fs_ntfs_backup_boot(const fsmap_src *s, uint8_t *sec, size_t cap, size_t *got,
                        p2v_err *err);

struct fs_driver {
    const char *name;        /* fsmap's fstype ("ntfs", "vfat", "ext2", "swap"), or NULL */
    enum fs_kind kind;
    const char *blkid_type;  /* the libblkid TYPE it answers to (a prefix if blkid_prefix) */
    bool blkid_prefix;
    /* Does the partition's start (n bytes, n >= 512) carry this filesystem?
     * Only decides whose job it is; the full validation is the map's. */
    bool (*probe)(const uint8_t *head, size_t n);
    /* Recognised but not mapped: the notice of a full copy ("LUKS-encrypted
     * volume"). */
    const char *unmappable;
    /* The used-block map (fsmap_build's contract; out->fstype is set). */
    int (*map)(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err);
    /* The files holding bytes of bad (fs_files_at's contract; names
     * unsorted, may repeat). */
    int (*files_at)(const fsmap_src *s, const extent_list *bad, fs_names *out, p2v_err *err);
    /* fsresize_check for this filesystem: out->fstype and out->kind are set;
     * fill the sizes (fsresize_fixed_size for one that keeps its size). */
    int (*resize_check)(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                        fsresize_info *out, p2v_err *err);
    /* fsresize_apply for this filesystem (a grow, or a shrink where it has
     * resize_min): 0 resized, 1 kept at its size with out->action; NULL:
     * the contents keep their size. */
    int (*resize_apply)(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                        const fsresize_info *fi, const char *what, fsresize_done *out,
                        p2v_err *err);
    /* The smallest partition with margin bytes free (fsresize_min); NULL:
     * the filesystem does not shrink. */
    uint64_t (*resize_min)(const fsresize_info *fi, uint64_t margin);
    /* Files by path (fs_vol_open). */
    const struct fs_vol_ops *vol;
    /* A copy of the partition's first sector kept elsewhere, for when that
     * sector is lost: read into sec (cap bytes, at least 512), its length
     * in *got; 0, -ENOENT when there is none, or a read error. */
    int (*backup_boot)(const fsmap_src *s, uint8_t *sec, size_t cap, size_t *got,
                       p2v_err *err);
};

extern const struct fs_driver fs_driver_ntfs, fs_driver_fat, fs_driver_ext, fs_driver_swap;
extern const struct fs_driver fs_driver_bitlocker, fs_driver_exfat, fs_driver_xfs,
    fs_driver_luks, fs_driver_btrfs, fs_driver_lvm;

/* The table in probe order (the unmappable signatures first), NULL-ended. */
extern const struct fs_driver *const fs_drivers[];

/* The row of a kind (the first; FS_UNKNOWN and FS_OTHER have none), or NULL. */
const struct fs_driver *fs_driver_of_kind(enum fs_kind kind);
/* The first row whose probe recognises head (n bytes of a partition's
 * start, up to FS_PROBE_LEN), or NULL. */
const struct fs_driver *fs_driver_probe(const uint8_t *head, size_t n);
/* The row whose name or libblkid TYPE is type, or NULL. */
const struct fs_driver *fs_driver_of_type(const char *type);

#endif
