/* qcow2 as a read-only blockdev: guest reads resolved through L1/L2, zero and
 * unallocated clusters, compressed clusters, and backing files (qcow2 or raw,
 * any depth, relative names resolved against the image's own path as QEMU does). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blockdev/blockdev_impl.h"
#include "qcow2/qcow2.h"
#include "qcow2/qcow2_image.h"

#define MAX_CHAIN_DEPTH 64

struct qcow2_bd {
    qcow2_image *img;
    blockdev *backing;
};

static int q_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct qcow2_bd *q = bd->priv;
    return qcow2_image_pread(q->img, q->backing, buf, len, off, err);
}

static void q_close(blockdev *bd)
{
    struct qcow2_bd *q = bd->priv;
    qcow2_image_close(q->img);
    bd_close(q->backing);
}

static const struct bd_ops qcow2_ops = {
    .format = "qcow2",
    .pread = q_pread,
    .close = q_close,
};

int qcow2_backing_path(const char *image_path, const char *backing, char *out, size_t outlen)
{
    const char *slash = strrchr(image_path, '/');
    size_t dirlen = 0;
    if (backing[0] != '/' && !strstr(backing, "://") && slash)
        dirlen = (size_t)(slash - image_path) + 1;
    if (dirlen + strlen(backing) + 1 > outlen)
        return -ENAMETOOLONG;
    memcpy(out, image_path, dirlen);
    strcpy(out + dirlen, backing);
    return 0;
}

/* The files opened so far down one chain, to catch a loop. */
struct chain {
    unsigned depth;
    dev_t dev[MAX_CHAIN_DEPTH + 1];
    ino_t ino[MAX_CHAIN_DEPTH + 1];
    bool reported; /* err already names the layer that failed: no more prefixes */
};

static int open_depth(const char *path, struct chain *ch, blockdev **out, p2v_err *err);

static int open_backing(qcow2_image *img, struct chain *ch, blockdev **out, p2v_err *err)
{
    const qcow2_info *in = qcow2_image_info(img);
    char full[4096];
    int r;
    ch->reported = true;
    if (qcow2_backing_path(img->path, in->backing_file, full, sizeof full) < 0)
        return p2v_errf(err, -ENAMETOOLONG, "%s: backing file path is too long", img->path);
    if (ch->depth >= MAX_CHAIN_DEPTH)
        return p2v_errf(err, -ELOOP,
                        "%s: backing chain too deep: more than %d backing files (the limit)",
                        img->path, MAX_CHAIN_DEPTH);
    if (strcmp(in->backing_format, "raw") && in->backing_format[0] &&
        strcmp(in->backing_format, "qcow2"))
        return p2v_errf(err, -ENOTSUP, "%s: backing file %s has format '%s', not supported",
                        img->path, full, in->backing_format);
    ch->reported = false;
    /* A loop: the backing file, read as qcow2, is a file already open in
     * this chain. */
    struct stat st;
    if (strcmp(in->backing_format, "raw") && stat(full, &st) == 0) {
        for (unsigned i = 0; i <= ch->depth; i++)
            if (ch->dev[i] == st.st_dev && ch->ino[i] == st.st_ino) {
                ch->reported = true;
                return p2v_errf(err, -ELOOP,
                                "backing chain loops: %s's backing file %s is already in the chain",
                                img->path, full);
            }
    }
    ch->depth++;
    if (!strcmp(in->backing_format, "raw"))
        r = bd_open_raw(full, out, err);
    else
        r = open_depth(full, ch, out, err);
    ch->depth--;
    if (r < 0 && !ch->reported) {
        ch->reported = true;
        return p2v_err_prefix(err, r, "%s: cannot open backing file", img->path);
    }
    return r;
}

static int open_depth(const char *path, struct chain *ch, blockdev **out, p2v_err *err)
{
    blockdev *file = NULL;
    int r = bd_open_raw(path, &file, err);
    if (r < 0)
        return r;
    ch->dev[ch->depth] = bd_st_dev(file);
    ch->ino[ch->depth] = bd_st_ino(file);
    uint8_t magic[4] = { 0 };
    if (bd_size(file) < 4 || bd_pread(file, magic, 4, 0, NULL) < 0 ||
        memcmp(magic, QCOW2_MAGIC, 4) != 0) {
        if (ch->depth == 0) {
            bd_close(file);
            return p2v_errf(err, -EINVAL, "%s: not a qcow2 image", path);
        }
        *out = file; /* a backing file without a format: probed as raw */
        return 0;
    }
    blockdev *bd = bd_alloc_priv(&qcow2_ops, path, sizeof(struct qcow2_bd));
    if (!bd) {
        bd_close(file);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    struct qcow2_bd *q = bd->priv;
    if ((r = qcow2_image_open_bd(file, 0, &q->img, err)) < 0)
        goto out;
    if (q->img->info.extended_l2) {
        r = p2v_errf(err, -ENOTSUP,
                     "%s: extended L2 entries (subclusters) are not supported", path);
        goto out;
    }
    if (q->img->info.backing_file[0] && (r = open_backing(q->img, ch, &q->backing, err)) < 0)
        goto out;
    bd->size = q->img->info.virtual_size;
    bd->st_dev = bd_st_dev(q->img->file);
    bd->st_ino = bd_st_ino(q->img->file);
    bd->backing = q->backing;
    *out = bd;
    return 0;
out:
    bd_close(bd); /* q_close: the image and its backing, as far as they got */
    return r;
}

int qcow2_bd_open(const char *path, blockdev **out, p2v_err *err)
{
    struct chain ch = { 0 };
    return open_depth(path, &ch, out, err);
}

qcow2_image *qcow2_bd_image(blockdev *bd)
{
    return bd && bd->ops == &qcow2_ops ? ((struct qcow2_bd *)bd->priv)->img : NULL;
}

blockdev *qcow2_bd_backing(blockdev *bd)
{
    return bd && bd->ops == &qcow2_ops ? ((struct qcow2_bd *)bd->priv)->backing : NULL;
}
