/* The registry of source formats and the one way to open a source by name.
 * To add a format: one file with its row (match and/or probe, open) and one
 * line in source_formats[] below (docs/architecture.md). */
#include "source/source_impl.h"

#include <errno.h>
#include <stdlib.h>

/* Tried in this order: by name first, then by content (the first whose
 * probe says yes); a file none of them claims is raw. The refused formats
 * come before the fixed VHD so that their signatures at byte 0 win over a
 * footer that happens to validate at the end, as they always did. */
static const struct source_format *const source_formats[] = {
    &source_nbd,       /* nbd.c: nbd://, nbd+unix://, nbds:// URIs */
    &source_rbd,       /* rbd.c: rbd:POOL/IMAGE */
    &source_qcow2,     /* qcow2.c */
    &source_qed,       /* refused.c, from here to source_vhd_diff */
    &source_vhdx,
    &source_vmdk,
    &source_vdi,
    &source_parallels,
    &source_vhd_dynamic,
    &source_vhd_diff,
    &source_vpc,       /* vhd.c: fixed VHD */
};
#define NFORMATS (sizeof source_formats / sizeof *source_formats)

static int raw_open(const char *path, blockdev *file, uint64_t data_size, const source_opts *o,
                    blockdev **out, p2v_err *err)
{
    (void)path, (void)data_size, (void)o, (void)err;
    *out = file;
    return 0;
}

const struct source_format source_raw = { .name = "raw", .open = raw_open };

static const struct source_format *by_name(const char *path)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (source_formats[i]->match && source_formats[i]->match(path))
            return source_formats[i];
    return NULL;
}

const struct source_format *source_probe_bytes(const source_probe *p, uint64_t *data_size)
{
    uint64_t ds = p->size;
    const struct source_format *f = &source_raw;
    for (size_t i = 0; i < NFORMATS; i++)
        if (source_formats[i]->probe && source_formats[i]->probe(p, &ds)) {
            f = source_formats[i];
            break;
        }
    if (f == &source_raw)
        ds = p->size;
    if (data_size)
        *data_size = ds;
    return f;
}

/* Probe an open raw file: its head and its last 512 bytes. */
static int probe_file(blockdev *raw, const struct source_format **fmt, uint64_t *data_size,
                      p2v_err *err)
{
    uint8_t head[SOURCE_PROBE_HEAD], tail[512];
    uint64_t size = bd_size(raw);
    size_t n = size < sizeof head ? (size_t)size : sizeof head;
    bool have_tail = size >= 2 * sizeof tail;
    int r;
    if ((r = bd_pread(raw, head, n, 0, err)) < 0 ||
        (have_tail && (r = bd_pread(raw, tail, sizeof tail, size - sizeof tail, err)) < 0))
        return r;
    source_probe p = { .head = head, .n = n, .tail = have_tail ? tail : NULL, .size = size };
    *fmt = source_probe_bytes(&p, data_size);
    return 0;
}

int source_probe_path(const char *path, const struct source_format **fmt, uint64_t *data_size,
                      p2v_err *err)
{
    blockdev *raw;
    const struct source_format *named = by_name(path);
    if (named) {
        *fmt = named;
        return 0;
    }
    int r = bd_open_raw(path, &raw, err);
    if (r < 0)
        return r;
    if (bd_is_block_device(raw)) {
        *fmt = &source_raw;
        if (data_size)
            *data_size = bd_size(raw);
    } else {
        r = probe_file(raw, fmt, data_size, err);
    }
    bd_close(raw);
    return r;
}

int source_open(const char *path, const source_opts *o, blockdev **out, p2v_err *err)
{
    static const source_opts defaults;
    const struct source_format *f = by_name(path);
    blockdev *raw;
    uint64_t data_size;
    int r;
    *out = NULL;
    if (!o)
        o = &defaults;
    if (f)
        return f->open(path, NULL, 0, o, out, err);
    if ((r = bd_open_raw(path, &raw, err)) < 0)
        return r;
    if (bd_is_block_device(raw)) {
        *out = raw;
        return 0;
    }
    if ((r = probe_file(raw, &f, &data_size, err)) < 0) {
        bd_close(raw);
        return r;
    }
    if (!f->open) {
        bd_close(raw);
        return p2v_errf(err, -ENOTSUP,
                        "%s: %s image: not supported as a source; convert it to raw or qcow2 "
                        "with qemu-img first",
                        path, f->name);
    }
    return f->open(path, raw, data_size, o, out, err);
}
