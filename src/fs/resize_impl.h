/* Inside src/fs: the per-filesystem halves of fs/resize.h. */
#ifndef P2V_FS_RESIZE_IMPL_H
#define P2V_FS_RESIZE_IMPL_H

#include "fs/ntfs_dev.h"
#include "fs/resize.h"

/* The resize_check hooks of the driver rows (fsresize_check's contract;
 * fi->kind and fi->fstype already set). */
int fsresize_ntfs_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                        fsresize_info *fi, p2v_err *err);
int fsresize_ext_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *fi, p2v_err *err);
int fsresize_fat_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                       fsresize_info *fi, p2v_err *err);

/* The resize_apply and resize_min hooks of the rows. */
int fsresize_ntfs_fit(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                      const fsresize_info *fi, const char *what, fsresize_done *out,
                      p2v_err *err);
uint64_t fsresize_ntfs_min(const fsresize_info *fi, uint64_t margin);
int fsresize_ext_fit(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                     const fsresize_info *fi, const char *what, fsresize_done *out,
                     p2v_err *err);
int fsresize_fat_keep(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                      const fsresize_info *fi, const char *what, fsresize_done *out,
                      p2v_err *err);

/* n bytes at byte `at` of the partition [off, off + len) of bd into buf: 1,
 * 0 when the partition is too short to hold them, or a read error. */
static inline int fsresize_read_at(blockdev *bd, uint64_t off, uint64_t len, uint64_t at,
                                   void *buf, size_t n, p2v_err *err)
{
    if (len < at || len - at < n)
        return 0;
    int r = bd_pread(bd, buf, n, off + at, err);
    return r < 0 ? r : 1;
}

/* The name a report gives the filesystem: its type, or "unrecognised". */
static inline const char *fsresize_name(const fsresize_info *fi)
{
    return fi->fstype[0] ? fi->fstype : "unrecognised";
}

/* A filesystem p2v does not shrink keeps its bytes: the partition may not be
 * smaller than the filesystem (or, its size unknown, than the source). */
static inline void fsresize_fixed_size(fsresize_info *fi, uint64_t len)
{
    fi->min_bytes = fi->fs_bytes ? fi->fs_bytes : len;
    fi->data_end = fi->min_bytes;
}

/* A filesystem of fs_bytes (its own size, read `from` its superblock or
 * boot sector) in a partition entry of len bytes: 0 when it fits, else
 * -ERANGE naming both sizes (a resize would zero what lies past the entry). */
int fsresize_entry_check(const char *fstype, uint64_t fs_bytes, const char *from, uint64_t len,
                         const char *what, p2v_err *err);

struct _ntfs_volume;
struct _runlist_element;

/* A volume mounted by libntfs-3g over [0, len) of bd (rw only on an
 * overlay); umount writes back what a rw mount changed. */
typedef struct fsresize_ntfs_vol {
    struct ntdev d;
    struct _ntfs_volume *vol;
} fsresize_ntfs_vol;
int fsresize_ntfs_mount(fsresize_ntfs_vol *v, blockdev *bd, uint64_t len, bool rw,
                        const char *what, p2v_err *err);
int fsresize_ntfs_umount(fsresize_ntfs_vol *v, const char *what, p2v_err *err);

/* An attribute extent whose relocated runlist no longer fits in its MFT
 * record: its new runlist for VCNs low..high, to be written by libntfs-3g
 * (which spreads a runlist over extension records and an attribute list,
 * as ntfsresize does) once every other record is rewritten. */
typedef struct fsresize_ntfs_overflow {
    uint64_t base;                  /* the file's base MFT record */
    uint64_t recno;                 /* the record holding the extent */
    uint32_t type;
    uint8_t name_len;
    uint16_t name[255];             /* little-endian UTF-16, as on disk */
    int64_t low, high;
    struct _runlist_element *rl;    /* malloc'd, terminated by length 0 */
} fsresize_ntfs_overflow;

typedef struct fsresize_ntfs_overflows {
    fsresize_ntfs_overflow *v;
    size_t n, cap;
} fsresize_ntfs_overflows;

void fsresize_ntfs_overflows_free(fsresize_ntfs_overflows *o);

/* Write the overflowing runlists of o into ov (the edit overlay, after
 * fsresize_ntfs_relocate): the volume is mounted read-write by libntfs-3g
 * in its new layout (ov seen through res's moves, with the new boot
 * sector), each attribute gets its new runlist through
 * ntfs_attr_update_mapping_pairs, and every block that mount wrote is
 * carried back into ov at the place the moves read it from. */
int fsresize_ntfs_expand(blockdev *ov, const fsresize_ntfs_result *res,
                         const fsresize_ntfs_overflows *o, const char *what, p2v_err *err);

/* Give every cluster at or beyond new_nr that a runlist names a place below
 * it: MFT records rewritten (and mirrored) straight into ov at the places
 * the mounted (read-only) volume's runlists name, $Bitmap bits set, moves
 * appended to res. An extent whose new runlist does not fit in its record
 * is left as it is there and appended to over (its clusters allocated and
 * moved all the same), for fsresize_ntfs_expand. */
int fsresize_ntfs_relocate(struct _ntfs_volume *vol, blockdev *ov, uint64_t new_nr,
                           const char *what, fsresize_ntfs_result *res,
                           fsresize_ntfs_overflows *over, p2v_err *err);

#endif
