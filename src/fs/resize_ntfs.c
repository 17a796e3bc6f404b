/* NTFS resize through libntfs-3g on a copy-on-write overlay: the checks
 * ntfsresize makes before touching a volume (clean, not hibernated, no bad
 * clusters listed, nothing used beyond the new end) and the edits of a
 * resize that moves no data: $Bitmap to the new cluster count, $BadClus:$Bad
 * to the new length, the boot sector's total sectors and the backup boot
 * sector in the partition's last sector. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"
#include "blockdev/window.h"
#include "fs/ntfs_dev.h"
#include "fs/ntfs_runs.h"
#include "fs/resize.h"
#include "fs/resize_impl.h"
#include "util/endian.h"
#include "util/size.h"

#define BM_CHUNK (256u * 1024u)

int fsresize_ntfs_mount(fsresize_ntfs_vol *v, blockdev *bd, uint64_t len, bool rw, const char *what,
                    p2v_err *err)
{
    ntdev_capture_log();
    v->d = (struct ntdev){ .bd = bd, .off = v->d.off, .len = len };
    struct ntfs_device *dev = ntdev_alloc(&v->d);
    if (!dev)
        return p2v_errf(err, -ENOMEM, "out of memory");
    v->vol = ntfs_device_mount(dev, rw ? NTFS_MNT_NONE : NTFS_MNT_RDONLY);
    if (v->vol)
        return 0;
    if (NDevOpen(dev))
        dev->d_ops->close(dev);
    ntfs_device_free(dev);
    if (v->d.failed) {
        *err = v->d.err;
        return p2v_err_prefix(err, -EIO, "%s: NTFS", what);
    }
    return p2v_errf(err, -EINVAL, "%s: NTFS volume cannot be opened%s (%s)", what,
                    rw ? " for resizing" : "",
                    ntdev_last_msg()[0] ? ntdev_last_msg() : "libntfs-3g refused it");
}

int fsresize_ntfs_umount(fsresize_ntfs_vol *v, const char *what, p2v_err *err)
{
    int r = 0;
    if (v->vol && ntfs_umount(v->vol, FALSE) != 0)
        r = p2v_errf(err, -EIO, "%s: NTFS volume could not be written back (%s)", what,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    v->vol = NULL;
    if (r == 0 && v->d.failed) {
        *err = v->d.err;
        r = p2v_err_prefix(err, -EIO, "%s: NTFS", what);
    }
    return r;
}

/* Bad clusters are listed as the allocated runs of $BadClus:$Bad (the rest
 * of it is one hole). ntfsresize refuses such a volume; so do we. */
static int rz_check_badclus(ntfs_volume *vol, const char *what, p2v_err *err)
{
    ntfs_inode *ni = ntfs_inode_open(vol, FILE_BadClus);
    ntfschar *name = NULL;
    int nlen = ntfs_mbstoucs("$Bad", &name);
    ntfs_attr *na = ni && nlen > 0 ? ntfs_attr_open(ni, AT_DATA, name, (u32)nlen) : NULL;
    int r = 0;
    if (!na || ntfs_attr_map_whole_runlist(na) != 0) {
        r = p2v_errf(err, -EIO, "%s: NTFS $BadClus cannot be read", what);
        goto out;
    }
    char list[200] = "";
    size_t used = 0;
    uint64_t nbad = 0;
    for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
        if (rl->lcn < 0)
            continue;
        nbad += (uint64_t)rl->length;
        if (used < sizeof list - 40)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%lld+%lld",
                                     used ? ", " : "", (long long)rl->lcn,
                                     (long long)rl->length);
    }
    if (nbad)
        r = p2v_errf(err, -EBUSY,
                     "%s: NTFS volume lists %llu bad clusters (%s): it cannot be resized; "
                     "copy it at its size, or run chkdsk /b on a healthy disk first", what,
                     (unsigned long long)nbad, list);
out:
    if (na)
        ntfs_attr_close(na);
    if (ni)
        ntfs_inode_close(ni);
    free(name);
    return r;
}

/* Used clusters and the last one in use, from $Bitmap. */
static int rz_scan_bitmap(ntfs_volume *vol, uint64_t *used, int64_t *last, const char *what,
                          p2v_err *err)
{
    uint64_t nr = (uint64_t)vol->nr_clusters, need = (nr + 7) / 8;
    uint8_t *buf = malloc(BM_CHUNK);
    if (!buf)
        return p2v_errf(err, -ENOMEM, "out of memory");
    *used = 0;
    *last = -1;
    int r = 0;
    for (uint64_t pos = 0; pos < need && r == 0; pos += BM_CHUNK) {
        uint64_t len = need - pos < BM_CHUNK ? need - pos : BM_CHUNK;
        if (ntfs_attr_pread(vol->lcnbmp_na, (s64)pos, (s64)len, buf) != (s64)len) {
            r = p2v_errf(err, -EIO, "%s: NTFS $Bitmap cannot be read at byte %llu", what,
                         (unsigned long long)pos);
            break;
        }
        for (uint64_t b = 0; b < len * 8 && pos * 8 + b < nr; b++)
            if (buf[b / 8] & (1u << (b % 8))) {
                (*used)++;
                *last = (int64_t)(pos * 8 + b);
            }
    }
    free(buf);
    return r;
}

void fsresize_ntfs_geometry(uint64_t bytes, uint32_t bytes_per_sector, uint32_t cluster,
                            uint64_t *sectors, uint64_t *clusters)
{
    uint64_t s = bytes / bytes_per_sector;
    *sectors = s ? s - 1 : 0;
    *clusters = *sectors / (cluster / bytes_per_sector);
}

/* $Bitmap against the runlists of every MFT record: a cluster in use that
 * $Bitmap marks free would be handed out to a moved run or new metadata,
 * or left out of the copy. ntfsresize refuses such a volume too. */
static int rz_check_runlists(ntfs_volume *vol, const char *what, p2v_err *err)
{
    extent_list used = { 0 };
    char why[400];
    uint64_t skipped = 0;
    int r = ntruns_bitmap_extents(vol, &used);
    if (r < 0)
        r = p2v_errf(err, r, "%s: NTFS $Bitmap cannot be read%s", what,
                     r == -ENOMEM ? " (out of memory)" : "");
    else if ((r = ntruns_check(vol, &used, &skipped, why, sizeof why)) != 0)
        r = p2v_errf(err, r < 0 ? r : -EUCLEAN, "%s: %s: it cannot be resized", what, why);
    extent_list_free(&used);
    return r;
}

/* The volume's own sectors (boot sector field total sectors, the backup
 * boot sector not counted) must lie inside the partition entry. */
static int rz_check_entry(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                          p2v_err *err)
{
    uint8_t bs[512];
    uint64_t bytes;
    int r = fsresize_read_at(bd, off, len, 0, bs, sizeof bs, err);
    if (r <= 0)
        return r;
    uint64_t bps = get_le16(bs + 0x0B), sectors = get_le64(bs + FSRESIZE_NTFS_BOOT_TOTAL_SECTORS);
    if (bps == 0 || __builtin_mul_overflow(sectors, bps, &bytes))
        bytes = UINT64_MAX;
    return fsresize_entry_check("NTFS", bytes, "from its boot sector", len, what, err);
}

int fsresize_ntfs_check(blockdev *bd, uint64_t off, uint64_t len, const char *what,
                        fsresize_info *fi, p2v_err *err)
{
    fsresize_ntfs_vol v = { .d = { .off = off } };
    int r = rz_check_entry(bd, off, len, what, err);
    if (r == 0)
        r = fsresize_ntfs_mount(&v, bd, len, false, what, err);
    if (r < 0)
        return r;
    ntfs_volume *vol = v.vol;
    const char *why = ntdev_unclean_reason(vol);
    uint64_t used = 0;
    int64_t last = -1;
    if (why)
        r = p2v_errf(err, -EBUSY, "%s: NTFS volume %s: it cannot be resized", what, why);
    if (r == 0)
        r = rz_check_badclus(vol, what, err);
    if (r == 0)
        r = rz_check_runlists(vol, what, err);
    if (r == 0)
        r = rz_scan_bitmap(vol, &used, &last, what, err);
    if (r == 0) {
        uint64_t cl = vol->cluster_size, bps = vol->sector_size;
        fi->kind = FSRESIZE_NTFS;
        snprintf(fi->fstype, sizeof fi->fstype, "ntfs");
        fi->cluster = (uint32_t)cl;
        fi->fs_bytes = ((uint64_t)vol->nr_clusters * cl / bps + 1) * bps;
        fi->used_bytes = used * cl;
        fi->data_end = (uint64_t)(last + 1) * cl;
        /* Every used cluster (moved below the end where needed) and the
         * backup boot sector, as ntfsresize counts: a shrink's $Bitmap is
         * never larger than the one counted in the used clusters. */
        fi->min_bytes = fi->used_bytes + bps;
        fi->bytes_per_sector = (uint32_t)bps;
        fi->nr_clusters = (uint64_t)vol->nr_clusters;
    }
    p2v_err e2;
    int rc = fsresize_ntfs_umount(&v, what, r < 0 ? &e2 : err);
    return r < 0 ? r : rc;
}

/* The tail of $Bitmap from byte `from` on, for a volume of new_nr clusters
 * that had old_nr: bits of clusters that stay keep their value, new
 * clusters are free, and the bits past the last cluster are set (as mkntfs
 * and ntfsresize leave them). */
static int rz_write_bitmap_tail(ntfs_attr *na, uint64_t old_nr, uint64_t new_nr,
                                uint64_t own_lcn, uint64_t own_n, const char *what,
                                p2v_err *err)
{
    uint64_t keep = old_nr < new_nr ? old_nr : new_nr;
    uint64_t from = keep / 8, size = (uint64_t)na->data_size, len = size - from;
    uint8_t *buf = calloc(1, len ? len : 1);
    if (!buf)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int r = 0;
    if (ntfs_attr_pread(na, (s64)from, 1, buf) != 1)
        r = p2v_errf(err, -EIO, "%s: NTFS $Bitmap cannot be read", what);
    for (uint64_t bit = keep; r == 0 && bit < size * 8; bit++) {
        uint64_t i = bit / 8 - from;
        uint8_t m = (uint8_t)(1u << (bit % 8));
        bool set = bit >= new_nr || (bit >= own_lcn && bit - own_lcn < own_n);
        buf[i] = set ? (uint8_t)(buf[i] | m) : (uint8_t)(buf[i] & ~m);
    }
    if (r == 0 && ntfs_attr_pwrite(na, (s64)from, (s64)len, buf) != (s64)len)
        r = p2v_errf(err, -EIO, "%s: NTFS $Bitmap cannot be written (%s)", what,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    free(buf);
    return r;
}

/* A grow's new $Bitmap can need more clusters than the old volume has free
 * (a nearly full volume moved to a far larger disk). Like ntfsresize, the
 * missing clusters are taken from the new space, the first clusters past
 * the old end, which nothing uses yet: they are appended to $Bitmap's
 * runlist by hand because libntfs-3g's allocator only knows the clusters
 * the old $Bitmap covers. *lcn and *n: the run taken (n 0 when none). */
static int rz_bitmap_grow_alloc(ntfs_volume *vol, uint64_t bytes, uint64_t new_nr,
                                uint64_t *lcn, uint64_t *n, const char *what, p2v_err *err)
{
    ntfs_attr *na = vol->lcnbmp_na;
    uint64_t cs = vol->cluster_size, old_nr = (uint64_t)vol->nr_clusters;
    uint64_t have = (uint64_t)na->allocated_size / cs, want = (bytes + cs - 1) / cs;
    *lcn = old_nr;
    *n = 0;
    if (want <= have || new_nr <= old_nr || new_nr - old_nr < want - have)
        return 0;
    if (ntfs_attr_map_whole_runlist(na) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS $Bitmap's runlist cannot be read", what);
    runlist_element *add = calloc(2, sizeof *add);
    if (!add)
        return p2v_errf(err, -ENOMEM, "out of memory");
    add[0] = (runlist_element){ .vcn = (VCN)have, .lcn = (LCN)old_nr, .length = (s64)(want - have) };
    add[1] = (runlist_element){ .vcn = (VCN)want, .lcn = LCN_ENOENT, .length = 0 };
    runlist_element *rl = ntfs_runlists_merge(na->rl, add);
    if (!rl) {
        free(add);
        return p2v_errf(err, -EIO, "%s: NTFS $Bitmap's runlist cannot be extended (%s)", what,
                        ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    }
    na->rl = rl;
    na->allocated_size = (s64)(want * cs);
    if (ntfs_attr_update_mapping_pairs(na, 0) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS $Bitmap's runlist cannot be written (%s)", what,
                        ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    *n = want - have;
    return 0;
}

static int rz_resize_bitmap(ntfs_volume *vol, uint64_t new_nr, const char *what, p2v_err *err)
{
    ntfs_attr *na = vol->lcnbmp_na;
    uint64_t bytes = ((new_nr + 7) / 8 + 7) & ~(uint64_t)7, own_lcn, own_n;
    int r = rz_bitmap_grow_alloc(vol, bytes, new_nr, &own_lcn, &own_n, what, err);
    if (r < 0)
        return r;
    if ((uint64_t)na->data_size != bytes && ntfs_attr_truncate_solid(na, (s64)bytes) != 0)
        return p2v_errf(err, -EIO, "%s: NTFS $Bitmap cannot be resized to %llu bytes (%s)", what,
                        (unsigned long long)bytes,
                        ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    return rz_write_bitmap_tail(na, (uint64_t)vol->nr_clusters, new_nr, own_lcn, own_n, what,
                                err);
}

static int rz_resize_badclus(ntfs_volume *vol, uint64_t new_nr, const char *what, p2v_err *err)
{
    ntfs_inode *ni = ntfs_inode_open(vol, FILE_BadClus);
    ntfschar *name = NULL;
    int nlen = ntfs_mbstoucs("$Bad", &name);
    ntfs_attr *na = ni && nlen > 0 ? ntfs_attr_open(ni, AT_DATA, name, (u32)nlen) : NULL;
    int r = 0;
    if (!na)
        r = p2v_errf(err, -EIO, "%s: NTFS $BadClus cannot be opened", what);
    else if (ntfs_attr_truncate(na, (s64)(new_nr * vol->cluster_size)) != 0)
        r = p2v_errf(err, -EIO, "%s: NTFS $BadClus cannot be resized (%s)", what,
                     ntdev_last_msg()[0] ? ntdev_last_msg() : strerror(errno));
    if (na)
        ntfs_attr_close(na);
    if (ni && ntfs_inode_close(ni) != 0 && r == 0)
        r = p2v_errf(err, -EIO, "%s: NTFS $BadClus cannot be written", what);
    free(name);
    return r;
}

/* The boot sector with the new total sectors and the places of $MFT and
 * $MFTMirr, at the start and (as the backup) in the sector after the
 * volume. */
int fsresize_ntfs_finish(blockdev *view, const fsresize_ntfs_result *res, p2v_err *err)
{
    uint32_t bps = res->bytes_per_sector;
    uint8_t *bs = malloc(bps);
    if (!bs)
        return p2v_errf(err, -ENOMEM, "out of memory");
    int r = bd_pread(view, bs, bps, 0, err);
    if (r == 0) {
        bpb_write_ntfs(bs, res->sectors, (uint64_t)res->mft_lcn, (uint64_t)res->mftmirr_lcn);
        r = bd_overlay_pwrite(view, bs, bps, 0, err);
    }
    if (r == 0)
        r = bd_overlay_pwrite(view, bs, bps, res->sectors * bps, err);
    free(bs);
    return r;
}

void fsresize_ntfs_result_free(fsresize_ntfs_result *res)
{
    free(res->moves);
    memset(res, 0, sizeof *res);
}

/* $Bitmap and $BadClus to the new cluster count, through libntfs-3g. */
static int resize_system_files(blockdev *ov, fsresize_ntfs_result *res, const char *what,
                               p2v_err *err)
{
    fsresize_ntfs_vol v = { 0 };
    int r = fsresize_ntfs_mount(&v, ov, bd_size(ov), true, what, err);
    if (r < 0)
        return r;
    res->mft_lcn = v.vol->mft_lcn;
    res->mftmirr_lcn = v.vol->mftmirr_lcn;
    r = rz_resize_bitmap(v.vol, res->clusters, what, err);
    if (r == 0)
        r = rz_resize_badclus(v.vol, res->clusters, what, err);
    p2v_err e2;
    int rc = fsresize_ntfs_umount(&v, what, r < 0 ? &e2 : err);
    return r < 0 ? r : rc;
}

/* Every cluster beyond the new end given a place below it; runlists that
 * then outgrow their MFT records are written last, through a read-write
 * mount of the volume in its new layout (fsresize_ntfs_expand). */
static int relocate(blockdev *ov, fsresize_ntfs_result *res, const char *what, p2v_err *err)
{
    fsresize_ntfs_vol v = { 0 };
    fsresize_ntfs_overflows over = { 0 };
    int r = fsresize_ntfs_mount(&v, ov, bd_size(ov), false, what, err);
    if (r < 0)
        return r;
    r = fsresize_ntfs_relocate(v.vol, ov, res->clusters, what, res, &over, err);
    p2v_err e2;
    int rc = fsresize_ntfs_umount(&v, what, r < 0 ? &e2 : err);
    if (r == 0 && rc == 0 && over.n)
        r = fsresize_ntfs_expand(ov, res, &over, what, err);
    fsresize_ntfs_overflows_free(&over);
    return r < 0 ? r : rc;
}

int fsresize_ntfs_apply(blockdev *ov, uint64_t new_bytes, const char *what,
                        fsresize_ntfs_result *res, p2v_err *err)
{
    fsresize_info fi = { 0 };
    memset(res, 0, sizeof *res);
    int r = fsresize_ntfs_check(ov, 0, bd_size(ov), what, &fi, err);
    if (r < 0)
        return r;
    res->bytes_per_sector = fi.bytes_per_sector;
    res->cluster = fi.cluster;
    fsresize_ntfs_geometry(new_bytes, fi.bytes_per_sector, fi.cluster, &res->sectors,
                           &res->clusters);
    if (res->clusters < 16 || new_bytes > bd_size(ov))
        return p2v_errf(err, -ERANGE, "%s: %llu bytes is too small for an NTFS volume", what,
                        (unsigned long long)new_bytes);
    if (fi.used_bytes + fi.bytes_per_sector > new_bytes)
        return p2v_errf(err, -ERANGE, "%s: %llu bytes is smaller than the %llu bytes the NTFS "
                        "volume uses", what, (unsigned long long)new_bytes,
                        (unsigned long long)fi.used_bytes);
    uint64_t old_nr = fi.nr_clusters;
    r = resize_system_files(ov, res, what, err);
    if (r == 0 && res->clusters < old_nr)
        r = relocate(ov, res, what, err);
    if (r < 0)
        fsresize_ntfs_result_free(res);
    return r;
}

/* The volume fitted to new_bytes: edited on an overlay of the source
 * partition (zero-extended when it grows), seen through a remapped view in
 * which moved clusters appear at their new places, with the boot sectors
 * written into a last overlay (the one the Windows step and the copy use). */
int fsresize_ntfs_fit(blockdev *bd, uint64_t off, uint64_t old_bytes, uint64_t new_bytes,
                      const fsresize_info *fi, const char *what, fsresize_done *out,
                      p2v_err *err)
{
    uint64_t edit = new_bytes > old_bytes ? new_bytes : old_bytes;
    fsresize_ntfs_result res = { 0 };
    int r = bd_window_open(bd, off, old_bytes, edit, &out->window, err);
    if (r == 0)
        r = bd_overlay_open(out->window, 0, 0, NULL, &out->edit, err);
    if (r == 0)
        r = fsresize_ntfs_apply(out->edit, new_bytes, what, &res, err);
    if (r == 0)
        r = bd_remap_open(out->edit, new_bytes, res.moves, res.nmoves, &out->view, err);
    if (r == 0)
        r = bd_overlay_open(out->view, 0, 0, NULL, &out->overlay, err);
    if (r == 0)
        r = fsresize_ntfs_finish(out->overlay, &res, err);
    if (r == 0) {
        char h[32];
        out->relocated = res.relocated;
        out->fs_new = (res.sectors + 1) * res.bytes_per_sector;
        /* What happens to the volume, which may differ from what happens
         * to its partition (a volume shorter than its partition may grow
         * in a partition that shrinks). */
        const char *how = out->fs_new > fi->fs_bytes ? "grown to"
                          : out->fs_new < fi->fs_bytes ? "shrunk to" : "kept at";
        snprintf(out->action, sizeof out->action, "NTFS %s %s (%llu clusters of %u bytes)", how,
                 size_human(out->fs_new, h, sizeof h), (unsigned long long)res.clusters,
                 res.cluster);
    }
    fsresize_ntfs_result_free(&res);
    return r;
}

/* Used + margin + the backup boot sector, never below the last used
 * cluster. */
uint64_t fsresize_ntfs_min(const fsresize_info *fi, uint64_t margin)
{
    uint64_t room = fi->used_bytes + margin + fi->bytes_per_sector;
    return room > fi->min_bytes ? room : fi->min_bytes;
}
