/* p2v img map: the extents of an image and where their data lives, with
 * qemu-img map's fields (start, length, depth, present, zero, data, offset). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/img_ops.h"
#include "qcow2/qcow2.h"

static const char map_usage[] =
    "Usage: p2v img map [--output=json|human] [--io-timeout SECONDS] FILE\n"
    "\n"
    "List the extents of a qcow2, raw or fixed VHD image (backing chain followed):\n"
    "for "
    "each, whether it is allocated (present), reads as zero, holds data, at\n"
    "which depth of the chain, and at which offset of that layer's file.\n"
    "Human output lists the data extents with their file, as qemu-img map;\n"
    "like qemu-img, it stops with an error (exit 1) at compressed data, which\n"
    "has no offset in the file (--output=json shows it without an offset).\n"
    "FILE may be an NBD URI; --io-timeout SECONDS (default 60) fails the command\n"
    "when the server stays silent that long.\n";

struct map_out {
    bool json, first;
    blockdev **layers;
    unsigned nlayers;
};

static bool mergeable(const img_extent *a, const img_extent *b)
{
    return a->depth == b->depth && a->present == b->present && a->zero == b->zero &&
           a->data == b->data && a->has_offset == b->has_offset &&
           (!a->has_offset || a->offset + a->length == b->offset);
}

/* 0, or -1 when human output meets data with no offset in a file
 * (compressed clusters): qemu-img map refuses those the same way. */
static int emit(struct map_out *m, const img_extent *e)
{
    if (m->json) {
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u, \"present\": "
               "%s, \"zero\": %s, \"data\": %s",
               m->first ? "[" : ",\n", e->start, e->length, e->depth, e->present ? "true" : "false",
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset)
            printf(", \"offset\": %" PRIu64, e->offset);
        printf("}");
    } else if (e->data && !e->has_offset) {
        return -1;
    } else if (e->data && !e->zero) {
        const char *file = e->depth < m->nlayers ? bd_path(m->layers[e->depth]) : "";
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
               e->offset, file);
    }
    m->first = false;
    return 0;
}

int img_map_main(int argc, char **argv)
{
    int json;
    const char *path;
    source_opts so = { 0 };
    int r = img_parse_output_args(argc, argv, map_usage, &json, &so.io_timeout, &path);
    if (r)
        return r < 0 ? P2V_EXIT_OK : r;
    p2v_err err = { { 0 } };
    blockdev *bd = NULL;
    img_status_ctx *st = NULL;
    blockdev *layers[64];
    struct map_out m = { .json = json != 0, .first = true, .layers = layers };
    int ret = P2V_EXIT_FAIL;
    if (img_refuse_unsupported(path))
        return P2V_EXIT_FAIL;
    if (source_open(path, &so, &bd, &err) < 0 || img_status_open(bd, &st, &err) < 0)
        goto fail;
    for (blockdev *b = bd; b && m.nlayers < 64; b = qcow2_bd_backing(b))
        layers[m.nlayers++] = b;
    uint64_t size = bd_size(bd);
    size = qcow2_bd_image(bd) ? size & ~511ULL : (size + 511) & ~511ULL;
    if (!json)
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    img_extent cur = { 0 };
    bool have = false;
    for (uint64_t off = 0; off < size;) {
        img_extent e;
        if (img_status_get(st, off, size - off, &e, &err) < 0)
            goto fail;
        if (e.length == 0 || e.length > size - off)
            e.length = size - off;
        if (have && mergeable(&cur, &e)) {
            cur.length += e.length;
        } else {
            if (have && emit(&m, &cur) < 0)
                goto compressed;
            cur = e;
            have = true;
        }
        off += e.length;
    }
    if (have && emit(&m, &cur) < 0)
        goto compressed;
    if (json)
        printf("%s]\n", m.first ? "[" : "");
    ret = P2V_EXIT_OK;
    goto out;
compressed:
    fflush(stdout);
    cli_error("%s: File contains external, encrypted or compressed clusters.", path);
    goto out;
fail:
    fflush(stdout);
    cli_error("%s", err.msg);
out:
    img_status_close(st);
    bd_close(bd);
    return ret;
}
