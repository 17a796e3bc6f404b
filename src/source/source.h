/* Opening a source by its name: the registry of source formats. A row per
 * format (source_formats[] in source.c, one file per format) says how it is
 * recognised — by name (a URI scheme such as nbd://) or by the first and
 * last bytes of the file — and how it is opened as a blockdev, the way
 * QEMU's block drivers carry .protocol_name and .bdrv_probe. blockdev/
 * below knows none of them. */
#ifndef P2V_SOURCE_H
#define P2V_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "util/err.h"

/* Seconds a network source may stay silent while p2v waits for it. */
#define SOURCE_IO_TIMEOUT_DEFAULT 60

typedef struct source_opts {
    /* A peer (NBD server) that neither sends nor takes a byte for this many
     * seconds while p2v waits for it fails the wait (-ETIMEDOUT, naming the
     * peer and what was waited for); 0: SOURCE_IO_TIMEOUT_DEFAULT. */
    unsigned io_timeout;
    /* Seconds to reach a Ceph cluster's monitors (RBD); 0: 30. */
    unsigned rbd_timeout;
} source_opts;

/* Bytes of the start of a file that the probes look at. */
#define SOURCE_PROBE_HEAD 512

/* What the probes see of a file: its first n bytes (n may be less than
 * SOURCE_PROBE_HEAD for a small file), its last 512 bytes (NULL when the
 * file is smaller than 1024 bytes) and its size. Untrusted bytes: every
 * probe checks its bounds. */
typedef struct source_probe {
    const uint8_t *head;
    size_t n;
    const uint8_t *tail;
    uint64_t size;
} source_probe;

struct source_format {
    /* "qcow2", "vpc" (fixed VHD), "nbd", "raw"; for a format p2v recognises
     * but cannot read, its display name ("VHDX", "VHD (dynamic)"...). */
    const char *name;
    /* By name: true when PATH belongs to this format (a URI scheme); the
     * path is then not opened as a file. NULL: not by name. */
    bool (*match)(const char *path);
    /* By content: true when the bytes are this format; *data_size (preset
     * to the file size) may be narrowed to the disk data (a fixed VHD's
     * footer excluded). NULL: not by content. */
    bool (*probe)(const source_probe *p, uint64_t *data_size);
    /* Open read-only. file is PATH already open as raw bytes (NULL for a
     * format matched by name); open takes it over, keeping or closing it,
     * also on failure. NULL: recognised, refused with -ENOTSUP. */
    int (*open)(const char *path, blockdev *file, uint64_t data_size, const source_opts *o,
                blockdev **out, p2v_err *err);
};

/* Rows that callers compare a probe's answer with. */
extern const struct source_format source_raw, source_qcow2, source_vpc, source_nbd, source_rbd;

/* Open PATH read-only as a disk: a format matched by name (an NBD URI), else
 * the file or device with its format detected from its bytes (qcow2, fixed
 * VHD, else raw; a block device is always raw). A recognised format p2v
 * cannot read (VHD dynamic or differencing, VHDX, VMDK, VDI, QED, Parallels)
 * is refused with -ENOTSUP: "<path>: VHDX image: not supported as a source;
 * convert it to raw or qcow2 with qemu-img first". o may be NULL (defaults).
 * Errors name the path: missing, directory, character device, unreadable. */
int source_open(const char *path, const source_opts *o, blockdev **out, p2v_err *err);

/* The format of the bytes p describes (never NULL: source_raw when none
 * matches); *data_size (if not NULL) is the size of the disk data. Pure. */
const struct source_format *source_probe_bytes(const source_probe *p, uint64_t *data_size);

/* source_probe_bytes on the file at PATH (opened read-only, then closed), for
 * `p2v img info` and the like; a block device is source_raw, a name a format
 * matches (an NBD URI) is that format without connecting. 0, or a negative
 * code naming the path. data_size may be NULL. */
int source_probe_path(const char *path, const struct source_format **fmt, uint64_t *data_size,
                      p2v_err *err);

/* Parse a 512-byte VHD footer (vhd.c): true when it has the "conectix" cookie
 * and a valid checksum; *disk_type (2 fixed, 3 dynamic, 4 differencing) and
 * *current_size are then set. */
bool source_vhd_footer_parse(const uint8_t footer[512], uint32_t *disk_type,
                             uint64_t *current_size);

#endif
