/* Internal to src/vdisk: the layer every format fills, and what they share. */
#ifndef P2V_VDISK_IMPL_H
#define P2V_VDISK_IMPL_H

#include <sys/types.h>

#include "blockdev/blockdev_impl.h"
#include "vdisk/vdisk.h"

#define VDISK_MAX_CHAIN 64
#define VDISK_PATH_MAX 4096

struct vdisk;

struct vdisk_layer_ops {
    struct bd_ops bd; /* format name and the shared pread/close */
    /* The run at guest offset off (at most max_len, must be > 0): kind,
     * length and, for data, the file that holds it (*file, preset to the
     * image file) and the offset there. */
    int (*map)(const struct vdisk *v, uint64_t off, uint64_t max_len, vdisk_extent *e,
               blockdev **file, p2v_err *err);
    /* Read len bytes at guest offset off, inside one run map() called
     * VDISK_COMPRESSED. */
    int (*read_compressed)(const struct vdisk *v, void *buf, size_t len, uint64_t off,
                           p2v_err *err);
    void (*free)(void *fmt);
    /* optional: see vdisk_extra_file */
    const blockdev *(*extra_file)(const struct vdisk *v, size_t i);
};

struct vdisk {
    const struct vdisk_layer_ops *ops;
    void *fmt;        /* the format's own state, read-only after open */
    blockdev *file;   /* the image file (owned) */
    blockdev *parent; /* differencing parent (owned), or NULL */
    uint64_t cluster_size;
};

/* The files opened so far down one chain, to stop loops and deep chains. */
struct vdisk_chain {
    struct vdisk_opts o;
    unsigned depth;
    dev_t dev[VDISK_MAX_CHAIN + 1];
    ino_t ino[VDISK_MAX_CHAIN + 1];
};
void vdisk_chain_init(struct vdisk_chain *ch, const struct vdisk_opts *o, const blockdev *file);

int vdisk_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err);
void vdisk_close(blockdev *bd);

/* An open that failed with r after taking file: fmt (may be NULL) freed
 * with ops->free and file closed, as vdisk_make does on failure. Returns r. */
int vdisk_abandon(const struct vdisk_layer_ops *ops, void *fmt, blockdev *file, int r);

/* Wrap a parsed image as a blockdev; takes fmt (freed with ops->free),
 * file and parent, on failure too. */
int vdisk_make(const struct vdisk_layer_ops *ops, void *fmt, blockdev *file, blockdev *parent,
               uint64_t size, uint32_t sector_size, uint64_t cluster_size, blockdev **out,
               p2v_err *err);

/* Open a file named by the image at child (an extent or a parent): through
 * the chain's opener. -ENOENT when it does not exist. */
int vdisk_open_file(struct vdisk_chain *ch, const char *path, blockdev **out, p2v_err *err);
/* Open the parent at path (already resolved) with open_fn, one level down
 * the chain: refuses a loop (a file already in the chain) and a chain
 * deeper than VDISK_MAX_CHAIN. */
typedef int (*vdisk_chain_open_fn)(blockdev *file, struct vdisk_chain *ch, blockdev **out,
                                   p2v_err *err);
int vdisk_open_parent(struct vdisk_chain *ch, const char *child, const char *path,
                      vdisk_chain_open_fn open_fn, blockdev **out, p2v_err *err);

int vhd_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err);
int vhdx_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err);
int vmdk_open_chain(blockdev *file, struct vdisk_chain *ch, blockdev **out, p2v_err *err);

/* A table of n 32-bit entries (big-endian when be) at byte off of file,
 * into *out (malloc'd; the caller frees it, after a failure too). */
int vdisk_read_u32_table(blockdev *file, uint64_t off, uint64_t n, bool be, uint32_t **out,
                         p2v_err *err);
/* A sector bitmap whose byte 0 lies at byte at of file: of the n bits from
 * bit on, how many (*run, at most what one 512-byte read holds) share the
 * first one's value (*set). msb_first: a byte's bit 0 is its most
 * significant (VHD), else its least (VHDX). */
int vdisk_bitmap_run(blockdev *file, uint64_t at, uint64_t bit, uint64_t n, bool msb_first,
                     bool *set, uint64_t *run, p2v_err *err);

/* Append ", item" (or item, first) to the NUL-terminated list, cut at size. */
void vdisk_list_add(char *list, size_t size, const char *item);

#endif
