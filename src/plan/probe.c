#include "plan/probe.h"

#include <blkid.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs/relocate.h"
#include "util/endian.h"

static void copy_trimmed(char *dst, size_t dlen, const uint8_t *src, size_t slen)
{
    while (slen > 0 && (src[slen - 1] == ' ' || src[slen - 1] == 0))
        slen--;
    if (slen >= dlen)
        slen = dlen - 1;
    memcpy(dst, src, slen);
    dst[slen] = '\0';
}

/* Raw sources: libblkid probes the partition's range of the file or device. */
static int probe_blkid(blockdev *bd, uint64_t offset, uint64_t len, char fstype[16],
                       char label[64])
{
    int fd = open(bd_path(bd), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = -1;
    blkid_probe pr = blkid_new_probe();
    if (pr && blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)len) == 0) {
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
        if (blkid_do_safeprobe(pr) == 0) {
            const char *v = NULL;
            if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
                snprintf(fstype, 16, "%s", v);
            if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
                snprintf(label, 64, "%s", v);
        }
        r = 0;
    }
    if (pr)
        blkid_free_probe(pr);
    close(fd);
    return r;
}

/* Other sources (qcow2): what the boot sector or ext superblock says. */
static void probe_own(blockdev *bd, uint64_t offset, uint64_t len, char fstype[16], char label[64])
{
    uint8_t b[2048];
    if (len < sizeof b || bd_pread(bd, b, sizeof b, offset, NULL) < 0)
        return;
    reloc_info info;
    reloc_probe(b, sizeof b, &info);
    if (info.fs == RELOC_FS_NTFS) {
        snprintf(fstype, 16, "ntfs");
    } else if (info.fs != RELOC_FS_NONE) {
        snprintf(fstype, 16, "vfat");
        const uint8_t *l = b + (info.fs == RELOC_FS_FAT32 ? 0x47 : 0x2B);
        if (memcmp(l, "NO NAME    ", 11) != 0)
            copy_trimmed(label, 64, l, 11);
    } else if (get_le16(b + 1024 + 0x38) == 0xEF53) {
        uint32_t compat = get_le32(b + 1024 + 0x5C), incompat = get_le32(b + 1024 + 0x60);
        snprintf(fstype, 16, "%s", (incompat & 0x40) ? "ext4" : (compat & 0x4) ? "ext3" : "ext2");
        copy_trimmed(label, 64, b + 1024 + 0x78, 16);
    }
}

void plan_probe_fs(blockdev *bd, uint64_t offset, uint64_t len, char fstype[16], char label[64])
{
    fstype[0] = label[0] = '\0';
    if (!strcmp(bd_format(bd), "raw") && probe_blkid(bd, offset, len, fstype, label) == 0)
        return;
    probe_own(bd, offset, len, fstype, label);
}
