/* A tree of directories and files laid out into a FAT32 volume that p2v is
 * formatting itself (the ESP of a firmware switch): every directory and file
 * gets a run of contiguous clusters, directories get "." and ".." entries,
 * long names get VFAT long-name entries with the checksum of a unique 8.3
 * short name. The caller (boot/esp.c) writes the boot sectors and asks for
 * the FAT and the data area sector by sector, in increasing order.
 * Paths are '/' or '\' separated, matched without regard to ASCII case;
 * names are UTF-8 (the Basic Multilingual Plane). */
#ifndef P2V_FS_FATBUILD_H
#define P2V_FS_FATBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct fatbuild fatbuild;

/* FAT32 entry values */
#define FATBUILD_EOC 0x0FFFFFFFu

int fatbuild_new(fatbuild **out, p2v_err *err);
void fatbuild_free(fatbuild *t);

/* A directory at path, with its missing parents. -ENOTDIR when a part of
 * the path is a file; -EINVAL for an empty name or one FAT cannot hold
 * (longer than 255 UTF-16 units, \ / : * ? " < > | or control characters). */
int fatbuild_mkdir(fatbuild *t, const char *path, p2v_err *err);
/* A file at path (parents made) with a copy of data[0..len). -EEXIST when
 * the path is taken; -EFBIG above 4 GiB - 1. */
int fatbuild_add_file(fatbuild *t, const char *path, const uint8_t *data, size_t len,
                      p2v_err *err);
/* Number of files and directories added (the root not counted). */
size_t fatbuild_count(const fatbuild *t);

/* Assign clusters (the root directory first, at cluster 2) for clusters of
 * cluster_bytes, and build the directories: the root's first entry is the
 * volume label (11 bytes, space padded); every entry gets date and time
 * (DOS format). -ENOSPC when more than max_clusters would be needed.
 * *used: the clusters taken (from 2 on). */
int fatbuild_layout(fatbuild *t, uint32_t cluster_bytes, uint64_t max_clusters,
                    const char label[11], uint16_t date, uint16_t time, uint32_t *used,
                    p2v_err *err);

/* After layout: the FAT32 entry of cluster c (the next cluster of its
 * chain, FATBUILD_EOC at the end, 0 when free; entries 0 and 1 are the
 * caller's), and the bytes of data cluster c (zeros when free) into buf of
 * cluster_bytes. */
uint32_t fatbuild_fat_entry(const fatbuild *t, uint32_t c);
void fatbuild_cluster(const fatbuild *t, uint32_t c, uint8_t *buf);

/* The checksum of an 11-byte short name stored in its long-name entries. */
uint8_t fatbuild_lfn_checksum(const uint8_t name[11]);

#endif
