/* Filesystem-aware used-block maps: which byte ranges of a partition hold data
 * the filesystem needs. The copy engine iterates these extents, never bits.
 * A map that cannot be trusted is never used: the result says "full" and why. */
#ifndef P2V_FS_FSMAP_H
#define P2V_FS_FSMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "blockdev/blockdev.h"
#include "fs/kind.h"
#include "util/err.h"
#include "util/extent.h"

typedef struct fsmap_opts {
    bool allow_dirty; /* copy a dirty / hibernated / needs_recovery volume anyway */
    /* Leave out the clusters of Windows' page, swap and hibernation files in
     * the root of an NTFS volume (they read as zeros; Windows recreates them). */
    bool skip_system_files;
} fsmap_opts;

/* pagefile.sys, swapfile.sys and hiberfil.sys in the root of an NTFS volume:
 * their record, directory entry and size stay; with skip_system_files only
 * their data clusters are left out of the map. */
#define FS_SYSFILES_MAX 3
typedef struct fs_sysfile {
    char name[16];       /* "pagefile.sys", "swapfile.sys", "hiberfil.sys" */
    uint64_t size;       /* the file's size in bytes */
    uint64_t bytes;      /* its clusters' bytes: what is not read (reads as zeros) */
} fs_sysfile;
typedef struct fs_sysfiles {
    fs_sysfile v[FS_SYSFILES_MAX];
    size_t n;
    uint64_t bytes;      /* the sum of v[].bytes */
} fs_sysfiles;

typedef struct fsmap {
    char fstype[16];     /* the driver's name (fs_kind_name), or "" when unknown */
    enum fs_kind kind;   /* FS_UNKNOWN when no filesystem was recognised */
    bool full;           /* copy every sector of the partition */
    char notice[256];    /* one line saying why full (the reason only, e.g. "ext4 group
                            descriptor 0 has a bad checksum"), or "" */
    extent_list used;    /* when !full: byte extents relative to the partition start, normalized */
    uint64_t used_bytes; /* bytes the filesystem itself counts as used (0 if unknown) */
    bool dirty;          /* dirty / hibernated / needs recovery, accepted only because
                            allow_dirty was given: then full is true as well, since a
                            journal replay may need blocks the bitmaps show free */
    fs_sysfiles skipped; /* skip_system_files: the files left out of used (bytes: what
                            they took out of it); used_bytes still counts them */
} fsmap;

/* Every error message of fsmap_build and fs_probe (for a partition) has this
 * one form, so the CLI prints it as it is:
 *     "<disk path>: partition at byte <offset>: <what went wrong>"
 * e.g. "dh.img: partition at byte 1048576: NTFS volume holds a hibernated
 * Windows (...)". This rewrites err->msg into that form: a leading
 * "<path>: " and "partition at byte <offset>: " already there are not
 * repeated. */
void fsmap_err_locate(p2v_err *err, const char *path, uint64_t part_offset);

/* A new message in that form, about the partition at byte part_offset of
 * the disk at path; returns code. */
int fsmap_errf(p2v_err *err, int code, const char *path, uint64_t part_offset, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* Build the map of the partition at [part_offset, part_offset + part_len) of bd.
 * Returns 0 (possibly with full = true and a notice), or a negative code with a
 * message (in the fsmap_err_locate form) for conditions that must stop the copy (dirty volume without
 * allow_dirty: -EBUSY; read error; partition past the end of bd: -EINVAL).
 * opts may be NULL (allow_dirty false). Prints nothing (the libraries' own
 * messages are captured or silenced, which touches their process-wide log
 * hooks: call it from one thread at a time). On error *out needs no free. */
int fsmap_build(blockdev *bd, uint64_t part_offset, uint64_t part_len, const fsmap_opts *opts,
                fsmap *out, p2v_err *err);
void fsmap_free(fsmap *m);

/* Is [start, start + len) entirely inside the used extents of a mapped
 * (not full) map? Binary search; the extents are normalized. */
bool fsmap_covers(const fsmap *m, uint64_t start, uint64_t len);

/* Which of Windows' page, swap and hibernation files the root of the NTFS
 * volume [part_offset, part_offset + part_len) of bd holds, and their sizes
 * (what a map with skip_system_files leaves out of a clean volume). 0 with
 * out filled (n 0: none, or not a volume libntfs-3g mounts), or a negative
 * code with a message (read error, no memory). Same log-hook caveat as
 * fsmap_build. */
int fs_ntfs_system_files(blockdev *bd, uint64_t part_offset, uint64_t part_len,
                         fs_sysfiles *out, p2v_err *err);

/* Names of files, each malloc'ed. */
typedef struct fs_names {
    char **v;
    size_t count;
} fs_names;
int fs_names_add(fs_names *n, const char *name);
void fs_names_free(fs_names *n);

/* The files of the filesystem `fstype` (fsmap.fstype or fs_identity.type,
 * e.g. "ntfs", "vfat", "ext4") of the partition [part_offset, part_offset +
 * part_len) of bd that hold a byte of `bad` (partition-relative byte
 * extents, normalized): paths from the root ("/Users/ann/thesis.docx"; a
 * named NTFS stream "path:stream"; the filesystem's own metadata by its name,
 * e.g. "/$MFT", "(FAT)", "(inode table of group 3)"); a file whose own record
 * lies in a bad sector is named by its record ("MFT record 41"). Sorted, each
 * once. 0 with out filled (none: no file affected, free space), -ENOTSUP for
 * a filesystem p2v cannot look into, else a negative code and a message.
 * Reads bd: give it the source masked (bd_open_masked) so its known bad
 * sectors are not read again. Same log-hook caveat as fsmap_build. */
int fs_files_at(blockdev *bd, uint64_t part_offset, uint64_t part_len, const char *fstype,
                const extent_list *bad, fs_names *out, p2v_err *err);

#endif
