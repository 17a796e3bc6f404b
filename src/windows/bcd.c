/* BCD device elements: parse the device encodings by their lengths, and
 * rewrite the partition references of a BCD hive through a move map. */
#include <errno.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "windows/windows.h"

#define DEV_PARTITION 6       /* block type of a partition device */
#define DEV_DISK 0            /* block type of a local device (ramdisk, disk...) */
#define LOCAL_RAMDISK 3       /* local device kind of a ramdisk */
#define FILE_REC_VERSION 1
#define FILE_REC_PATH 5
#define STYLE_GPT 0
#define STYLE_MBR 1
#define MAX_REFS 8

/* ---- the device encodings ---- */

static void part_block_read(const uint8_t *b, win_part_id *id)
{
    memset(id, 0, sizeof *id);
    id->gpt = get_le32(b + 36) == STYLE_GPT;
    if (id->gpt) {
        memcpy(id->part_guid.b, b + 16, 16);
        memcpy(id->disk_guid.b, b + 40, 16);
    } else {
        id->mbr_offset = get_le64(b + 16);
        id->mbr_signature = get_le32(b + 40);
    }
}

void win_bcd_device_set(uint8_t *elem, size_t offset, const win_part_id *id)
{
    uint8_t *b = elem + offset;
    memset(b + 16, 0, 16);
    memset(b + 40, 0, 16);
    put_le32(b + 32, 0);
    put_le32(b + 36, id->gpt ? STYLE_GPT : STYLE_MBR);
    if (id->gpt) {
        memcpy(b + 16, id->part_guid.b, 16);
        memcpy(b + 40, id->disk_guid.b, 16);
    } else {
        put_le64(b + 16, id->mbr_offset);
        put_le32(b + 40, id->mbr_signature);
    }
}

struct dev_walk {
    const uint8_t *e;
    win_dev_ref *refs;
    size_t max, n;
    char *why;
    size_t whylen;
};

static int bad(struct dev_walk *w, const char *fmt, size_t a, size_t b, size_t c)
{
    snprintf(w->why, w->whylen, fmt, a, b, c);
    return -EINVAL;
}

static int parse_block(struct dev_walk *w, size_t off, size_t end, int depth);

/* Where a ramdisk's image record would start if its local part is local
 * bytes long, and whether every length then adds up: the record (u32 1,
 * u32 length, u32 5) runs exactly to the end of the ramdisk block, and the
 * container block it nests fits in it, leaving a whole number of UTF-16
 * units for the path. 0 and *nested_end, or -EINVAL with why. */
static int ramdisk_layout(struct dev_walk *w, size_t off, size_t end, size_t local,
                          size_t *rec_out, size_t *nested_end)
{
    size_t rec = off + WIN_BCD_BLOCK_HDR + local;
    if (rec + WIN_BCD_FILE_HDR + WIN_BCD_BLOCK_HDR > end)
        return bad(w, "ramdisk device at byte %zu: %zu bytes leave no room for its image "
                   "record (need %zu)", off, end - off,
                   rec + WIN_BCD_FILE_HDR + WIN_BCD_BLOCK_HDR - off);
    uint32_t ver = get_le32(w->e + rec), len = get_le32(w->e + rec + 4);
    uint32_t kind = get_le32(w->e + rec + 8);
    if (ver != FILE_REC_VERSION || kind != FILE_REC_PATH)
        return bad(w, "ramdisk device at byte %zu: image record is version %zu kind %zu, "
                   "expected version 1 kind 5", off, ver, kind);
    if (len != end - rec)
        return bad(w, "ramdisk device at byte %zu: image record of %zu bytes, but %zu are "
                   "left in the block", off, len, end - rec);
    size_t nested = rec + WIN_BCD_FILE_HDR;
    uint32_t nsize = get_le32(w->e + nested + 8);
    if (nsize < WIN_BCD_BLOCK_HDR || nsize > end - nested || (end - nested - nsize) % 2)
        return bad(w, "ramdisk device at byte %zu: its container block of %zu bytes does "
                   "not fit the image record's %zu", off, nsize, end - nested);
    *rec_out = rec;
    *nested_end = nested + nsize;
    return 0;
}

/* A ramdisk: its local part, then an image record naming the .wim (version
 * 1, length, kind 5, the container device block, the UTF-16 path). Windows
 * writes the local part packed, 24 bytes (DiscUtils reads the container at
 * 0x34 of the block); p2v's earlier test stores padded it to 32. Only a
 * layout whose lengths all add up is taken (the two cannot both: one needs
 * 1 where the other needs 5), else the reason the Windows layout fails,
 * or the padded one's when its record starts with a 1. */
static int parse_ramdisk(struct dev_walk *w, size_t off, size_t end)
{
    size_t rec, nested_end;
    char first[200];
    if (ramdisk_layout(w, off, end, WIN_BCD_RAMDISK_LOCAL, &rec, &nested_end) == 0)
        return parse_block(w, rec + WIN_BCD_FILE_HDR, nested_end, 1);
    snprintf(first, sizeof first, "%s", w->why);
    if (ramdisk_layout(w, off, end, WIN_BCD_RAMDISK_LOCAL_PADDED, &rec, &nested_end) == 0)
        return parse_block(w, rec + WIN_BCD_FILE_HDR, nested_end, 1);
    size_t padded = off + WIN_BCD_BLOCK_HDR + WIN_BCD_RAMDISK_LOCAL_PADDED;
    /* A 1 there is no kind 5 of Windows' layout: the padded one was meant. */
    if (padded + 4 > end || get_le32(w->e + padded) != FILE_REC_VERSION)
        snprintf(w->why, w->whylen, "%s", first);
    return -EINVAL;
}

static int parse_block(struct dev_walk *w, size_t off, size_t end, int depth)
{
    if (off + WIN_BCD_BLOCK_HDR > end)
        return bad(w, "device block at byte %zu: %zu bytes left, a block needs %zu", off,
                   end - off, WIN_BCD_BLOCK_HDR);
    uint32_t type = get_le32(w->e + off), size = get_le32(w->e + off + 8);
    if (size < WIN_BCD_BLOCK_HDR || size > end - off)
        return bad(w, "device block at byte %zu: length %zu outside 16..%zu", off, size,
                   end - off);
    if (type == DEV_PARTITION) {
        if (size < WIN_BCD_PART_BLOCK)
            return bad(w, "partition device at byte %zu: length %zu, expected %zu", off, size,
                       WIN_BCD_PART_BLOCK);
        uint32_t style = get_le32(w->e + off + 36);
        if (style != STYLE_GPT && style != STYLE_MBR)
            return 0; /* a raw disk's partition: nothing p2v can map */
        if (w->n < w->max) {
            w->refs[w->n].offset = off;
            w->refs[w->n].depth = depth;
            part_block_read(w->e + off, &w->refs[w->n].id);
        }
        w->n++;
        return 0;
    }
    if (type == DEV_DISK && depth == 0 && size >= WIN_BCD_BLOCK_HDR + 4 &&
        get_le32(w->e + off + WIN_BCD_BLOCK_HDR) == LOCAL_RAMDISK)
        return parse_ramdisk(w, off, off + size);
    return 0; /* boot, locate, disk...: no partition named */
}

int win_bcd_device_parse(const uint8_t *elem, size_t len, win_dev_ref *refs, size_t max,
                         size_t *n, char *why, size_t whylen)
{
    struct dev_walk w = { .e = elem, .refs = refs, .max = max, .why = why, .whylen = whylen };
    *n = 0;
    if (len < WIN_BCD_GUID_LEN + WIN_BCD_BLOCK_HDR) {
        snprintf(why, whylen, "device element of %zu bytes, shorter than %d", len,
                 WIN_BCD_GUID_LEN + WIN_BCD_BLOCK_HDR);
        return -EINVAL;
    }
    int r = parse_block(&w, WIN_BCD_GUID_LEN, len, 0);
    *n = w.n;
    return r;
}

/* ---- rewriting a BCD hive ---- */

struct bcd_ctx {
    win_hive *bcd;
    hive_h *h;
    const win_map *m;
    const char *store;
    win_report *rep;
    unsigned changed;
    p2v_err *err;
};

/* The object's description (element 12000004) for messages, else its key. */
static void object_desc(struct bcd_ctx *c, hive_node_h obj, const char *key, char *out,
                        size_t cap)
{
    hive_node_h d = win_hive_walk(c->h, obj, "Elements\\12000004", false);
    hive_value_h v = d ? hivex_node_get_value(c->h, d, "Element") : 0;
    char *s = v ? hivex_value_string(c->h, v) : NULL;
    snprintf(out, cap, "%s", s ? s : key);
    free(s);
}

static bool is_device_element(const char *name, uint32_t *type)
{
    char *end;
    unsigned long t = strtoul(name, &end, 16);
    if (strlen(name) != 8 || *end)
        return false;
    *type = (uint32_t)t;
    return ((t >> 24) & 0xF) == 1;
}

/* Point each reference of one element at its new place; warn about the rest. */
static int fix_refs(struct bcd_ctx *c, uint8_t *val, const win_dev_ref *refs, size_t n,
                    const char *obj, const char *desc, uint32_t type, bool *dirty)
{
    for (size_t i = 0; i < n && i < MAX_REFS; i++) {
        char from[160], to[160];
        win_part_id_format(&refs[i].id, from, sizeof from);
        const win_move *mv = win_map_find(c->m, &refs[i].id);
        if (!mv) {
            p2v_warn(&c->rep->warnings, "%s: \"%s\" (%s, element %08x) points at a partition "
                     "that is not in the image (%s)", c->store, desc, obj, type, from);
            continue;
        }
        win_bcd_device_set(val, refs[i].offset, &mv->to);
        win_part_id_format(&mv->to, to, sizeof to);
        p2v_warn(&c->rep->changes, "%s: \"%s\" (%s) element %08x%s: %s -> %s (%s)", c->store,
                 desc, obj, type, refs[i].depth ? " (ramdisk image)" : "", from, to, mv->what);
        *dirty = true;
    }
    return 0;
}

static int fix_element(struct bcd_ctx *c, hive_node_h el, const char *obj, const char *desc,
                       uint32_t type)
{
    hive_value_h v = hivex_node_get_value(c->h, el, "Element");
    hive_type t;
    size_t len;
    char *raw = v ? hivex_value_value(c->h, v, &t, &len) : NULL;
    if (!raw)
        return 0;
    win_dev_ref refs[MAX_REFS];
    size_t n;
    char why[200];
    bool dirty = false;
    int r = 0;
    if (win_bcd_device_parse((uint8_t *)raw, len, refs, MAX_REFS, &n, why, sizeof why) < 0) {
        p2v_warn(&c->rep->warnings, "%s: \"%s\" (%s) element %08x left as it is: %s",
                 c->store, desc, obj, type, why);
        goto out;
    }
    fix_refs(c, (uint8_t *)raw, refs, n, obj, desc, type, &dirty);
    if (dirty) {
        hive_set_value sv = { .key = (char *)"Element", .t = t, .len = len, .value = raw };
        if (hivex_node_set_value(c->h, el, &sv, 0) != 0) {
            r = p2v_errf_at(c->err, -EIO, win_hive_what(c->bcd),
                            "%s element %08x: hivex could not store it (%s)", obj, type,
                            strerror(errno));
            goto out;
        }
        c->changed++;
    }
out:
    free(raw);
    return r;
}

/* Drop FirmwareVariable values (copies of a UEFI Boot#### variable whose
 * device path names the old partition) from an object's Description. */
static int drop_firmware_variable(struct bcd_ctx *c, hive_node_h obj, const char *objname,
                                  const char *desc)
{
    hive_node_h d = win_hive_walk(c->h, obj, "Description", false);
    hive_value_h fv = d ? hivex_node_get_value(c->h, d, "FirmwareVariable") : 0;
    if (!fv)
        return 0;
    hive_value_h *vals = hivex_node_values(c->h, d);
    size_t n = 0, k = 0;
    while (vals && vals[n])
        n++;
    hive_set_value *keep = calloc(n ? n : 1, sizeof *keep);
    int r = 0;
    for (size_t i = 0; keep && i < n; i++) {
        if (vals[i] == fv)
            continue;
        keep[k].key = hivex_value_key(c->h, vals[i]);
        keep[k].value = hivex_value_value(c->h, vals[i], &keep[k].t, &keep[k].len);
        if (!keep[k].key || !keep[k].value)
            r = -EIO;
        k++;
    }
    if (!vals || !keep || r < 0 || hivex_node_set_values(c->h, d, k, keep, 0) != 0)
        r = p2v_errf_at(c->err, -EIO, win_hive_what(c->bcd),
                        "%s: FirmwareVariable could not be dropped", objname);
    else
        p2v_warn(&c->rep->changes, "%s: \"%s\" (%s) FirmwareVariable dropped (a stale copy of "
                 "the firmware's boot entry)", c->store, desc, objname);
    for (size_t i = 0; keep && i < k; i++) {
        free(keep[i].key);
        free(keep[i].value);
    }
    free(keep);
    free(vals);
    return r;
}

static int fix_object(struct bcd_ctx *c, hive_node_h obj)
{
    char *key = hivex_node_name(c->h, obj), desc[256];
    if (!key)
        return p2v_errf_at(c->err, -EIO, win_hive_what(c->bcd), "unreadable object key");
    object_desc(c, obj, key, desc, sizeof desc);
    hive_node_h els = win_hive_walk(c->h, obj, "Elements", false);
    hive_node_h *kids = els ? hivex_node_children(c->h, els) : NULL;
    int r = 0;
    for (size_t i = 0; kids && kids[i] && r == 0; i++) {
        char *name = hivex_node_name(c->h, kids[i]);
        uint32_t type;
        if (name && is_device_element(name, &type))
            r = fix_element(c, kids[i], key, desc, type);
        free(name);
    }
    free(kids);
    if (r == 0)
        r = drop_firmware_variable(c, obj, key, desc);
    free(key);
    return r;
}

int win_bcd_rewrite(win_hive *bcd, const win_map *m, const char *store, win_report *rep,
                    unsigned *changed, p2v_err *err)
{
    struct bcd_ctx c = { .bcd = bcd, .h = win_hive_h(bcd), .m = m, .store = store, .rep = rep,
                         .err = err };
    *changed = 0;
    hive_node_h objs = win_hive_node(bcd, "Objects");
    if (!objs)
        return p2v_errf_at(err, -EINVAL, win_hive_what(bcd), "not a BCD store (no Objects key)");
    hive_node_h *kids = hivex_node_children(c.h, objs);
    if (!kids)
        return p2v_errf_at(err, -EIO, win_hive_what(bcd), "Objects cannot be listed");
    int r = 0;
    for (size_t i = 0; kids[i] && r == 0; i++)
        r = fix_object(&c, kids[i]);
    free(kids);
    *changed = c.changed;
    return r;
}
