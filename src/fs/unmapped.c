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

const struct fs_driver fs_driver_exfat = {
    .kind = FS_OTHER,
    .probe = exfat_probe,
    .unmappable = "exFAT (not supported for used-block copying)",
};

const struct fs_driver fs_driver_xfs = {
    .kind = FS_OTHER,
    .probe = xfs_probe,
    .unmappable = "XFS (not supported for used-block copying)",
};

const struct fs_driver fs_driver_luks = {
    .kind = FS_OTHER,
    .probe = luks_probe,
    .unmappable = "LUKS-encrypted volume",
};

const struct fs_driver fs_driver_btrfs = {
    .kind = FS_OTHER,
    .probe = btrfs_probe,
    .unmappable = "btrfs (not supported for used-block copying)",
};

const struct fs_driver fs_driver_lvm = {
    .kind = FS_OTHER,
    .probe = lvm_probe,
    .unmappable = "LVM physical volume (not supported for used-block copying)",
};
