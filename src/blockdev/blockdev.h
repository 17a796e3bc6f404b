/* The read-only source interface. A blockdev is a disk seen as bytes: a block
 * device, a raw image file, memory, a view over another blockdev, or
 * (through backends registered above this layer, src/source/) an image
 * format or a network export. Nothing here ever opens a source for writing. */
#ifndef P2V_BLOCKDEV_H
#define P2V_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/extent.h"

typedef struct blockdev blockdev;

/* Open PATH read-only as raw bytes, whatever it contains. Errors name the
 * path: missing, directory, character device, not readable. Image formats
 * (qcow2, VHD, NBD exports...) are opened through src/source/
 * (source_open), which detects them and uses this for the file itself. */
int bd_open_raw(const char *path, blockdev **out, p2v_err *err);
/* Show only the first size bytes of a raw file or device and report format
 * as its bd_format (a static string): a fixed VHD is its data before the
 * footer. -EINVAL when size is 0 or larger than the device. */
int bd_limit(blockdev *bd, uint64_t size, const char *format, p2v_err *err);
/* A blockdev over a caller-owned buffer (tests and fuzzers); the buffer must
 * outlive the blockdev. sector_size is what bd_sector_size() will report. */
int bd_open_mem(const uint8_t *buf, size_t len, uint32_t sector_size, const char *name,
                blockdev **out, p2v_err *err);

/* Fault injection for tests: a blockdev reading through inner (which must
 * outlive it) whose reads fail with -EIO, like a disk's bad sectors, whenever
 * they touch a byte of bad (byte extents, copied). The message names the
 * first bad byte's offset and sector. bd_faulty_reads counts its reads. */
int bd_open_faulty(blockdev *inner, const extent_list *bad, blockdev **out, p2v_err *err);
uint64_t bd_faulty_reads(const blockdev *bd);
/* A blockdev reading through inner (which must outlive it) that returns zeros
 * for the byte extents of `zeros` without reading them: a source seen as its
 * copy will be once its bad sectors are written as zeros. */
int bd_open_masked(blockdev *inner, const extent_list *zeros, blockdev **out, p2v_err *err);

/* Read exactly len bytes at off. Reading past the end is an error naming the
 * device and offset; short reads and EINTR are retried. 0 or negative errno. */
int bd_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err);

uint64_t bd_size(const blockdev *bd);
uint32_t bd_sector_size(const blockdev *bd);
const char *bd_path(const blockdev *bd);
/* "raw", or the format of the backend ("qcow2", "vpc" for a fixed VHD, "nbd") */
const char *bd_format(const blockdev *bd);
/* Identity of the underlying file or device, to refuse writing over a source. */
bool bd_is_block_device(const blockdev *bd);
dev_t bd_st_dev(const blockdev *bd);
ino_t bd_st_ino(const blockdev *bd);
dev_t bd_st_rdev(const blockdev *bd);
/* The next layer behind bd: the backing file of a qcow2 image (itself a
 * blockdev whose bd_st_dev/bd_st_ino/bd_path are those of the file opened),
 * else NULL. Walk it to list every file a source reads from. */
const blockdev *bd_backing(const blockdev *bd);
/* Override the logical sector size (e.g. an image of a 4Kn disk); call it
 * before ptable_read. The caller checks bd_sector_size_valid() first. After
 * it, bd_sector_size_is_default() is false, so ptable_read does not guess. */
void bd_set_sector_size(blockdev *bd, uint32_t sector_size);
/* True while the sector size is only the 512-byte default of an image file:
 * neither reported by the kernel (BLKSSZGET) nor set by bd_set_sector_size. */
bool bd_sector_size_is_default(const blockdev *bd);
/* A valid logical sector size: a power of two from 512 to 65536. */
bool bd_sector_size_valid(uint64_t sector_size);
/* The file descriptor of a raw file, fixed VHD or block device backend (file
 * offsets equal disk offsets), else -1 (memory,
 * qcow2...). Read-only; for probes such as libblkid that want an fd. */
int bd_raw_fd(const blockdev *bd);

/* Where a disk's bytes are: a whole block device (is_blk, dev = its st_rdev)
 * or a regular file (dev, ino), from offset, for size bytes (UINT64_MAX:
 * to the end). Partition devices resolve to their disk plus their start,
 * loop devices to their backing file (or device) plus their offset, through
 * /sys/dev/block. */
typedef struct bd_place {
    bool is_blk;
    dev_t dev;
    ino_t ino;
    uint64_t offset;
    uint64_t size;
} bd_place;
void bd_place_of_rdev(dev_t rdev, bd_place *p);
void bd_place_of(const blockdev *bd, bd_place *p);
/* 0, or -errno (missing), -ENODEV (neither block device nor regular file). */
int bd_place_of_path(const char *path, bd_place *p);
/* Do [aoff, aoff + alen) of a and [boff, boff + blen) of b share a byte? */
bool bd_place_overlap(const bd_place *a, uint64_t aoff, uint64_t alen, const bd_place *b,
                      uint64_t boff, uint64_t blen);

/* One line of /proc/self/mountinfo (proc(5)). */
typedef struct bd_mountinfo {
    unsigned major, minor;  /* st_dev of the mounted filesystem (0:N: no block device) */
    char point[512];        /* mount point, \ooo escapes decoded */
    char fstype[64];        /* the kernel's name: ext4, fuseblk... */
    char source[512];       /* "/dev/sdb2", "/dev/loop0", an image file, or a name */
    bool ro;                /* mounted read-only (mount or superblock option "ro") */
} bd_mountinfo;
/* The next entry of mountinfo text (text[*pos..len)): 1 and *e filled, 0 at
 * the end. Lines that do not parse are skipped. Pure over untrusted bytes. */
int bd_mountinfo_next(const char *text, size_t len, size_t *pos, bd_mountinfo *e);
/* Is a filesystem mounted on bytes [off, off + len) of bd (a partition:
 * off, len; the whole disk: 0, UINT64_MAX), or on the whole disk? Looks at
 * /proc/self/mountinfo: each entry's device, and its source when that is a
 * block device or a file (FUSE mounts such as ntfs-3g have no device of
 * their own). 1 with *hit filled (a read-write mount first), 0 when none,
 * or a negative code when mountinfo cannot be read. */
int bd_find_mount(const blockdev *bd, uint64_t off, uint64_t len, bd_mountinfo *hit, p2v_err *err);

void bd_close(blockdev *bd);

/* The disks of this machine (/dev/NAME for every whole disk under /sys/block
 * and every loop device with a backing file), in version order. Free with
 * bd_list_free. */
int bd_list_machine_disks(char ***paths, size_t *count, p2v_err *err);
void bd_list_free(char **paths, size_t count);

#endif
