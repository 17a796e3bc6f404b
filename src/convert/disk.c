/* One source disk as every front end sees it: opened read-only, its table
 * read, each partition's filesystem probed (and, when asked, its used bytes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "source/source.h"
#include "convert/convert.h"
#include "fs/fsmap.h"

/* Used bytes come from the filesystem maps, the same ones the copy follows.
 * A map that only says "copy everything" (used_bytes 0, full) is "unknown". */
static void part_used_bytes(blockdev *bd, uint64_t off, uint64_t len, convert_part *v)
{
    fsmap m;
    fsmap_opts o = { .allow_dirty = true };
    p2v_err err;
    v->used_known = false;
    if (fsmap_build(bd, off, len, &o, &m, &err) < 0)
        return;
    if (!(m.full && m.used_bytes == 0)) {
        v->used_known = true;
        v->used = m.used_bytes;
    }
    fsmap_free(&m);
}

/* Does the NTFS/FAT boot sector at `off` carry BIOS boot code? */
static bool bios_boot_sector(blockdev *bd, uint64_t off, enum fs_kind kind)
{
    uint8_t b[512];
    p2v_err e;
    return bd_pread(bd, b, sizeof b, off, &e) == 0 && boot_vbr_has_code(b, kind);
}

static void probe_part(convert_disk *d, convert_part *v, const convert_disk_opts *o)
{
    const ptable_part *p = v->p;
    const ptable *t = d->pt;
    if (p->container || (p->problems & PTABLE_PROBLEM_PAST_END))
        return;
    uint64_t off = p->start * t->sector_size, len = p->size * t->sector_size;
    if (off + len > bd_size(d->bd))
        return;
    p2v_err err;
    if (fs_probe(d->bd, off, len, &v->fs, &err) < 0) {
        size_t n = strnlen(err.msg, sizeof v->probe_error - 1);
        memcpy(v->probe_error, err.msg, n);
        v->probe_error[n] = '\0';
        return;
    }
    v->probed = true;
    v->bios_boot_code = bios_boot_sector(d->bd, off, v->fs.kind);
    if (o->used)
        part_used_bytes(d->bd, off, len, v);
    /* Windows and its boot stores; a volume libntfs-3g cannot mount just
     * shows none (the copy reports its state). */
    if (v->fs.kind == FS_NTFS)
        v->win_probed = win_detect_part(d->bd, off, len, &v->win, &err) == 0;
    else if (v->fs.kind == FS_FAT)
        v->win_probed = win_detect_fat(d->bd, off, len, &v->win, &err) == 0;
}

int convert_disk_from_bd(blockdev *bd, const convert_disk_opts *o, convert_disk **out,
                         p2v_err *err)
{
    static const convert_disk_opts defaults;
    convert_disk *d = calloc(1, sizeof *d);
    int r;
    *out = NULL;
    o = o ? o : &defaults;
    if (!d || !(d->path = strdup(bd_path(bd)))) {
        free(d);
        bd_close(bd);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    d->bd = bd;
    /* Image files only: a block device's own logical sector size (BLKSSZGET) stands. */
    if (o->sector_size && bd_sector_size_is_default(bd))
        bd_set_sector_size(bd, o->sector_size);
    if ((r = ptable_read(bd, &d->pt, err)) < 0)
        goto fail;
    if (d->pt->nparts && !(d->parts = calloc(d->pt->nparts, sizeof *d->parts))) {
        r = p2v_errf(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < d->pt->nparts; i++) {
        d->parts[i].p = &d->pt->parts[i];
        probe_part(d, &d->parts[i], o);
    }
    p2v_err werr;
    if (d->pt->type == PTABLE_NONE && o->whole && bd_size(bd) > 0 &&
        fs_probe(bd, 0, bd_size(bd), &d->whole, &werr) < 0)
        p2v_warn(&d->pt->warnings, "%s", werr.msg);
    *out = d;
    return 0;
fail:
    convert_disk_free(d);
    return r;
}

int convert_disk_open(const char *path, const convert_disk_opts *o, convert_disk **out,
                      p2v_err *err)
{
    blockdev *bd;
    struct stat st;
    int r;
    *out = NULL;
    source_opts so = { .io_timeout = o ? o->io_timeout : 0 };
    if ((r = source_open(path, &so, &bd, err)) < 0)
        return r;
    /* A source that is no file (an NBD export) has no stat: only files and
     * devices are compared with OUTPUT. */
    bool has_st = stat(path, &st) == 0;
    if ((r = convert_disk_from_bd(bd, o, out, err)) < 0)
        return r;
    /* the name the user gave, which bd_path may have resolved */
    char *p = strdup(path);
    if (!p) {
        convert_disk_free(*out);
        *out = NULL;
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    free((*out)->path);
    (*out)->path = p;
    if (has_st)
        (*out)->st = st;
    (*out)->has_st = has_st;
    return 0;
}

const convert_part *convert_disk_part(const convert_disk *d, unsigned number)
{
    for (size_t i = 0; d->pt && i < d->pt->nparts; i++)
        if (d->parts[i].p->number == number)
            return &d->parts[i];
    return NULL;
}

void convert_disk_free(convert_disk *d)
{
    if (!d)
        return;
    free(d->parts);
    ptable_free(d->pt);
    bd_close(d->bd);
    free(d->path);
    free(d);
}
