/* Block status through a chain of images, with the meaning qemu-img map
 * gives it: depth (the layer that answered), present (allocated in some
 * layer), zero, data, host offset. Raw layers answer from SEEK_DATA/SEEK_HOLE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_image.h"
#include "vdisk/vdisk.h"

struct layer {
    blockdev *bd;
    qcow2_image *img; /* NULL for raw */
    int fd;           /* the raw layer's file for lseek (not ours), -1 if none */
    bool vpc;         /* a fixed VHD: holes are zero but still data, as QEMU's vpc says */
    bool vdisk;       /* VHD, VHDX, VMDK: their own block status (src/vdisk) */
};

struct img_status_ctx {
    struct layer *layers;
    unsigned n;
};

int img_status_open(blockdev *bd, img_status_ctx **out, p2v_err *err)
{
    img_status_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return p2v_errf(err, -ENOMEM, "out of memory");
    /* bd_backing: a qcow2 backing file or a VHD/VHDX/VMDK parent alike */
    for (blockdev *b = bd; b; b = (blockdev *)bd_backing(b)) {
        struct layer *l = realloc(c->layers, (c->n + 1) * sizeof *l);
        if (!l) {
            img_status_close(c);
            return p2v_errf(err, -ENOMEM, "out of memory");
        }
        c->layers = l;
        l[c->n].bd = b;
        l[c->n].img = qcow2_bd_image(b);
        l[c->n].fd = -1;
        l[c->n].vdisk = vdisk_is(b);
        l[c->n].vpc = !strcmp(bd_format(b), "vpc") && !l[c->n].vdisk;
        if (!l[c->n].img && !l[c->n].vdisk && !bd_is_block_device(b))
            l[c->n].fd = bd_raw_fd(b);
        c->n++;
    }
    *out = c;
    return 0;
}

void img_status_close(img_status_ctx *c)
{
    if (!c)
        return;
    free(c->layers);
    free(c);
}

static void set(img_extent *e, unsigned depth, bool present, bool zero, bool data)
{
    e->depth = depth;
    e->present = present;
    e->zero = zero;
    e->data = data;
    e->has_offset = false;
    e->offset = 0;
    e->file = NULL;
}

static int raw_status(struct layer *l, unsigned depth, uint64_t off, uint64_t len, img_extent *e)
{
    set(e, depth, true, false, true);
    e->has_offset = true;
    e->offset = off;
    e->length = len;
    if (l->fd < 0)
        return 0;
    off_t d = lseek(l->fd, (off_t)off, SEEK_DATA);
    if (d < 0 && errno == ENXIO) { /* a hole up to the end */
        e->zero = true;
        e->data = l->vpc;
        return 0;
    }
    if (d < 0)
        return 0; /* no SEEK_DATA: all data */
    if ((uint64_t)d > off) {
        e->zero = true;
        e->data = l->vpc;
        e->length = (uint64_t)d - off < len ? (uint64_t)d - off : len;
        return 0;
    }
    off_t h = lseek(l->fd, (off_t)off, SEEK_HOLE);
    if (h > (off_t)off && (uint64_t)h - off < len)
        e->length = (uint64_t)h - off;
    return 0;
}

static int layer_status(img_status_ctx *c, unsigned i, uint64_t off, uint64_t len, img_extent *e,
                        p2v_err *err);

/* The layer below answers for [off, off + e->length), or zeros past its end. */
static int below(img_status_ctx *c, unsigned i, uint64_t off, img_extent *e, p2v_err *err)
{
    if (i + 1 < c->n) {
        blockdev *b = c->layers[i + 1].bd;
        if (off < bd_size(b)) {
            uint64_t n = e->length;
            if (n > bd_size(b) - off)
                n = bd_size(b) - off;
            return layer_status(c, i + 1, off, n, e, err);
        }
    }
    set(e, i, false, true, false);
    return 0;
}

/* What layer i says of the run at off (e->length set): v in the terms of a
 * VHD, VHDX or VMDK layer, which a qcow2 layer's cluster is put in too. */
static int answer(img_status_ctx *c, unsigned i, uint64_t off, const vdisk_extent *v,
                  img_extent *e, p2v_err *err)
{
    switch (v->kind) {
    case VDISK_DATA:
        set(e, i, true, v->hole, true);
        e->has_offset = v->has_off;
        e->offset = v->host_off;
        if (v->file && strcmp(v->file, bd_path(c->layers[i].bd)) != 0)
            e->file = v->file;
        return 0;
    case VDISK_COMPRESSED:
        set(e, i, true, false, true);
        e->compressed = true;
        return 0;
    case VDISK_ZERO:
        set(e, i, true, true, false);
        return 0;
    case VDISK_UNALLOCATED:
        break;
    }
    return below(c, i, off, e, err);
}

static int vdisk_layer_status(img_status_ctx *c, unsigned i, uint64_t off, uint64_t len,
                              img_extent *e, p2v_err *err)
{
    vdisk_extent v;
    int r = vdisk_status(c->layers[i].bd, off, len, &v, err);
    if (r < 0)
        return r;
    e->length = v.len;
    return answer(c, i, off, &v, e, err);
}

static enum vdisk_kind cluster_kind(enum qcow2_cluster_kind k)
{
    switch (k) {
    case QCOW2_CLUSTER_NORMAL:
        return VDISK_DATA;
    case QCOW2_CLUSTER_COMPRESSED:
        return VDISK_COMPRESSED;
    case QCOW2_CLUSTER_ZERO:
        return VDISK_ZERO;
    default:
        return VDISK_UNALLOCATED;
    }
}

static int layer_status(img_status_ctx *c, unsigned i, uint64_t off, uint64_t len, img_extent *e,
                        p2v_err *err)
{
    struct layer *l = &c->layers[i];
    if (l->vdisk)
        return vdisk_layer_status(c, i, off, len, e, err);
    if (!l->img)
        return raw_status(l, i, off, len, e);
    qcow2_image *img = l->img;
    uint64_t vc = off >> img->cbits, in = off & (img->cs - 1);
    uint64_t l1i = vc >> img->l2_bits;
    uint64_t span = img->cs - in;
    qcow2_cluster cl;
    int r;
    if (l1i >= img->l1_loaded || !(img->l1[l1i] & QCOW2_L1E_OFFSET_MASK)) {
        /* no L2 table: unallocated up to the end of this L1 entry's range */
        uint64_t range_end = (l1i + 1) << (img->l2_bits + img->cbits);
        span = range_end - off;
        cl.kind = QCOW2_CLUSTER_UNALLOCATED;
        cl.host_offset = 0;
    } else if ((r = qcow2_image_cluster(img, vc, &cl, err)) < 0) {
        return r;
    }
    e->length = span < len ? span : len;
    vdisk_extent v = { .kind = cluster_kind(cl.kind), .len = e->length, .has_off = true,
                       .host_off = cl.host_offset + in };
    r = answer(c, i, off, &v, e, err);
    if (r == 0 && cl.kind == QCOW2_CLUSTER_ZERO && cl.host_offset) {
        /* a preallocated zero cluster: qemu-img map shows where it is */
        e->has_offset = true;
        e->offset = cl.host_offset + in;
    }
    return r;
}

int img_status_get(img_status_ctx *c, uint64_t off, uint64_t max_len, img_extent *e,
                   p2v_err *err)
{
    memset(e, 0, sizeof *e);
    e->start = off;
    return layer_status(c, 0, off, max_len, e, err);
}
