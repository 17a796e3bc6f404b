#include "fs/probe.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fs/bpb.h"
#include "fs/driver.h"
#include "fs/fsmap.h"
#include "util/endian.h"
#include "util/io.h"

#define PROBE_HEAD (8u << 20)
#define PROBE_TAIL (1u << 20)

/* Copy [off + from, off + from + n) of bd into fd at from. */
static int copy_to_memfd(blockdev *bd, int fd, uint64_t off, uint64_t from, uint64_t n, p2v_err *err)
{
    uint8_t *buf = malloc(n ? n : 1);
    int r = 0;
    if (!buf)
        return p2v_errf(err, -ENOMEM, "out of memory");
    if ((r = bd_pread(bd, buf, n, off + from, err)) < 0)
        goto out;
    size_t done;
    if ((r = pwrite_full(fd, buf, n, from, &done)) < 0)
        r = p2v_errf(err, r, "probe buffer: %s", strerror(-r));
out:
    free(buf);
    return r;
}

/* A sparse memfd holding the head and tail of the range. */
static int probe_memfd(blockdev *bd, uint64_t off, uint64_t *lenp, int *out, p2v_err *err)
{
    uint64_t len = *lenp;
    int fd = memfd_create("p2v-probe", MFD_CLOEXEC), r;
    if (fd < 0)
        return p2v_errf(err, -errno, "memfd_create: %s", strerror(errno));
    if (len > INT64_MAX || ftruncate(fd, (off_t)len) < 0) {
        /* No room for a sparse file that large: probe the head alone. */
        len = len < PROBE_HEAD ? len : PROBE_HEAD;
        if (ftruncate(fd, (off_t)len) < 0) {
            r = p2v_errf(err, -errno, "probe buffer of %llu bytes: %s", (unsigned long long)len,
                         strerror(errno));
            goto out;
        }
    }
    uint64_t head = len < PROBE_HEAD ? len : PROBE_HEAD;
    if ((r = copy_to_memfd(bd, fd, off, 0, head, err)) < 0)
        goto out;
    if (len > head) {
        uint64_t tail_from = len - (len - head < PROBE_TAIL ? len - head : PROBE_TAIL);
        if ((r = copy_to_memfd(bd, fd, off, tail_from, len - tail_from, err)) < 0)
            goto out;
    }
    *out = fd;
    *lenp = len;
    return 0;
out:
    close(fd);
    return r;
}

static void copy_value(blkid_probe pr, const char *name, char *dst, size_t dstlen)
{
    const char *v = NULL;
    if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
        snprintf(dst, dstlen, "%s", v);
}

static int probe_range(blockdev *bd, uint64_t off, uint64_t len, struct fs_identity *out,
                       p2v_err *err)
{
    blkid_probe pr = NULL;
    int memfd = -1, r;
    uint8_t head[16]; /* enough for the OEM name */

    memset(out, 0, sizeof *out);
    if (len >= sizeof head) {
        if ((r = bd_pread(bd, head, sizeof head, off, err)) < 0)
            return r;
        if (bpb_oem_is(head, BPB_OEM_BITLOCKER)) {
            out->bitlocker = true;
            snprintf(out->type, sizeof out->type, "bitlocker");
            return 0;
        }
    }
    if (len == 0)
        return 0;
    int fd = bd_raw_fd(bd);
    if (fd < 0) {
        if ((r = probe_memfd(bd, off, &len, &memfd, err)) < 0)
            return r;
        fd = memfd;
        off = 0;
    }
    if (!(pr = blkid_new_probe())) {
        r = p2v_errf_at(err, -ENOMEM, bd_path(bd), "libblkid: cannot create a probe");
        goto out;
    }
    if (blkid_probe_set_device(pr, fd, (blkid_loff_t)off, (blkid_loff_t)len) < 0) {
        r = p2v_errf_at(err, -EIO, bd_path(bd), "libblkid cannot probe bytes %llu-%llu",
                        (unsigned long long)off, (unsigned long long)(off + len - 1));
        goto out;
    }
    blkid_probe_enable_partitions(pr, 0);
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID);
    int rc = blkid_do_safeprobe(pr);
    if (rc == 0) {
        copy_value(pr, "TYPE", out->type, sizeof out->type);
        copy_value(pr, "LABEL", out->label, sizeof out->label);
        copy_value(pr, "UUID", out->uuid, sizeof out->uuid);
        if (!strcmp(out->type, "BitLocker")) {
            out->bitlocker = true;
            snprintf(out->type, sizeof out->type, "bitlocker");
        }
    } else if (rc == -2) {
        out->ambivalent = true;
    }
    r = 0;
out:
    if (pr)
        blkid_free_probe(pr);
    if (memfd >= 0)
        close(memfd);
    return r;
}

int fs_probe(blockdev *bd, uint64_t off, uint64_t len, struct fs_identity *out, p2v_err *err)
{
    int r = probe_range(bd, off, len, out, err);
    if (r == 0)
        out->kind = fs_kind_of(out->type);
    if (r < 0 && err) {
        if (off == 0 && len == bd_size(bd))
            p2v_err_name(err, r, bd_path(bd)); /* the whole disk: "<path>: <what>" */
        else
            fsmap_err_locate(err, bd_path(bd), off);
    }
    return r;
}

/* A FAT12/16/32 BPB written for ss-byte sectors (looser in the jump, stricter
 * in the sizes than the FAT row's probe: it must name ss). */
static bool fat_bpb_for(const uint8_t *b, size_t n, uint32_t ss)
{
    bpb p;
    bpb_read(b, n, &p);
    uint32_t spc = p.sectors_per_cluster;
    return bpb_has_jump(b, false) && p.bytes_per_sector == ss && spc != 0 &&
           (spc & (spc - 1)) == 0 && p.reserved_sectors != 0 && (p.num_fats == 1 || p.num_fats == 2);
}

bool fs_laid_out_for(const uint8_t *b, size_t n, uint32_t ss)
{
    if (n >= BPB_SECTOR && bpb_has_signature(b)) {
        if (fs_driver_ntfs.probe(b, n)) {
            bpb p;
            bpb_read(b, n, &p);
            return p.bytes_per_sector == ss;
        }
        if (fs_driver_exfat.probe(b, n))
            return bpb_exfat_sector_size(b) == ss;
        if (fat_bpb_for(b, n, ss))
            return true;
    }
    /* ext2/3/4, and block group 0's superblock: the backup superblocks
     * record their group (s_block_group_nr), and with 1 KiB blocks one can
     * sit where the volume would start at the other sector size (group 7 of
     * 1024 blocks at 8 MiB + 1 KiB for a volume at 1 MiB). */
    if (n >= 1024 + 92 && fs_driver_ext.probe(b, n))
        return get_le16(b + 1024 + 90) == 0;
    if (fs_driver_xfs.probe(b, n) || fs_driver_luks.probe(b, n))
        return true;
    /* swap with 4 KiB pages */
    return n >= 4096 && (!memcmp(b + 4086, "SWAPSPACE2", 10) || !memcmp(b + 4086, "SWAP-SPACE", 10));
}
