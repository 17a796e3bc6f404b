/* For blockdev backends only: the struct behind the opaque handle. */
#ifndef P2V_BLOCKDEV_IMPL_H
#define P2V_BLOCKDEV_IMPL_H

#include "blockdev/blockdev.h"

struct bd_ops {
    const char *format;
    /* Read exactly len bytes at off; off + len <= size is checked by the caller. */
    int (*pread)(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err);
    /* Release what bd->priv holds; priv itself, from bd_alloc_priv, is
     * freed by bd_close after it. NULL: nothing to release. */
    void (*close)(blockdev *bd);
    /* Views over another blockdev (window, overlay, remap): where byte off
     * comes from in the layer beneath. false: from none (zeros past the
     * data, a block written in the overlay). NULL for a disk itself. */
    bool (*origin)(const blockdev *bd, uint64_t off, const blockdev **base, uint64_t *base_off);
};

struct blockdev {
    const struct bd_ops *ops;
    char *path;
    uint64_t size;
    uint32_t sector_size;
    bool sector_size_set; /* from BLKSSZGET or bd_set_sector_size, not the 512 default */
    bool is_blockdev;
    dev_t st_dev;
    ino_t st_ino;
    dev_t st_rdev;
    const blockdev *backing; /* next layer of a backing chain (owned by the backend), or NULL */
    const char *format;      /* bd_format when not ops->format (bd_limit), or NULL */
    void *priv;
    bool owns_priv; /* priv from bd_alloc_priv: bd_close frees it */
};

/* Allocate a blockdev with a copy of path; NULL on ENOMEM. A priv the
 * caller sets stays the caller's (bd_close does not free it). */
blockdev *bd_alloc(const struct bd_ops *ops, const char *path);
/* The same with priv_size zeroed bytes in bd->priv that bd_close frees
 * (after ops->close), also when the caller's setup fails part way. */
blockdev *bd_alloc_priv(const struct bd_ops *ops, const char *path, size_t priv_size);

/* What a view (bd_view_new) takes over from the blockdev it reads through. */
enum {
    BD_VIEW_BACKING = 1u << 0,  /* bd_backing() is base: the chain walk sees through it */
    BD_VIEW_IDENTITY = 1u << 1, /* base's file identity (st_dev, st_ino, block device) */
};
/* The one constructor of views over another blockdev (window, remap,
 * overlay, faulty, masked): named name (NULL: base's path), size bytes,
 * base's logical sector size, and priv_size zeroed bytes in bd->priv
 * (bd_alloc_priv). 0, or -ENOMEM with a message. */
int bd_view_new(const struct bd_ops *ops, const blockdev *base, const char *name, uint64_t size,
                size_t priv_size, unsigned flags, blockdev **out, p2v_err *err);
/* bd_view_new for a view of base from byte off, named "BASE@OFF" (window,
 * overlay). */
int bd_view_new_at(const struct bd_ops *ops, const blockdev *base, uint64_t off, uint64_t size,
                   size_t priv_size, unsigned flags, blockdev **out, p2v_err *err);

#endif
