/* Every runlist of an NTFS volume against its used-cluster map (ntfs_runs.h).
 * $MFT is read sequentially in large pieces, each record's fixups applied
 * in p2v's buffer, its attributes walked with bounds checks and the mapping
 * pairs decoded by libntfs-3g; each run costs one binary search in the map,
 * so the check reads the MFT once and costs little beside the copy. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include <ntfs-3g/layout.h>
#include <ntfs-3g/mst.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#include "fs/ntfs_runs.h"

#define RUNS_BITMAP_CHUNK (256u * 1024u)
#define RUNS_MFT_CHUNK (1024u * 1024u)

int ntruns_bitmap_extents(ntfs_volume *vol, extent_list *out)
{
    uint64_t nr = (uint64_t)vol->nr_clusters, need = (nr + 7) / 8, cs = vol->cluster_size;
    uint64_t run = 0, in_run = 0;
    uint8_t *buf = malloc(RUNS_BITMAP_CHUNK);
    int r = buf ? 0 : -ENOMEM;
    for (uint64_t pos = 0; r == 0 && pos < need; pos += RUNS_BITMAP_CHUNK) {
        uint64_t len = need - pos < RUNS_BITMAP_CHUNK ? need - pos : RUNS_BITMAP_CHUNK;
        if (ntfs_attr_pread(vol->lcnbmp_na, (s64)pos, (s64)len, buf) != (s64)len) {
            r = -EIO;
            break;
        }
        for (uint64_t b = 0; r == 0 && b < len * 8 && pos * 8 + b < nr; b++) {
            uint8_t byte = buf[b / 8];
            if (b % 8 == 0 && pos * 8 + b + 8 <= nr && byte == (in_run ? 0xff : 0)) {
                in_run += in_run ? 8 : 0;   /* a whole byte that changes nothing */
                b += 7;
                continue;
            }
            bool set = byte & (1u << (b % 8));
            if (set && !in_run++)
                run = pos * 8 + b;
            if (!set && in_run) {
                r = extent_list_add(out, run * cs, in_run * cs);
                in_run = 0;
            }
        }
    }
    if (r == 0 && in_run)
        r = extent_list_add(out, run * cs, in_run * cs);
    free(buf);
    if (r == 0)
        extent_list_normalize(out);
    return r;
}

/* The first byte of [start, start + len) that `used` leaves out, or
 * UINT64_MAX when it covers all of it. */
static uint64_t first_uncovered(const extent_list *used, uint64_t start, uint64_t len)
{
    size_t i = extent_list_first_after(used, start);
    if (i == used->count || used->v[i].start > start)
        return start;   /* no extent holds start */
    uint64_t end = used->v[i].start + used->v[i].len;
    return end >= start + len ? UINT64_MAX : end;
}

struct runs_ctx {
    ntfs_volume *vol;
    const extent_list *used;
    char *why;
    size_t cap;
};

static int runs_why(struct runs_ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int runs_why(struct runs_ctx *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* The runs of one non-resident attribute record. 0 or 1 (why set). */
static int check_attr(struct runs_ctx *c, uint64_t recno, const ATTR_RECORD *a)
{
    ntfs_volume *vol = c->vol;
    uint64_t cs = vol->cluster_size, nr = (uint64_t)vol->nr_clusters;
    unsigned type = (unsigned)le32_to_cpu(a->type);
    runlist_element *rl = ntfs_mapping_pairs_decompress(vol, a, NULL);
    if (!rl)
        return runs_why(c, 1, "NTFS MFT record %llu: the runlist of attribute type 0x%x "
                        "cannot be decoded; run chkdsk /f", (unsigned long long)recno, type);
    int r = 0;
    for (const runlist_element *e = rl; r == 0 && e->length; e++) {
        if (e->lcn < 0)
            continue;   /* a hole, or VCNs another extent record maps */
        if (e->length < 0 || (uint64_t)e->lcn > nr || (uint64_t)e->length > nr - (uint64_t)e->lcn) {
            r = runs_why(c, 1, "NTFS MFT record %llu (attribute type 0x%x) has a run at cluster "
                         "%lld (%lld clusters) outside the volume's %llu clusters; run chkdsk /f",
                         (unsigned long long)recno, type, (long long)e->lcn,
                         (long long)e->length, (unsigned long long)nr);
            break;
        }
        uint64_t gap = first_uncovered(c->used, (uint64_t)e->lcn * cs, (uint64_t)e->length * cs);
        if (gap != UINT64_MAX)
            r = runs_why(c, 1, "NTFS $Bitmap says cluster %llu is free but MFT record %llu uses "
                         "it (attribute type 0x%x); run chkdsk /f",
                         (unsigned long long)(gap / cs), (unsigned long long)recno, type);
    }
    free(rl);
    return r;
}

/* One MFT record as read (fixups not yet applied). 0 or 1 (why set). */
static int check_record(struct runs_ctx *c, uint64_t recno, uint8_t *rec)
{
    uint32_t size = c->vol->mft_record_size;
    MFT_RECORD *m = (MFT_RECORD *)rec;
    if (ntfs_is_baad_recordp(rec))
        return runs_why(c, 1, "NTFS MFT record %llu is marked bad (BAAD); run chkdsk /f",
                        (unsigned long long)recno);
    if (!ntfs_is_file_recordp(rec) || !(m->flags & MFT_RECORD_IN_USE))
        return 0;   /* never used, or freed: its runs are not the volume's */
    if (ntfs_mst_post_read_fixup((NTFS_RECORD *)rec, size) != 0)
        return runs_why(c, 1, "NTFS MFT record %llu is damaged (its update sequence does not "
                        "match); run chkdsk /f", (unsigned long long)recno);
    uint32_t in_use = le32_to_cpu(m->bytes_in_use), off = le16_to_cpu(m->attrs_offset);
    if (in_use > size)
        in_use = size;
    while (off + 4 <= in_use && off % 8 == 0) {
        const ATTR_RECORD *a = (const ATTR_RECORD *)(rec + off);
        if (a->type == AT_END)
            return 0;
        if (off + 16 > in_use)
            break;
        uint32_t alen = le32_to_cpu(a->length);
        if (alen < 16 || alen % 8 || alen > in_use - off)
            break;
        if (a->non_resident) {
            if (alen < 0x40 || le16_to_cpu(a->mapping_pairs_offset) >= alen)
                break;
            int r = check_attr(c, recno, a);
            if (r)
                return r;
        }
        off += alen;
    }
    return runs_why(c, 1, "NTFS MFT record %llu has an attribute record that runs past its end; "
                    "run chkdsk /f", (unsigned long long)recno);
}

int ntruns_check(ntfs_volume *vol, const extent_list *used, uint64_t *skipped, char *why,
                 size_t cap)
{
    *skipped = 0;
    struct runs_ctx c = { .vol = vol, .used = used, .why = why, .cap = cap };
    uint32_t size = vol->mft_record_size;
    uint64_t nrec = (uint64_t)vol->mft_na->initialized_size >> vol->mft_record_size_bits;
    uint64_t per = RUNS_MFT_CHUNK / size ? RUNS_MFT_CHUNK / size : 1;
    uint8_t *buf = malloc(per * size);
    if (!buf)
        return runs_why(&c, -ENOMEM, "out of memory");
    int r = 0;
    for (uint64_t first = 0; r == 0 && first < nrec; first += per) {
        uint64_t n = nrec - first < per ? nrec - first : per;
        bool whole = ntfs_attr_pread(vol->mft_na, (s64)(first * size), (s64)(n * size), buf) ==
                     (s64)(n * size);
        uint64_t unread = *skipped;
        for (uint64_t i = 0; r == 0 && i < n; i++) {
            /* Around a read error, record by record: an unreadable record
             * is skipped (its file is damaged whatever the bitmap says; the
             * copy meets the same bad sector and reports it). */
            if (!whole && ntfs_attr_pread(vol->mft_na, (s64)((first + i) * size), size,
                                          buf + i * size) != (s64)size) {
                *skipped += 1;
                continue;
            }
            r = check_record(&c, first + i, buf + i * size);
        }
        if (*skipped - unread == n) {
            /* Not one record of the piece could be read: the rest of $MFT
             * lies on a dead stretch or past the device, not worth a read
             * per record; what follows stays unverified. */
            *skipped += nrec - first - n;
            break;
        }
    }
    free(buf);
    return r;
}
