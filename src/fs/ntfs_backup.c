/* Where an NTFS volume keeps a copy of its boot sector, for a partition
 * whose first sector is lost (an unreadable sector read as zeros): the
 * partition's last sector (the sector after the volume's, which Windows
 * since NT 5 and mkntfs use), or, as NT4 left it, the cluster in the middle
 * of the volume (ntfsresize finds it at cluster nr_clusters / 2). A
 * candidate counts only when its own fields put it where it was found. */
#include <errno.h>
#include <string.h>

#include "fs/bpb.h"
#include "fs/driver.h"

/* Is the sector at byte at of a len-byte partition a backup boot sector
 * that its own fields place there? */
static bool backup_here(const uint8_t *sec, uint64_t at, uint64_t len)
{
    bpb b;
    bpb_read(sec, BPB_SECTOR, &b);
    if (b.kind != BPB_NTFS || b.total_sectors == 0 || b.sectors_per_cluster == 0 ||
        b.total_sectors > len / b.bytes_per_sector - 1)
        return false;
    uint64_t bps = b.bytes_per_sector, clusters = b.total_sectors / b.sectors_per_cluster;
    return at == (len / bps - 1) * bps || at == clusters / 2 * b.sectors_per_cluster * bps;
}

static int try_at(const fsmap_src *s, uint64_t at, uint8_t *sec, size_t cap, size_t *got,
                  p2v_err *err)
{
    if (at + BPB_SECTOR > s->len)
        return -ENOENT;
    int r = fsmap_read(s, sec, BPB_SECTOR, at, err);
    if (r < 0)
        return r;
    if (!backup_here(sec, at, s->len))
        return -ENOENT;
    bpb b;
    bpb_read(sec, BPB_SECTOR, &b);
    *got = b.bytes_per_sector < cap ? b.bytes_per_sector : cap;
    return *got > BPB_SECTOR ? fsmap_read(s, sec, *got, at, err) : 0;
}

int fs_ntfs_backup_boot(const fsmap_src *s, uint8_t *sec, size_t cap, size_t *got,
                        p2v_err *err)
{
    if (cap < BPB_SECTOR)
        return -EINVAL;
    for (uint64_t bps = 512; bps <= 4096; bps *= 2) {
        int r = try_at(s, (s->len / bps - 1) * bps, sec, cap, got, err);
        if (r != -ENOENT)
            return r;
    }
    for (uint64_t bps = 512; bps <= 4096; bps *= 2)
        for (uint64_t spc = 1; spc <= 128; spc *= 2) {
            uint64_t clusters = (s->len / bps - 1) / spc;
            int r = try_at(s, clusters / 2 * spc * bps, sec, cap, got, err);
            if (r != -ENOENT)
                return r;
        }
    return -ENOENT;
}
