/* The read-only source interface. A blockdev is a disk seen as bytes: a block
 * device, a raw image file, or (through its own backend) a qcow2 image.
 * Nothing here ever opens a source for writing. */
#ifndef P2V_BLOCKDEV_H
#define P2V_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct blockdev blockdev;

/* Open PATH read-only, detecting the format (raw or qcow2 by its magic).
 * Errors name the path: missing, directory, character device, not readable. */
int bd_open(const char *path, blockdev **out, p2v_err *err);
/* Open PATH read-only as raw bytes, whatever it contains. */
int bd_open_raw(const char *path, blockdev **out, p2v_err *err);
/* A blockdev over a caller-owned buffer (tests and fuzzers); the buffer must
 * outlive the blockdev. sector_size is what bd_sector_size() will report. */
int bd_open_mem(const uint8_t *buf, size_t len, uint32_t sector_size, const char *name,
                blockdev **out, p2v_err *err);

/* Read exactly len bytes at off. Reading past the end is an error naming the
 * device and offset; short reads and EINTR are retried. 0 or negative errno. */
int bd_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err);

uint64_t bd_size(const blockdev *bd);
uint32_t bd_sector_size(const blockdev *bd);
const char *bd_path(const blockdev *bd);
/* "raw" or "qcow2" */
const char *bd_format(const blockdev *bd);
/* Identity of the underlying file or device, to refuse writing over a source. */
bool bd_is_block_device(const blockdev *bd);
dev_t bd_st_dev(const blockdev *bd);
ino_t bd_st_ino(const blockdev *bd);
dev_t bd_st_rdev(const blockdev *bd);
/* Override the logical sector size (e.g. an image of a 4Kn disk). */
void bd_set_sector_size(blockdev *bd, uint32_t sector_size);
/* True while the sector size is only the 512-byte default of an image file:
 * neither reported by the kernel (BLKSSZGET) nor set by bd_set_sector_size. */
bool bd_sector_size_is_default(const blockdev *bd);
/* A valid logical sector size: a power of two from 512 to 65536. */
bool bd_sector_size_valid(uint64_t sector_size);
/* The file descriptor of a raw file or block device backend, else -1 (memory,
 * qcow2...). Read-only; for probes such as libblkid that want an fd. */
int bd_raw_fd(const blockdev *bd);

void bd_close(blockdev *bd);

#endif
