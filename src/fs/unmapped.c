/* Filesystems and containers p2v recognises but cannot look into: their
 * rows name them in the notice of a full copy (every sector is copied). */
#include <string.h>

#include "fs/bpb.h"
#include "fs/driver.h"

static bool bitlocker_probe(const uint8_t *b, size_t n)
{
    return n >= BPB_SECTOR && bpb_oem_is(b, BPB_OEM_BITLOCKER);
}

static bool exfat_probe(const uint8_t *b, size_t n)
{
    return n >= BPB_SECTOR && bpb_oem_is(b, BPB_OEM_EXFAT);
}

static bool xfs_probe(const uint8_t *b, size_t n)
{
    return n >= 4 && !memcmp(b, "XFSB", 4);
}

static bool luks_probe(const uint8_t *b, size_t n)
{
    return n >= 6 && !memcmp(b, "LUKS\xba\xbe", 6);
}

static bool btrfs_probe(const uint8_t *b, size_t n)
{
    return n >= 0x10048 && !memcmp(b + 0x10040, "_BHRfS_M", 8);
}

/* The label sector, first or second. */
static bool lvm_probe(const uint8_t *b, size_t n)
{
    return n >= 0x218 + 8 && (!memcmp(b + 0x218, "LVM2 001", 8) || !memcmp(b + 0x18, "LVM2 001", 8));
}

const struct fs_driver fs_driver_bitlocker = {
    .name = "bitlocker", /* fs_probe's type for it */
    .kind = FS_BITLOCKER,
    .blkid_type = "bitlocker",
    .probe = bitlocker_probe,
    .unmappable = "BitLocker-encrypted volume",
};

/* The row of a volume that has no name of its own for fs_probe: its probe
 * and the notice of the full copy, nothing else. */
#define UNMAPPED_ROW(probe_fn, notice) \
    { .kind = FS_OTHER, .probe = (probe_fn), .unmappable = (notice) }

/* The notice for a filesystem p2v could read but does not. */
#define NOT_SUPPORTED(fs) fs " (not supported for used-block copying)"

const struct fs_driver fs_driver_exfat = UNMAPPED_ROW(exfat_probe, NOT_SUPPORTED("exFAT"));
const struct fs_driver fs_driver_xfs = UNMAPPED_ROW(xfs_probe, NOT_SUPPORTED("XFS"));
const struct fs_driver fs_driver_luks = UNMAPPED_ROW(luks_probe, "LUKS-encrypted volume");
const struct fs_driver fs_driver_btrfs = UNMAPPED_ROW(btrfs_probe, NOT_SUPPORTED("btrfs"));
const struct fs_driver fs_driver_lvm =
    UNMAPPED_ROW(lvm_probe, NOT_SUPPORTED("LVM physical volume"));
