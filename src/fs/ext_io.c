#include "fs/ext_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#pragma GCC diagnostic pop

#include "blockdev/overlay.h"

static struct struct_io_manager ext_io_mgr;

/* libext2fs opens a channel by name only; the name carries the address of
 * the caller's struct ext_io. */
static errcode_t extio_open(const char *name, int flags, io_channel *channel)
{
    struct ext_io *x = NULL;
    if (sscanf(name, "p2v-extio:%p", (void **)&x) != 1 || !x)
        return EXT2_ET_BAD_DEVICE_NAME;
    if ((flags & IO_FLAG_RW) && !(x->writable && bd_is_overlay(x->src.bd)))
        return EXT2_ET_RO_FILSYS;
    io_channel ch = calloc(1, sizeof *ch);
    if (!ch)
        return EXT2_ET_NO_MEMORY;
    ch->name = strdup(name);
    if (!ch->name) {
        free(ch);
        return EXT2_ET_NO_MEMORY;
    }
    ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
    ch->manager = &ext_io_mgr;
    ch->block_size = 1024;
    ch->refcount = 1;
    ch->private_data = x;
    *channel = ch;
    return 0;
}

static errcode_t extio_close(io_channel ch)
{
    if (--ch->refcount > 0)
        return 0;
    free(ch->name);
    free(ch);
    return 0;
}

static errcode_t extio_set_blksize(io_channel ch, int blksize)
{
    if (blksize <= 0)
        return EXT2_ET_INVALID_ARGUMENT;
    ch->block_size = blksize;
    return 0;
}

/* The byte range of `count` blocks at `block` (a negative count is a byte
 * count, libext2fs's convention), inside the partition. */
static errcode_t extio_range(io_channel ch, unsigned long long block, int count, uint64_t *off,
                             uint64_t *len)
{
    struct ext_io *x = ch->private_data;
    *len = count < 0 ? (uint64_t)(-(int64_t)count) : (uint64_t)count * (uint64_t)ch->block_size;
    if (__builtin_mul_overflow((uint64_t)block, (uint64_t)ch->block_size, off))
        return EXT2_ET_LLSEEK_FAILED;
    /* past the partition: an error, as a short device would give */
    if (*off > x->src.len || *len > x->src.len - *off)
        return EXT2_ET_SHORT_READ;
    return 0;
}

static void extio_fail(struct ext_io *x, const p2v_err *e)
{
    if (!x->failed) {
        x->err = *e;
        x->failed = 1;
    }
}

static errcode_t extio_read64(io_channel ch, unsigned long long block, int count, void *data)
{
    struct ext_io *x = ch->private_data;
    uint64_t off, len;
    errcode_t ec = extio_range(ch, block, count, &off, &len);
    if (ec)
        return ec;
    p2v_err e;
    if (fsmap_read(&x->src, data, (size_t)len, off, &e) < 0) {
        extio_fail(x, &e);
        return EXT2_ET_SHORT_READ;
    }
    return 0;
}

static errcode_t extio_read(io_channel ch, unsigned long block, int count, void *data)
{
    return extio_read64(ch, block, count, data);
}

static errcode_t extio_pwrite(io_channel ch, uint64_t off, uint64_t len, const void *data)
{
    struct ext_io *x = ch->private_data;
    p2v_err e;
    if (!x->writable)
        return EXT2_ET_RO_FILSYS;
    if (bd_overlay_pwrite(x->src.bd, data, (size_t)len, x->src.off + off, &e) < 0) {
        extio_fail(x, &e);
        return EXT2_ET_SHORT_WRITE;
    }
    return 0;
}

static errcode_t extio_write64(io_channel ch, unsigned long long block, int count,
                               const void *data)
{
    uint64_t off, len;
    errcode_t ec = extio_range(ch, block, count, &off, &len);
    return ec ? EXT2_ET_SHORT_WRITE : extio_pwrite(ch, off, len, data);
}

static errcode_t extio_write(io_channel ch, unsigned long block, int count, const void *data)
{
    return extio_write64(ch, block, count, data);
}

static errcode_t extio_write_byte(io_channel ch, unsigned long off, int count, const void *data)
{
    struct ext_io *x = ch->private_data;
    if (count < 0 || off > x->src.len || (uint64_t)count > x->src.len - off)
        return EXT2_ET_SHORT_WRITE;
    return extio_pwrite(ch, off, (uint64_t)count, data);
}

static errcode_t extio_flush(io_channel ch) { return 0; }

static errcode_t extio_set_option(io_channel ch, const char *opt, const char *arg)
{
    return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager ext_io_mgr = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "p2v blockdev I/O manager",
    .open = extio_open,
    .close = extio_close,
    .set_blksize = extio_set_blksize,
    .read_blk = extio_read,
    .write_blk = extio_write,
    .flush = extio_flush,
    .write_byte = extio_write_byte,
    .set_option = extio_set_option,
    .read_blk64 = extio_read64,
    .write_blk64 = extio_write64,
};

void *ext_io_manager(void) { return &ext_io_mgr; }

void ext_io_name(struct ext_io *x, char *buf, size_t len)
{
    snprintf(buf, len, "p2v-extio:%p", (void *)x);
}

static void quiet(const char *whoami, long code, const char *fmt, va_list args) {}

ext_io_hook ext_io_quiet(void)
{
    initialize_ext2_error_table();
    return set_com_err_hook(quiet);
}
