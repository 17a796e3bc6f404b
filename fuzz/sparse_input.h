/* A sparse file from a small fuzz input, for formats whose smallest real file
 * is megabytes of mostly zeros (VHDX places its structures 1 MiB apart).
 * Input: u32 LE file size in 4 KiB units (at most 64 GiB), then records of
 * u32 LE 4 KiB-chunk index and 4096 bytes of that chunk; every other byte of
 * the file is zero. fuzz/make-vdisk-seeds.py writes seeds this way. */
#ifndef P2V_FUZZ_SPARSE_INPUT_H
#define P2V_FUZZ_SPARSE_INPUT_H

#include <stdint.h>
#include <string.h>

#include "blockdev/blockdev_impl.h"

#define SPARSE_CHUNK 4096u
#define SPARSE_REC (4 + SPARSE_CHUNK)

struct sparse_input {
    const uint8_t *data;
    size_t size;
};

static uint32_t sparse_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int sparse_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    const struct sparse_input *in = bd->priv;
    (void)err;
    memset(buf, 0, len);
    for (size_t r = 4; r + SPARSE_REC <= in->size; r += SPARSE_REC) {
        uint64_t start = (uint64_t)sparse_le32(in->data + r) * SPARSE_CHUNK;
        uint64_t end = start + SPARSE_CHUNK;
        uint64_t a = off > start ? off : start, b = off + len < end ? off + len : end;
        if (a < b)
            memcpy((uint8_t *)buf + (a - off), in->data + r + 4 + (a - start), b - a);
    }
    return 0;
}

static const struct bd_ops sparse_ops = { .format = "raw", .pread = sparse_pread, .close = NULL };

/* A blockdev over the sparse file (in must outlive it); NULL if too short.
 * ino is the identity the parent-loop check sees (device 1). */
static blockdev *sparse_open(const struct sparse_input *in, const char *path, ino_t ino)
{
    if (in->size < 4)
        return NULL;
    blockdev *bd = bd_alloc(&sparse_ops, path);
    if (!bd)
        return NULL;
    bd->priv = (void *)in;
    bd->size = (uint64_t)(sparse_le32(in->data) & 0xFFFFFFu) * SPARSE_CHUNK;
    bd->st_dev = 1;
    bd->st_ino = ino;
    return bd;
}

/* The body both sparse-input harnesses share (fuzz_vhdx.c, fuzz_vmdk.c): open
 * the input as NAME with every file it names being the same bytes again (one
 * parent level, then a loop), probe, read at spread offsets and walk the
 * block status, which must always make progress inside the disk. */
#include "vdisk_walk.h"

static inline int sparse_open_same(void *opaque, const char *path, blockdev **out, p2v_err *err)
{
    /* every file named is "file 2": one parent level reads, the next is a loop */
    *out = sparse_open(opaque, path, 2);
    return *out ? 0 : p2v_errf(err, -12, "out of memory");
}

static inline int sparse_fuzz_one(const uint8_t *data, size_t size, const char *name,
                                  bool (*probe)(const uint8_t *, size_t),
                                  int (*open)(blockdev *, const struct vdisk_opts *, blockdev **,
                                              p2v_err *))
{
    struct sparse_input in = { data, size };
    struct vdisk_opts o = { sparse_open_same, &in };
    blockdev *file = sparse_open(&in, name, 1), *bd;
    p2v_err err;
    if (!file)
        return 0;
    (void)probe(data, size);
    if (open(file, &o, &bd, &err) < 0)
        return 0;
    /* a status error: a sector bitmap that cannot be read */
    vdisk_fuzz_walk(bd, 8192, true);
    bd_close(bd);
    return 0;
}

#endif
