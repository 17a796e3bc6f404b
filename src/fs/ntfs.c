/* Longer than 600 lines on purpose: the used map, the runlist cross-check, the system files left
 * out and the files-at lookup share one mounted volume. */
/* NTFS used-block map through libntfs-3g, reading through p2v's own blockdev
 * (custom device operations, so a qcow2 source works like a raw disk). Used:
 * every cluster set in $Bitmap, the boot sector, and what lies past the last
 * whole cluster: the rest of the volume and its backup boot sector, and the
 * partition's last sector. Cross-checks: $Bitmap's size against the cluster
 * count, every cluster of the system files (MFT records 0-15) must be
 * marked in use, and so must every run of every MFT record in use
 * (ntfs_runs.c). A dirty volume, an unclean $LogFile or a hibernation file in
 * use (Windows Fast Startup) stops the copy unless allow_dirty; with it the
 * volume is copied whole, since Windows' journal replay may need clusters
 * that $Bitmap still shows free. With skip_system_files, the data clusters
 * of pagefile.sys, swapfile.sys and hiberfil.sys in the root are left out
 * (never a cluster of the system files, MFT records 0-15). */
#include <errno.h>
#include <stddef.h>
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
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "fs/bpb.h"
#include "fs/driver.h"
#include "fs/fsmap_impl.h"
#include "fs/ntfs_dev.h"
#include "fs/ntfs_runs.h"
#include "fs/resize_impl.h"
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
        return p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
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

/* ---- Windows' page, swap and hibernation files ---- */

/* Windows recreates these at boot (docs/fsmap.md); their contents are of no
 * use in the image. */
static const char *const ntfs_sysfile_names[FS_SYSFILES_MAX] = { "pagefile.sys",
                                                                  "swapfile.sys",
                                                                  "hiberfil.sys" };

/* The clusters of run list rl, as bytes, into l. 0; 1 when a run leaves the
 * volume (the run list is not to be trusted); -ENOMEM. */
static int ntfs_runs_add(ntfs_volume *vol, const runlist_element *rl, extent_list *l)
{
    uint64_t cs = vol->cluster_size, start, len;
    for (const runlist_element *e = rl; e && e->length; e++) {
        if (e->lcn < 0)
            continue; /* sparse or unmapped */
        if (e->length < 0 || e->lcn > vol->nr_clusters || e->length > vol->nr_clusters - e->lcn ||
            __builtin_mul_overflow((uint64_t)e->lcn, cs, &start) ||
            __builtin_mul_overflow((uint64_t)e->length, cs, &len))
            return 1;
        if (extent_list_add(l, start, len) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Every cluster of every non-resident attribute of MFT records 0-15 ($MFT,
 * $LogFile, $Bitmap, the root index…) into l: never left out, whatever a
 * damaged run list of another file claims. 0 or -ENOMEM. */
static int ntfs_metadata_runs(ntfs_volume *vol, extent_list *l)
{
    int r = 0;
    for (u64 mref = 0; mref < FILE_first_user && r >= 0; mref++) {
        ntfs_inode *ni = ntfs_inode_open(vol, mref);
        ntfs_attr_search_ctx *ctx = ni ? ntfs_attr_get_search_ctx(ni, NULL) : NULL;
        while (ctx && r >= 0 && !ntfs_attrs_walk(ctx)) {
            if (!ctx->attr->non_resident)
                continue;
            runlist_element *rl = ntfs_mapping_pairs_decompress(vol, ctx->attr, NULL);
            r = ntfs_runs_add(vol, rl, l);
            free(rl);
        }
        if (ctx)
            ntfs_attr_put_search_ctx(ctx);
        if (ni)
            ntfs_inode_close(ni);
    }
    return r < 0 ? r : 0;
}

/* The clusters (bytes) of the unnamed data stream of the root's file `name`
 * into l, and its size. 0 found (l stays empty for resident data); 1 when it
 * is not there, not a plain file, or its run list cannot be trusted (then
 * it is copied like any file); -ENOMEM. */
static int ntfs_sysfile_runs(ntfs_volume *vol, const char *name, extent_list *l, uint64_t *size)
{
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, name);
    ntfs_attr *na = NULL;
    int r = 1;
    if (!ni)
        return 1;
    if ((ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) || (ni->flags & FILE_ATTR_REPARSE_POINT) ||
        ni->mrec->base_mft_record)
        goto out;
    na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (!na || na->data_size < 0)
        goto out;
    *size = (uint64_t)na->data_size;
    r = 0;
    if (NAttrNonResident(na))
        r = ntfs_attr_map_whole_runlist(na) ? 1 : ntfs_runs_add(vol, na->rl, l);
out:
    if (na)
        ntfs_attr_close(na);
    ntfs_inode_close(ni);
    if (r == 1)
        extent_list_free(l);
    return r;
}

/* The page, swap and hibernation files of vol's root into out, their
 * clusters (bytes, normalized, without any metadata cluster) into cut.
 * 0 or -ENOMEM. */
static int ntfs_find_sysfiles(ntfs_volume *vol, fs_sysfiles *out, extent_list *cut)
{
    extent_list keep = { 0 };
    int r = ntfs_metadata_runs(vol, &keep);
    memset(out, 0, sizeof *out);
    extent_list_normalize(&keep);
    for (size_t i = 0; r >= 0 && i < FS_SYSFILES_MAX; i++) {
        extent_list l = { 0 };
        uint64_t size = 0;
        r = ntfs_sysfile_runs(vol, ntfs_sysfile_names[i], &l, &size);
        if (r == 0) {
            extent_list_normalize(&l);
            r = extent_list_subtract(&l, &keep);
        }
        if (r == 0) {
            fs_sysfile *f = &out->v[out->n++];
            snprintf(f->name, sizeof f->name, "%s", ntfs_sysfile_names[i]);
            f->size = size;
            f->bytes = extent_list_bytes(&l);
            out->bytes += f->bytes;
            for (size_t k = 0; k < l.count && r == 0; k++)
                r = extent_list_add(cut, l.v[k].start, l.v[k].len);
        }
        extent_list_free(&l);
        r = r == 1 ? 0 : r;
    }
    extent_list_free(&keep);
    extent_list_normalize(cut);
    return r;
}

/* Leave the page, swap and hibernation files' clusters out of the map (which
 * is normalized); out->skipped says which and how many bytes went. 0, or
 * -ENOMEM with a message. */
static int ntfs_skip_system_files(ntfs_volume *vol, const fsmap_src *s, fsmap *out, p2v_err *err)
{
    extent_list cut = { 0 };
    int r = ntfs_find_sysfiles(vol, &out->skipped, &cut);
    uint64_t before = extent_list_bytes(&out->used);
    if (r == 0)
        r = extent_list_subtract(&out->used, &cut);
    extent_list_free(&cut);
    if (r < 0) {
        memset(&out->skipped, 0, sizeof out->skipped);
        return p2v_errf_at(err, r, bd_path(s->bd), "out of memory");
    }
    out->skipped.bytes = before - extent_list_bytes(&out->used);
    return 0;
}

/* Every runlist of every MFT record in use must lie in the map: $Bitmap
 * alone may have lost a file's clusters (a crash, a broken tool), and a map
 * taken from it would copy that file as zeros. 0, or 1 (notice set). An
 * MFT record on a bad sector is skipped: the map stands (the used copy
 * reads that record too and meets the bad sector there, where
 * --bad-sectors decides), so the read error is forgotten here. */
static int ntfs_check_runlists(ntfs_volume *vol, struct ntdev *d, fsmap *out)
{
    char why[sizeof out->notice];
    uint64_t skipped = 0;
    int failed = d->failed;
    int r = ntruns_check(vol, &out->used, &skipped, why, sizeof why);
    if (!failed)    /* a failed large read is retried record by record */
        d->failed = 0;
    if (r == 0)
        return 0;
    fsmap_set_full(out, "%s", why);
    return 1;
}

static int fsmap_build_ntfs(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err)
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
    bpb b;
    bpb_read(bs, sizeof bs, &b);
    uint32_t bps = b.bytes_per_sector;
    uint64_t nsect = b.total_sectors, vol_end;
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
        return p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
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
        r = fsmap_errf(err, -EBUSY, bd_path(s->bd), s->off,
                       "NTFS volume %s; boot Windows and shut it down fully (disable Fast "
                       "Startup, or hold Shift while choosing Shut down, or run 'shutdown /s /t "
                       "0'), or pass --allow-dirty to copy every sector as it is", dirty);
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
        if (r == 0 && !d.failed)
            r = ntfs_check_runlists(vol, &d, out);
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
    } else if (r == 0 && o->skip_system_files) {
        extent_list_normalize(&out->used);
        r = ntfs_skip_system_files(vol, s, out, err);
        if (r == 0 && d.failed) {
            *err = d.err;
            r = -EIO;
        }
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

/* ---- which files lie in given clusters ---- */

/* The volume of s read-only through d (which must stay in place while it is
 * mounted). 0, or a negative code with a message. */
static int ntfs_mount_ro(const fsmap_src *s, struct ntdev *d, ntfs_volume **vol, p2v_err *err)
{
    *d = (struct ntdev){ .bd = s->bd, .off = s->off, .len = s->len };
    ntdev_capture_log();
    struct ntfs_device *dev = ntdev_alloc(d);
    if (!dev)
        return p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
    *vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY);
    if (*vol)
        return 0;
    if (NDevOpen(dev))
        dev->d_ops->close(dev);
    ntfs_device_free(dev);
    if (d->failed) {
        *err = d->err;
        return -EIO;
    }
    return p2v_errf(err, -EINVAL, "NTFS metadata could not be read (%s)",
                    ntdev_last_msg()[0] ? ntdev_last_msg() : "libntfs-3g refused the volume");
}

/* The name of record mref in its parent directory (a Win32 or POSIX name
 * before a DOS 8.3 one), malloc'ed, and the parent's record number. */
static char *ntfs_name_in_parent(ntfs_volume *vol, u64 mref, u64 *parent)
{
    char *name = NULL;
    ntfs_inode *ni = ntfs_inode_open(vol, mref);
    ntfs_attr_search_ctx *ctx = ni ? ntfs_attr_get_search_ctx(ni, NULL) : NULL;
    while (ctx && !ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
        ATTR_RECORD *a = ctx->attr;
        if (a->non_resident || le32_to_cpu(a->value_length) < sizeof(FILE_NAME_ATTR))
            continue;
        FILE_NAME_ATTR *fn = (FILE_NAME_ATTR *)((u8 *)a + le16_to_cpu(a->value_offset));
        if (name && fn->file_name_type == FILE_NAME_DOS)
            continue;
        char *mbs = NULL;
        ntfschar uname[256]; /* the name, copied out of the packed record */
        uint32_t vlen = le32_to_cpu(a->value_length), nlen = fn->file_name_length;
        if (offsetof(FILE_NAME_ATTR, file_name) + nlen * sizeof(ntfschar) > vlen)
            continue;
        memcpy(uname, (const u8 *)fn + offsetof(FILE_NAME_ATTR, file_name), nlen * sizeof(ntfschar));
        if (ntfs_ucstombs(uname, (int)nlen, &mbs, 0) < 0)
            continue;
        free(name);
        name = mbs;
        *parent = MREF_LE(fn->parent_directory);
        if (fn->file_name_type != FILE_NAME_DOS)
            break;
    }
    if (ctx)
        ntfs_attr_put_search_ctx(ctx);
    if (ni)
        ntfs_inode_close(ni);
    return name;
}

/* "/dir/file" of record mref into out; "MFT record N" when a record on the
 * way cannot be read. */
static void ntfs_path_of(ntfs_volume *vol, u64 mref, char *out, size_t cap)
{
    char *parts[64];
    size_t n = 0, used = 0;
    u64 cur = mref;
    bool ok = true;
    while (cur != FILE_root && ok) {
        u64 parent = cur;
        char *name = n < 64 ? ntfs_name_in_parent(vol, cur, &parent) : NULL;
        ok = name && parent != cur;
        if (name)
            parts[n++] = name;
        cur = parent;
    }
    if (!ok || n == 0)
        snprintf(out, cap, mref == FILE_root ? "/" : "MFT record %llu", (unsigned long long)mref);
    for (size_t i = n; ok && i-- > 0;)
        used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "/%s", parts[i]);
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
}

/* Does a run of the non-resident attribute a lie in bad? */
static bool ntfs_attr_in(ntfs_volume *vol, ATTR_RECORD *a, const extent_list *bad)
{
    uint64_t cs = vol->cluster_size, start, len;
    bool hit = false;
    runlist_element *rl = ntfs_mapping_pairs_decompress(vol, a, NULL);
    for (runlist_element *e = rl; e && e->length && !hit; e++)
        if (e->lcn >= 0 && e->length > 0 &&
            !__builtin_mul_overflow((uint64_t)e->lcn, cs, &start) &&
            !__builtin_mul_overflow((uint64_t)e->length, cs, &len))
            hit = fs_extents_touch(bad, start, len);
    free(rl);
    return hit;
}

/* Does MFT record mref itself lie in bad? */
static bool ntfs_record_in(ntfs_volume *vol, u64 mref, const extent_list *bad)
{
    uint64_t cs = vol->cluster_size, rs = vol->mft_record_size;
    for (uint64_t off = mref * rs, end = off + rs; off < end;) {
        uint64_t piece = cs - off % cs < end - off ? cs - off % cs : end - off;
        LCN lcn = ntfs_attr_vcn_to_lcn(vol->mft_na, (VCN)(off / cs));
        if (lcn >= 0 && fs_extents_touch(bad, (uint64_t)lcn * cs + off % cs, piece))
            return true;
        off += piece;
    }
    return false;
}

/* Names of the attributes of inode ni that lie in bad, added to out. */
static int ntfs_inode_hits(ntfs_volume *vol, ntfs_inode *ni, const extent_list *bad,
                           fs_names *out)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    char path[1024], name[1200];
    bool have_path = false;
    int rc = ctx ? 0 : -ENOMEM;
    while (ctx && rc == 0 && !ntfs_attrs_walk(ctx)) {
        ATTR_RECORD *a = ctx->attr;
        if (!a->non_resident || !ntfs_attr_in(vol, a, bad))
            continue;
        if (!have_path)
            ntfs_path_of(vol, ni->mft_no, path, sizeof path);
        have_path = true;
        char *stream = NULL;
        if (a->type == AT_DATA && a->name_length)
            ntfs_ucstombs((ntfschar *)((u8 *)a + le16_to_cpu(a->name_offset)), a->name_length,
                          &stream, 0);
        snprintf(name, sizeof name, "%s%s%s", path, stream ? ":" : "", stream ? stream : "");
        free(stream);
        rc = fs_names_add(out, name);
    }
    if (ctx)
        ntfs_attr_put_search_ctx(ctx);
    return rc;
}

static int fs_files_ntfs(const fsmap_src *s, const extent_list *bad, fs_names *out, p2v_err *err)
{
    struct ntdev d;
    ntfs_volume *vol = NULL;
    int rc = ntfs_mount_ro(s, &d, &vol, err);
    if (rc < 0)
        return rc;
    uint64_t nrec = (uint64_t)vol->mft_na->initialized_size >> vol->mft_record_size_bits;
    for (u64 mref = 0; mref < nrec && rc == 0; mref++) {
        if (ntfs_record_in(vol, mref, bad)) {
            char name[64];
            snprintf(name, sizeof name, "MFT record %llu", (unsigned long long)mref);
            rc = fs_names_add(out, name);
            continue;
        }
        ntfs_inode *ni = ntfs_inode_open(vol, mref);
        if (!ni)
            continue; /* not in use */
        if (!ni->mrec->base_mft_record)
            rc = ntfs_inode_hits(vol, ni, bad, out);
        ntfs_inode_close(ni);
    }
    if (rc < 0)
        rc = p2v_errf(err, rc, "out of memory");
    else if (d.failed) {
        *err = d.err;
        rc = -EIO;
    }
    ntfs_umount(vol, FALSE);
    return rc;
}

int fs_ntfs_system_files(blockdev *bd, uint64_t part_offset, uint64_t part_len,
                         fs_sysfiles *out, p2v_err *err)
{
    fsmap_src s = { .bd = bd, .off = part_offset, .len = part_len };
    struct ntdev d;
    ntfs_volume *vol = NULL;
    extent_list cut = { 0 };
    memset(out, 0, sizeof *out);
    int rc = ntfs_mount_ro(&s, &d, &vol, err);
    if (rc < 0)
        return rc == -EINVAL ? 0 : rc; /* not mountable: its map copies it whole */
    /* An unclean volume is refused or copied whole: nothing is left out. */
    if (!ntdev_unclean_reason(vol))
        rc = ntfs_find_sysfiles(vol, out, &cut);
    extent_list_free(&cut);
    if (rc < 0)
        rc = p2v_errf_at(err, rc, bd_path(bd), "out of memory");
    else if (d.failed) {
        *err = d.err;
        rc = -EIO;
    }
    if (rc < 0)
        memset(out, 0, sizeof *out);
    ntfs_umount(vol, FALSE);
    return rc;
}

static bool ntfs_probe(const uint8_t *head, size_t n)
{
    return n >= BPB_SECTOR && bpb_oem_is(head, BPB_OEM_NTFS);
}

const struct fs_driver fs_driver_ntfs = {
    .name = "ntfs",
    .kind = FS_NTFS,
    .blkid_type = "ntfs",
    .probe = ntfs_probe,
    .map = fsmap_build_ntfs,
    .files_at = fs_files_ntfs,
    .resize_check = fsresize_ntfs_check,
    .resize_apply = fsresize_ntfs_fit,
    .resize_min = fsresize_ntfs_min,
    .vol = &fs_vol_ops_ntfs,
    .backup_boot = fs_ntfs_backup_boot,
};
