/* Copy-on-write overlay blockdev: written blocks in a hash table keyed by
 * block number, their data in memory chunks up to a limit, then in an
 * unlinked temporary file. */
#include "blockdev/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockdev/blockdev_impl.h"
#include "util/io.h"
#include "util/iowalk.h"

#define OV_BS ((uint64_t)BD_OVERLAY_BLOCK)
#define OV_CHUNK_BLOCKS 256u /* memory is taken 1 MiB at a time */
#define OV_DEFAULT_MEM (64u << 20)

struct ov_slot {
    uint64_t block_plus1; /* 0: empty */
    uint64_t slot;
};

struct overlay {
    blockdev *base;
    uint64_t off;
    struct ov_slot *tab;
    size_t tab_cap;        /* power of two */
    size_t nblocks;        /* blocks written */
    uint8_t **chunks;      /* memory chunks of OV_CHUNK_BLOCKS blocks */
    size_t nchunks;
    size_t mem_slots;      /* slots that live in memory */
    int spill_fd;          /* -1 until the first spilled block */
    char tmpdir[256];
};

static const struct bd_ops overlay_ops;

static struct overlay *ov_of(const blockdev *bd)
{
    return bd && bd->ops == &overlay_ops ? bd->priv : NULL;
}

bool bd_is_overlay(const blockdev *bd) { return ov_of(bd) != NULL; }

static size_t ov_hash(uint64_t block, size_t cap)
{
    return (size_t)((block * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

/* The table entry of block, or the empty entry where it would go. */
static struct ov_slot *ov_find(const struct overlay *o, uint64_t block)
{
    size_t i = ov_hash(block, o->tab_cap);
    while (o->tab[i].block_plus1 && o->tab[i].block_plus1 != block + 1)
        i = (i + 1) & (o->tab_cap - 1);
    return &o->tab[i];
}

static int ov_grow_table(struct overlay *o)
{
    size_t ncap = o->tab_cap ? o->tab_cap * 2 : 1024;
    struct ov_slot *old = o->tab;
    size_t ocap = o->tab_cap;
    if (ncap < ocap || ncap > SIZE_MAX / sizeof *old)
        return -ENOMEM;
    o->tab = calloc(ncap, sizeof *o->tab);
    if (!o->tab) {
        o->tab = old;
        return -ENOMEM;
    }
    o->tab_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].block_plus1)
            *ov_find(o, old[i].block_plus1 - 1) = old[i];
    free(old);
    return 0;
}

static int ov_open_spill(struct overlay *o, p2v_err *err)
{
    o->spill_fd = open(o->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (o->spill_fd >= 0)
        return 0;
    /* Filesystems without O_TMPFILE: create, then unlink at once. */
    char path[300];
    snprintf(path, sizeof path, "%s/p2v-overlay.XXXXXX", o->tmpdir);
    o->spill_fd = mkostemp(path, O_CLOEXEC);
    if (o->spill_fd < 0)
        return p2v_errf(err, -errno, "overlay: cannot create a temporary file in %s: %s",
                        o->tmpdir, strerror(errno));
    unlink(path);
    return 0;
}

static int ov_slot_read(const struct overlay *o, uint64_t slot, void *buf, p2v_err *err)
{
    if (slot < o->mem_slots) {
        memcpy(buf, o->chunks[slot / OV_CHUNK_BLOCKS] + (slot % OV_CHUNK_BLOCKS) * OV_BS, OV_BS);
        return 0;
    }
    size_t done;
    int r = pread_full(o->spill_fd, buf, OV_BS, (slot - o->mem_slots) * OV_BS, &done);
    if (r == 0 && done != OV_BS)
        r = -EIO;
    if (r < 0)
        return p2v_errf(err, r, "overlay: reading the temporary file: %s", strerror(-r));
    return 0;
}

static int ov_slot_write(struct overlay *o, uint64_t slot, const void *buf, p2v_err *err)
{
    if (slot < o->mem_slots) {
        size_t c = (size_t)(slot / OV_CHUNK_BLOCKS);
        if (c >= o->nchunks) {
            uint8_t **nc = realloc(o->chunks, (c + 1) * sizeof *nc);
            if (!nc)
                return p2v_errf(err, -ENOMEM, "overlay: out of memory");
            o->chunks = nc;
            nc[c] = malloc(OV_CHUNK_BLOCKS * OV_BS);
            if (!nc[c])
                return p2v_errf(err, -ENOMEM, "overlay: out of memory");
            o->nchunks = c + 1;
        }
        memcpy(o->chunks[c] + (slot % OV_CHUNK_BLOCKS) * OV_BS, buf, OV_BS);
        return 0;
    }
    int r = o->spill_fd < 0 ? ov_open_spill(o, err) : 0;
    size_t done;
    if (r == 0 && (r = pwrite_full(o->spill_fd, buf, OV_BS, (slot - o->mem_slots) * OV_BS,
                                   &done)) < 0)
        p2v_errf(err, r, "overlay: writing the temporary file in %s: %s", o->tmpdir,
                 strerror(-r));
    return r;
}

/* The base's bytes of block (zeros past the window's end). */
static int ov_base_block(blockdev *bd, struct overlay *o, uint64_t block, uint8_t *buf,
                         p2v_err *err)
{
    uint64_t pos = block * OV_BS, n = bd->size - pos < OV_BS ? bd->size - pos : OV_BS;
    memset(buf + n, 0, (size_t)(OV_BS - n));
    return bd_pread(o->base, buf, (size_t)n, o->off + pos, err);
}

/* A read or write being walked piece by piece (io_walk). */
struct ov_io {
    blockdev *bd;
    struct overlay *o;
    uint8_t *dst;       /* reads */
    const uint8_t *src; /* writes */
};

/* One piece of a read: the rest of a written block, or a run of unwritten
 * blocks read from the base in one call. */
static int64_t ov_read_piece(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err)
{
    const struct ov_io *io = ctx;
    struct overlay *o = io->o;
    uint8_t *p = io->dst + at;
    uint64_t block = off / OV_BS, in = off % OV_BS;
    size_t n = OV_BS - in < len ? (size_t)(OV_BS - in) : len;
    int r;
    if (o->nblocks && ov_find(o, block)->block_plus1) {
        uint8_t tmp[BD_OVERLAY_BLOCK];
        r = ov_slot_read(o, ov_find(o, block)->slot, tmp, err);
        if (r == 0)
            memcpy(p, tmp + in, n);
    } else {
        /* Unwritten: read the base for as long as the blocks stay unwritten. */
        while (n < len && !(o->nblocks && ov_find(o, (off + n) / OV_BS)->block_plus1))
            n += len - n < OV_BS ? len - n : OV_BS;
        r = bd_pread(o->base, p, n, o->off + off, err);
    }
    return r < 0 ? r : (int64_t)n;
}

static int ov_pread(blockdev *bd, void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct ov_io io = { .o = bd->priv, .dst = buf };
    return io_walk(off, len, ov_read_piece, &io, err);
}

/* Write [in, in + n) of block from src, creating the block from the base. */
static int ov_write_block(blockdev *bd, struct overlay *o, uint64_t block, uint64_t in,
                          const uint8_t *src, size_t n, p2v_err *err)
{
    uint8_t tmp[BD_OVERLAY_BLOCK];
    int r;
    if ((o->nblocks + 1) * 2 > o->tab_cap && (r = ov_grow_table(o)) < 0)
        return p2v_errf(err, r, "overlay: out of memory");
    struct ov_slot *s = ov_find(o, block);
    bool fresh = !s->block_plus1;
    if (n == OV_BS)
        memcpy(tmp, src, OV_BS);
    else {
        r = fresh ? ov_base_block(bd, o, block, tmp, err) : ov_slot_read(o, s->slot, tmp, err);
        if (r < 0)
            return r;
        memcpy(tmp + in, src, n);
    }
    uint64_t slot = fresh ? o->nblocks : s->slot;
    if ((r = ov_slot_write(o, slot, tmp, err)) < 0)
        return r;
    if (fresh) {
        s->block_plus1 = block + 1;
        s->slot = slot;
        o->nblocks++;
    }
    return 0;
}

/* One piece of a write: the part of one block it covers. */
static int64_t ov_write_piece(void *ctx, uint64_t off, size_t at, size_t len, p2v_err *err)
{
    const struct ov_io *io = ctx;
    uint64_t block = off / OV_BS, in = off % OV_BS;
    size_t n = OV_BS - in < len ? (size_t)(OV_BS - in) : len;
    int r = ov_write_block(io->bd, io->o, block, in, io->src + at, n, err);
    return r < 0 ? r : (int64_t)n;
}

int bd_overlay_pwrite(blockdev *bd, const void *buf, size_t len, uint64_t off, p2v_err *err)
{
    struct overlay *o = ov_of(bd);
    uint64_t end;
    if (!o)
        return p2v_errf(err, -EINVAL, "%s: not an overlay: sources are never written",
                        bd ? bd_path(bd) : "(null)");
    if (__builtin_add_overflow(off, (uint64_t)len, &end) || end > bd->size)
        return p2v_errf(err, -EINVAL,
                        "%s: write of %zu bytes at offset %llu goes past the end (size %llu "
                        "bytes)", bd->path, len, (unsigned long long)off,
                        (unsigned long long)bd->size);
    struct ov_io io = { .bd = bd, .o = o, .src = buf };
    return io_walk(off, len, ov_write_piece, &io, err);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int bd_overlay_written(const blockdev *bd, extent_list *out, p2v_err *err)
{
    struct overlay *o = ov_of(bd);
    memset(out, 0, sizeof *out);
    if (!o)
        return p2v_errf(err, -EINVAL, "%s: not an overlay", bd ? bd_path(bd) : "(null)");
    if (!o->nblocks)
        return 0;
    uint64_t *blocks = malloc(o->nblocks * sizeof *blocks);
    if (!blocks)
        return p2v_errf(err, -ENOMEM, "overlay: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < o->tab_cap; i++)
        if (o->tab[i].block_plus1)
            blocks[n++] = o->tab[i].block_plus1 - 1;
    qsort(blocks, n, sizeof *blocks, cmp_u64);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = extent_list_add(out, blocks[i] * OV_BS, OV_BS);
    free(blocks);
    if (r < 0) {
        extent_list_free(out);
        return p2v_errf(err, r, "overlay: out of memory");
    }
    extent_list_clip(out, bd->size);
    return 0;
}

uint64_t bd_overlay_bytes(const blockdev *bd)
{
    const struct overlay *o = ov_of(bd);
    return o ? o->nblocks * OV_BS : 0;
}

uint64_t bd_overlay_spilled(const blockdev *bd)
{
    const struct overlay *o = ov_of(bd);
    return o && o->nblocks > o->mem_slots ? (o->nblocks - o->mem_slots) * OV_BS : 0;
}

static void ov_close(blockdev *bd)
{
    struct overlay *o = bd->priv;
    for (size_t i = 0; i < o->nchunks; i++)
        free(o->chunks[i]);
    free(o->chunks);
    free(o->tab);
    if (o->spill_fd >= 0)
        close(o->spill_fd);
}

static bool ov_origin(const blockdev *bd, uint64_t off, const blockdev **base,
                      uint64_t *base_off)
{
    const struct overlay *o = bd->priv;
    *base = o->base;
    *base_off = o->off + off;
    return !(o->nblocks && ov_find(o, off / OV_BS)->block_plus1);
}

static const struct bd_ops overlay_ops = {
    .format = "raw",
    .pread = ov_pread,
    .close = ov_close,
    .origin = ov_origin,
};

int bd_overlay_open(blockdev *base, uint64_t off, uint64_t len, const bd_overlay_opts *opts,
                    blockdev **out, p2v_err *err)
{
    uint64_t end;
    if (off > bd_size(base) || (len == 0 && (len = bd_size(base) - off) == 0) ||
        __builtin_add_overflow(off, len, &end) || end > bd_size(base))
        return p2v_errf(err, -EINVAL,
                        "%s: overlay of %llu bytes at offset %llu does not fit the disk (%llu "
                        "bytes)", bd_path(base), (unsigned long long)len,
                        (unsigned long long)off, (unsigned long long)bd_size(base));
    blockdev *bd;
    int r = bd_view_new_at(&overlay_ops, base, off, len, sizeof(struct overlay),
                           BD_VIEW_BACKING | BD_VIEW_IDENTITY, &bd, err);
    if (r < 0)
        return r;
    struct overlay *o = bd->priv;
    const char *tmp = opts && opts->tmpdir ? opts->tmpdir : getenv("TMPDIR");
    snprintf(o->tmpdir, sizeof o->tmpdir, "%s", tmp && *tmp ? tmp : "/tmp");
    size_t mem = opts && opts->mem_limit ? opts->mem_limit : OV_DEFAULT_MEM;
    o->mem_slots = mem / OV_BS;
    o->spill_fd = -1;
    o->base = base;
    o->off = off;
    *out = bd;
    return 0;
}
