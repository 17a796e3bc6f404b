/* Reading around bad sectors. Where the copy engine's read of a source fails,
 * salvage_read reads again, then narrows the failure down to the exact
 * unreadable sectors (smaller reads, then sector by sector) and either stops
 * with their list (policy fail) or zero-fills them, records them and lets the
 * copy go on (policy zero). Sectors the used-block map does not name are
 * neither reported nor recorded: they are written as zeros anyway. The record
 * becomes a ddrescue-format map of the image (salvage_write_map) and, per
 * partition, the byte extents from which the filesystem's damaged files are
 * found (fs_files_at). */
#ifndef P2V_COPY_SALVAGE_H
#define P2V_COPY_SALVAGE_H

#include <stdint.h>
#include <stdio.h>

#include "copy/copy.h"

enum salvage_policy {
    SALVAGE_FAIL = 0, /* stop at the first unreadable sectors, naming them all */
    SALVAGE_ZERO,     /* write zeros in their place and go on */
};

/* One run of consecutive unreadable sectors of one copied range. */
typedef struct salvage_bad {
    char what[64];      /* the range's name ("disk1:2") */
    char disk[256];     /* the source disk's path (beneath any resize view) */
    uint32_t sector_size;
    uint64_t src_offset; /* bytes on the range's source (the view a resized
                            partition is read through, else the disk) */
    uint64_t disk_offset; /* the same bytes on the disk `disk` (bd_origin) */
    uint64_t dst_offset; /* bytes on the target image */
    uint64_t rel;        /* bytes from the start of the range (partition) */
    uint64_t len;        /* bytes: whole sectors, except at the end of a range */
} salvage_bad;

typedef struct salvage salvage;

int salvage_new(enum salvage_policy policy, salvage **out, p2v_err *err);
void salvage_free(salvage *s);
enum salvage_policy salvage_get_policy(const salvage *s);

/* Called where the copy engine's read of len bytes at rel (from the start of
 * range r) failed. Fills buf with what can be read and zeros for the rest.
 * 0: buf is complete (policy zero, or no used sector was unreadable after
 * all); -EIO: policy fail, the message lists the unreadable sectors (the
 * copy engine puts the range's name in front). Thread-safe. */
int salvage_read(salvage *s, const copy_range *r, uint8_t *buf, size_t len, uint64_t rel,
                 p2v_err *err);

/* The runs recorded so far, in image order (adjacent runs of a range joined,
 * whatever order the readers found them in). */
size_t salvage_count(const salvage *s);
const salvage_bad *salvage_get(const salvage *s, size_t i);
/* Sum of the runs' lengths in bytes. */
uint64_t salvage_bad_bytes(const salvage *s);
/* The runs of range `what` as extents relative to its start (normalized). */
int salvage_extents_of(const salvage *s, const char *what, extent_list *out, p2v_err *err);

/* Write the ddrescue map (GNU ddrescue mapfile format, readable by
 * ddrescuelog) of an image of image_size bytes: every byte finished ('+')
 * except the recorded runs ('-', bad sector), at their image offsets; comment
 * lines name each run's source disk and sectors. */
int salvage_write_map(const salvage *s, uint64_t image_size, FILE *f, p2v_err *err);

#endif
