/* Fitting a filesystem to a partition of another size, offline, on a
 * copy-on-write overlay (the source is never written).
 *
 *   fsresize_check()   what the filesystem allows: its size, used bytes, the
 *                      smallest size it can take here, and why not (refusals)
 *   fsresize_apply()   make the volume on the overlay fill new_bytes
 *
 * NTFS grows and shrinks: $Bitmap gets the new cluster count (its own
 * runlist through libntfs-3g), $BadClus:$Bad the new length, the boot sector
 * the new total sectors and a backup at the new end; clusters in use beyond
 * a new end get new places (their runlists rewritten, the data moved by a
 * remapped view that the copy reads). ext2/3/4 grows (new block groups,
 * through libext2fs) where its features allow, else keeps its size like FAT
 * (the caller tells the user); shrinking them below their size is refused. */
#ifndef P2V_FS_RESIZE_H
#define P2V_FS_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "blockdev/remap.h"
#include "fs/bpb.h"
#include "fs/kind.h"
#include "util/err.h"

/* NTFS boot sector fields a resize rewrites (little-endian 64-bit; bpb.h's). */
#define FSRESIZE_NTFS_BOOT_TOTAL_SECTORS BPB_NTFS_TOTAL_SECTORS
#define FSRESIZE_NTFS_BOOT_MFT_LCN BPB_NTFS_MFT_LCN
#define FSRESIZE_NTFS_BOOT_MFTMIRR_LCN BPB_NTFS_MFTMIRR_LCN

/* The kinds a resize tells apart: the driver table's kinds (fs/kind.h) of
 * the filesystems with a resize check; any other is FSRESIZE_OTHER, not
 * understood: the partition is resized, the contents kept. */
enum fsresize_kind {
    FSRESIZE_OTHER = FS_UNKNOWN,
    FSRESIZE_NTFS = FS_NTFS, /* grows and shrinks */
    FSRESIZE_EXT = FS_EXT,   /* grows where its features allow */
    FSRESIZE_FAT = FS_FAT,   /* keeps its size */
};

typedef struct fsresize_info {
    enum fsresize_kind kind;
    char fstype[32];        /* "ntfs", "ext4", "vfat", ... or "" (libblkid TYPE) */
    uint64_t fs_bytes;      /* the filesystem's own size (0: unknown) */
    uint64_t used_bytes;    /* bytes the filesystem uses (0: unknown) */
    uint64_t data_end;      /* end of the last used byte (NTFS: last used cluster) */
    uint64_t min_bytes;     /* smallest partition that holds it without moving data */
    uint32_t cluster;       /* NTFS cluster size, else 0 */
    uint32_t bytes_per_sector; /* NTFS: the boot sector's, else 0 */
    uint64_t nr_clusters;   /* NTFS: clusters of the volume */
} fsresize_info;

/* Look at the filesystem in [off, off + len) of bd (read-only) and fill
 * *out. Errors: read errors, and an NTFS volume that must not be resized
 * (dirty, hibernated, unfinished journal, bad clusters listed): -EBUSY with
 * the reason. Messages name `what` (e.g. "disk.img:2"). */
int fsresize_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                   fsresize_info *out, p2v_err *err);

/* What fsresize_apply built and did: the layers over the source partition
 * that the copy reads, and what happened to the filesystem. The layers are
 * owned here (fsresize_done_free); a filesystem that keeps its size has none. */
typedef struct fsresize_done {
    blockdev *window;   /* the source partition, zero-extended when it grows */
    blockdev *edit;     /* overlay the resize edits the volume on */
    blockdev *view;     /* edit with moved clusters shown at their new places */
    blockdev *overlay;  /* the resized filesystem, what the copy reads (NULL: copied as it is) */
    uint64_t fs_new;    /* the filesystem's size in the image (0: unknown) */
    uint64_t relocated; /* bytes of data moved to a new place */
    char action[200];   /* what happens to the filesystem, for reports */
} fsresize_done;

/* Fit the filesystem fsresize_check described (fi) in the old_bytes at off
 * of bd to a partition of new_bytes (!= old_bytes, and fsresize_fits when
 * smaller), through its row in the driver table: 0 when it was resized
 * (out->overlay reads as the resized partition), 1 when it keeps its size
 * (out->action says why; no layers), or a negative code. The source is
 * never written. */
int fsresize_apply(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                   const fsresize_info *fi, const char *what, fsresize_done *out, p2v_err *err);
void fsresize_done_free(fsresize_done *d);

/* DISK:N=min: the smallest partition that holds the filesystem with margin
 * bytes free (never below fi->min_bytes), when the filesystem can shrink;
 * false when it cannot (it keeps its size). */
bool fsresize_min(const fsresize_info *fi, uint64_t margin, uint64_t *bytes);

/* Can a partition of new_bytes hold this filesystem (as fsresize_apply
 * would make it)? 0, or -ERANGE with the reason (below the used data, a
 * filesystem that cannot shrink, data beyond the new end). */
int fsresize_fits(const fsresize_info *fi, uint64_t new_bytes, const char *what, p2v_err *err);

/* What an NTFS resize did on the overlay, and what remains for the final
 * view: the moves (byte ranges of the partition: the data that the final
 * layout shows at dst still sits at src of the overlay) and the boot sector
 * fields to write into the final view. */
typedef struct fsresize_ntfs_result {
    bd_move *moves;
    size_t nmoves;
    uint64_t relocated;         /* bytes the moves cover */
    uint64_t sectors;           /* the volume's total sectors */
    uint64_t clusters;
    int64_t mft_lcn;            /* where $MFT and $MFTMirr start now */
    int64_t mftmirr_lcn;
    uint32_t bytes_per_sector;
    uint32_t cluster;
} fsresize_ntfs_result;

/* Resize the NTFS volume at the start of overlay ov (at least max(old,
 * new_bytes) long) to fill a partition of new_bytes: $Bitmap and
 * $BadClus:$Bad to the new cluster count; for a shrink, every cluster in
 * use beyond the new end gets a place in free space below it and every
 * runlist naming it (any attribute of any MFT record, $MFT and $MFTMirr
 * included) is rewritten. Only for kind NTFS. On error nothing in *res
 * needs freeing. */
int fsresize_ntfs_apply(blockdev *ov, uint64_t new_bytes, const char *what,
                        fsresize_ntfs_result *res, p2v_err *err);
/* Write the boot sector (total sectors, $MFT and $MFTMirr positions) and
 * its backup after the volume, into the final view (an overlay over the
 * remapped view of ov, bd_size = new_bytes). */
int fsresize_ntfs_finish(blockdev *view, const fsresize_ntfs_result *res, p2v_err *err);
void fsresize_ntfs_result_free(fsresize_ntfs_result *res);

/* NTFS geometry of a partition of `bytes`: sectors the volume covers (the
 * last sector of the partition holds the backup boot sector) and clusters. */
void fsresize_ntfs_geometry(uint64_t bytes, uint32_t bytes_per_sector, uint32_t cluster,
                            uint64_t *sectors, uint64_t *clusters);

/* ext2/3/4 grow. The superblock numbers the new shape depends on. */
typedef struct fsresize_ext_geom {
    uint32_t block_size;
    uint32_t first_data_block;
    uint32_t blocks_per_group;
    uint32_t inodes_per_group;
    uint32_t inode_blocks_per_group;
    uint32_t desc_size;             /* bytes per group descriptor (32 or 64) */
    uint32_t reserved_gdt_blocks;   /* s_reserved_gdt_blocks */
    uint32_t backup_bgs[2];         /* sparse_super2's backup groups */
    uint64_t blocks_count;
    uint64_t groups;
    uint64_t desc_blocks;
    bool is_64bit, meta_bg, sparse_super, sparse_super2;
} fsresize_ext_geom;

/* What the grown filesystem looks like. */
typedef struct fsresize_ext_layout {
    uint64_t blocks;                /* new s_blocks_count */
    uint64_t groups;
    uint64_t desc_blocks;           /* group descriptor blocks */
    uint32_t reserved_gdt_blocks;   /* left after the new descriptor blocks took theirs */
    uint32_t backup_bgs[2];         /* sparse_super2 */
} fsresize_ext_layout;

/* Does group `group` of a filesystem of ngroups groups hold a superblock
 * backup (sparse_super: 0, 1 and powers of 3, 5, 7; sparse_super2: the two
 * listed; else every group)? */
bool fsresize_ext_group_has_super(const fsresize_ext_geom *g, uint64_t group, uint64_t ngroups);

/* The shape of g grown into new_bytes: whole blocks up to new_bytes, a last
 * group too small for its own metadata left out. out->blocks ==
 * g->blocks_count when there is nothing to grow. -ENOTSUP with the reason
 * in `reason` when it cannot be done without moving data: more descriptor
 * blocks than reserved (and no meta_bg), more than 2^32 blocks without
 * 64bit, more than 2^32 inodes, an impossible superblock. */
int fsresize_ext_plan(const fsresize_ext_geom *g, uint64_t new_bytes, fsresize_ext_layout *out,
                      char *reason, size_t reason_len);

/* What an ext grow did. */
typedef struct fsresize_ext_result {
    uint64_t old_blocks, blocks;
    uint64_t old_groups, groups;
    uint32_t block_size;
} fsresize_ext_result;

/* Grow the ext2/3/4 filesystem at the start of overlay ov (bd_size(ov) >=
 * new_bytes; ov reads as zeros from byte zeros_from on: the end of the
 * source partition) to fill new_bytes, through
 * libext2fs: the last group extended, new groups with their descriptors
 * (in the existing descriptor blocks, in reserved ones — the resize inode
 * rebuilt — or in meta_bg's own), bitmaps, inode tables (zeroed), backup
 * superblocks and descriptors, counts. -ENOTSUP, with nothing written, when
 * the filesystem does not allow it (err says why: features, not clean, no
 * room for descriptors); other errors leave ov half-edited. res->blocks ==
 * res->old_blocks: nothing to grow (less than a block, or a last group too
 * small to hold its own metadata), nothing written. */
int fsresize_ext_grow(blockdev *ov, uint64_t new_bytes, uint64_t zeros_from, const char *what,
                      fsresize_ext_result *res, p2v_err *err);

#endif
