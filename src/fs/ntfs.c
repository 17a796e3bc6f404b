/* NTFS used-block map through libntfs-3g, reading through p2v's own blockdev
 * (custom device operations, so a qcow2 source works like a raw disk). Used:
 * every cluster set in $Bitmap, the boot sector, and what lies past the last
 * whole cluster: the rest of the volume and its backup boot sector, and the
 * partition's last sector. Cross-checks: $Bitmap's size against the cluster
 * count, and every cluster of the system files (MFT records 0-15) must be
 * marked in use. A dirty volume, an unclean $LogFile or a hibernation file in
 * use (Windows Fast Startup) stops the copy unless allow_dirty; with it the
 * volume is copied whole, since Windows' journal replay may need clusters
 * that $Bitmap still shows free. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logfile.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "fs/fsmap_impl.h"
#include "fs/ntfs_dev.h"
#include "util/endian.h"

/* ---- checks ---- */

#define NTFS_BITMAP_CHUNK (128u * 1024u)

/* Runs of set bits of $Bitmap, read in chunks. 0, negative (read error), or
 * 1 when the bitmap cannot be used (notice set). */
static int ntfs_add_bitmap(ntfs_volume *vol, const fsmap_src *s, fsmap *out, uint64_t *used,
                           p2v_err *err)
{
    ntfs_attr *na = vol->lcnbmp_na;
    uint64_t nclusters = (uint64_t)vol->nr_clusters, need = (nclusters + 7) / 8, total = 0;
    uint8_t *buf = NULL;
    int r = 0;

    if (!na || na->data_size < 0 || (uint64_t)na->data_size < need) {
        fsmap_set_full(out,
                       "NTFS $Bitmap holds %lld bytes, too few for %llu clusters",
                       na ? (long long)na->data_size : 0LL, (unsigned long long)nclusters);
        return 1;
    }
    buf = malloc(NTFS_BITMAP_CHUNK);
    if (!buf)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(s->bd));
    for (uint64_t pos = 0; pos < need; pos += NTFS_BITMAP_CHUNK) {
        uint64_t len = need - pos < NTFS_BITMAP_CHUNK ? need - pos : NTFS_BITMAP_CHUNK;
        s64 got = ntfs_attr_pread(na, (s64)pos, (s64)len, buf);
        if (got != (s64)len) {
            fsmap_set_full(out, "NTFS $Bitmap could not be read at byte %llu",
                           (unsigned long long)pos);
            r = 1;
            goto out;
        }
        uint64_t bits = nclusters - pos * 8 < len * 8 ? nclusters - pos * 8 : len * 8, set;
        r = fsmap_add_bitmap_runs(out, s, buf, bits, pos * 8, vol->cluster_size, 0, &set, err);
        if (r < 0)
            goto out;
        total += set;
    }
    *used = total;
out:
    free(buf);
    return r;
}

/* Every cluster of every non-resident attribute of the system files must be
 * in the map: a $Bitmap that says otherwise is not to be trusted. 0 or 1
 * (notice set). */
static int ntfs_check_system_files(ntfs_volume *vol, fsmap *out)
{
    uint64_t cs = vol->cluster_size;
    for (u64 mref = 0; mref < FILE_first_user; mref++) {
        ntfs_inode *ni = ntfs_inode_open(vol, mref);
        if (!ni) {
            if (mref == FILE_MFT || mref == FILE_Bitmap || mref == FILE_LogFile ||
                mref == FILE_MFTMirr || mref == FILE_root) {
                fsmap_set_full(out, "NTFS system file %llu cannot be read (%s)",
                               (unsigned long long)mref, ntdev_last_msg());
                return 1;
            }
            continue; /* reserved records 11..15 may be unused */
        }
        ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
        int bad = ctx ? 0 : 1;
        while (ctx && !bad) {
            if (ntfs_attrs_walk(ctx)) {
                bad = errno != ENOENT;
                break;
            }
            ATTR_RECORD *a = ctx->attr;
            if (!a->non_resident)
                continue;
            runlist_element *rl = ntfs_mapping_pairs_decompress(vol, a, NULL);
            if (!rl) {
                fsmap_set_full(out, "NTFS system file %llu: attribute 0x%x has a run list that "
                               "cannot be decoded",
                               (unsigned long long)mref, (unsigned)le32_to_cpu(a->type));
                bad = 1;
                break;
            }
            for (runlist_element *e = rl; e->length; e++) {
                if (e->lcn < 0)
                    continue; /* sparse or unmapped */
                if (e->length < 0 || e->lcn > vol->nr_clusters ||
                    e->length > vol->nr_clusters - e->lcn) {
                    fsmap_set_full(out, "NTFS system file %llu: run at cluster %lld (%lld "
                                   "clusters) lies outside the volume's %lld clusters: copying "
                                   "every sector", (unsigned long long)mref, (long long)e->lcn,
                                   (long long)e->length, (long long)vol->nr_clusters);
                    bad = 1;
                    break;
                }
                if (!fsmap_covers(out, (uint64_t)e->lcn * cs, (uint64_t)e->length * cs)) {
                    fsmap_set_full(out, "NTFS system file %llu uses clusters %lld..%lld that "
                                   "$Bitmap marks free",
                                   (unsigned long long)mref, (long long)e->lcn,
                                   (long long)(e->lcn + e->length - 1));
                    bad = 1;
                    break;
                }
            }
            free(rl);
        }
        if (ctx)
            ntfs_attr_put_search_ctx(ctx);
        ntfs_inode_close(ni);
        if (bad) {
            if (!out->full)
                fsmap_set_full(out, "NTFS system file %llu cannot be examined",
                               (unsigned long long)mref);
            return 1;
        }
    }
    return 0;
}

int fsmap_build_ntfs(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err)
{
    struct ntdev d = { .bd = s->bd, .off = s->off, .len = s->len };
    struct ntfs_device *dev = NULL;
    ntfs_volume *vol = NULL;
    uint8_t bs[512];
    uint64_t used = 0;
    int r;

    r = fsmap_read(s, bs, sizeof bs, 0, err);
    if (r < 0)
        return r;
    uint32_t bps = get_le16(bs + 0x0B);
    uint64_t nsect = get_le64(bs + 0x28), vol_end;
    if (bps < 256 || bps > 4096 || (bps & (bps - 1)) ||
        __builtin_add_overflow(nsect, 1, &vol_end) ||
        __builtin_mul_overflow(vol_end, (uint64_t)bps, &vol_end))
        return fsmap_set_full(out, "NTFS boot sector not valid (%u bytes per sector, %llu "
                              "sectors)", bps, (unsigned long long)nsect);
    /* The backup boot sector at sector nsect must be inside the partition. */
    if (vol_end > s->len)
        return fsmap_set_full(out, "NTFS volume (%llu bytes with its backup boot sector) is "
                              "larger than its partition (%llu bytes)",
                              (unsigned long long)vol_end, (unsigned long long)s->len);

    ntdev_capture_log();
    dev = ntdev_alloc(&d);
    if (!dev)
        return p2v_errf(err, -ENOMEM, "%s: out of memory", bd_path(s->bd));
    vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY);
    if (!vol) {
        if (d.failed) {
            *err = d.err;
            r = -EIO;
        } else {
            fsmap_set_full(out, "NTFS metadata could not be read (%s)",
                           ntdev_last_msg()[0] ? ntdev_last_msg()
                                               : "libntfs-3g refused the volume");
        }
        goto out;
    }
    dev = NULL; /* the volume owns it now */

    const char *dirty = ntdev_unclean_reason(vol);
    if (d.failed) {
        *err = d.err;
        r = -EIO;
        goto out;
    }
    if (dirty && !o->allow_dirty) {
        r = p2v_errf(err, -EBUSY,
                     "%s: partition at byte %llu: NTFS volume %s; boot Windows and shut it down "
                     "fully (disable Fast Startup, or hold Shift while choosing Shut down, or "
                     "run 'shutdown /s /t 0'), or pass --allow-dirty to copy every sector as it "
                     "is",
                     bd_path(s->bd), (unsigned long long)s->off, dirty);
        goto out;
    }
    out->dirty = dirty != NULL;

    uint64_t cs = vol->cluster_size, cl_end;
    if (__builtin_mul_overflow((uint64_t)vol->nr_clusters, cs, &cl_end) || cl_end > vol_end) {
        fsmap_set_full(out, "NTFS cluster count %lld does not fit the volume",
                       (long long)vol->nr_clusters);
        goto out;
    }
    r = fsmap_add(out, s, 0, bps, err);
    if (r < 0)
        goto out;
    r = ntfs_add_bitmap(vol, s, out, &used, err);
    if (r == 0 && !d.failed) {
        extent_list_normalize(&out->used);
        r = ntfs_check_system_files(vol, out);
    }
    if (d.failed) {
        *err = d.err;
        r = -EIO;
        goto out;
    }
    if (r != 0) {
        r = r < 0 ? r : 0;
        goto out;
    }
    out->used_bytes = used * cs;
    /* Past the last whole cluster: the volume's tail with its backup boot
     * sector, and the partition's last sector. */
    r = fsmap_add(out, s, cl_end, vol_end - cl_end, err);
    uint64_t ss = bd_sector_size(s->bd);
    if (r == 0 && s->len >= ss)
        r = fsmap_add(out, s, s->len - ss, ss, err);
    if (r == 0 && dirty) {
        fsmap_set_full(out, "NTFS volume %s (--allow-dirty)", dirty);
    }
out:
    if (vol)
        ntfs_umount(vol, FALSE);
    if (dev) {
        if (NDevOpen(dev))
            dev->d_ops->close(dev);
        ntfs_device_free(dev);
    }
    return r;
}
