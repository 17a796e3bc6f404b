/* Virtual disk files of other hypervisors read as sources: VHD (dynamic and
 * differencing; fixed as a parent), VHDX (incl. differencing) and VMDK
 * (sparse, streamOptimized, flat, split, snapshots). Each format is one file
 * (vhd.c, vhdx.c, vmdk.c) with the same two entry points, so that it is one
 * row of a format table:
 *
 *   probe(buf, len)        does the start of a file (len bytes, any length,
 *                          BD_PROBE_HEAD is enough) carry the format's mark?
 *   open(file, &bd, err)   the image over FILE (the file as raw bytes, whose
 *                          bd_path names it): a read-only blockdev of the
 *                          guest disk. FILE is owned by the result, and
 *                          closed on failure too. Parents (differencing)
 *                          and extent files (VMDK) are found by the names the
 *                          file holds, relative to FILE's directory.
 *
 * Every offset and size read from a file is checked against the file and
 * the format's limits before use; an error names the file and the field. */
#ifndef P2V_VDISK_H
#define P2V_VDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"

bool vhd_probe(const uint8_t *buf, size_t len);
int vhd_open(blockdev *file, blockdev **out, p2v_err *err);
bool vhdx_probe(const uint8_t *buf, size_t len);
int vhdx_open(blockdev *file, blockdev **out, p2v_err *err);
bool vmdk_probe(const uint8_t *buf, size_t len);
int vmdk_open(blockdev *file, blockdev **out, p2v_err *err);

/* The formats as rows: name is qemu's format name ("vpc", "vhdx", "vmdk"). */
struct vdisk_format {
    const char *name;
    bool (*probe)(const uint8_t *buf, size_t len);
    int (*open)(blockdev *file, blockdev **out, p2v_err *err);
};
extern const struct vdisk_format vdisk_formats[];
extern const size_t vdisk_format_count;
/* The row whose probe takes these first bytes of a file, or NULL. */
const struct vdisk_format *vdisk_match(const uint8_t *buf, size_t len);
/* The row of that name (one of vdisk_formats'), or NULL. */
const struct vdisk_format *vdisk_find(const char *name);

/* How a parent or extent file is opened by name: bd_open_raw by default;
 * tests and fuzzers pass their own (no file system). */
typedef int (*vdisk_open_file_fn)(void *opaque, const char *path, blockdev **out, p2v_err *err);
struct vdisk_opts {
    vdisk_open_file_fn open_file; /* NULL: bd_open_raw */
    void *opaque;
};
int vhd_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err);
int vhdx_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err);
int vmdk_open_opts(blockdev *file, const struct vdisk_opts *o, blockdev **out, p2v_err *err);

/* Is bd one of these images (then vdisk_status answers for it)? */
bool vdisk_is(const blockdev *bd);
/* What a guest range of a vdisk blockdev is, in this layer only: the run
 * starting at off (at most max_len bytes, > 0) is data stored in this file
 * at *host_off (has_off), data stored compressed (no offset), zeros stored
 * as such, or not allocated here (then the parent, bd_backing, answers, or
 * it reads as zeros when there is none). */
enum vdisk_kind { VDISK_DATA, VDISK_COMPRESSED, VDISK_ZERO, VDISK_UNALLOCATED };
typedef struct vdisk_extent {
    enum vdisk_kind kind;
    uint64_t len;
    bool has_off;
    uint64_t host_off;
    bool hole; /* VDISK_DATA in a hole of a sparse file: reads as zeros (qemu: zero and data) */
    const char *file; /* VDISK_DATA: the path of the file holding it (a VMDK extent's) */
} vdisk_extent;
int vdisk_status(const blockdev *bd, uint64_t off, uint64_t max_len, vdisk_extent *e,
                 p2v_err *err);
/* The cluster (VHD/VHDX block, VMDK grain) size, for `img info`; 0 when
 * there is none (fixed VHD, flat VMDK). */
uint64_t vdisk_cluster_size(const blockdev *bd);

/* The files this layer of an image reads besides its own file (a VMDK's
 * extent files: two-file, split -s00N), the i-th from 0, each once; NULL
 * past the last, and for anything that is not a vdisk. Parents are not
 * among them: they are layers of their own (bd_backing). The OUTPUT guard
 * walks these, as callers may to know every file an image reads. */
const blockdev *vdisk_extra_file(const blockdev *bd, size_t i);
/* Disk space (st_blocks) of the files this image reads besides its own
 * (extent files), which qemu-img info counts in actual-size; parents not. */
uint64_t vdisk_extra_file_bytes(const blockdev *bd);

/* Little helpers the formats share, exposed for unit tests. */
uint32_t vdisk_crc32c(uint32_t crc, const uint8_t *buf, size_t len);
/* UTF-16 (big_endian or little) of n bytes to UTF-8 in out (NUL-terminated):
 * stops at a NUL unit; 0, or -EILSEQ (unpaired surrogate) / -ENAMETOOLONG. */
int vdisk_utf16_to_utf8(const uint8_t *in, size_t n, bool big_endian, char *out, size_t outlen);
/* A file name from a Windows-style path ("..\\dir\\x.vhd", "C:\\vms\\x.vhd")
 * resolved against the directory of the file at base_path: backslashes become
 * slashes, a leading ".\\" goes; an absolute path stays as it is. 0 or
 * -ENAMETOOLONG. */
int vdisk_resolve(const char *base_path, const char *name, char *out, size_t outlen);

#endif
