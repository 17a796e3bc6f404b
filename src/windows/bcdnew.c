/* A new boot store (BIOS or UEFI) made offline from BCD-Template, as
 * bcdboot makes it:
 * objects and elements written with hivex, device elements in the same
 * encoding the rewrite reads (docs/windows.md). */
#include <errno.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "windows/windows.h"

#define BOOTMGR "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
#define MEMDIAG "{b2721d73-1db4-4c62-bf78-c548a880142d}"
/* bcdboot gives the loader and its resume object fresh GUIDs; p2v uses
 * fixed ones so a store it makes is reproducible. */
#define LOADER "{5a9a1e42-7a1c-4e0b-9a4e-70327640b001}"
#define RESUME "{5a9a1e42-7a1c-4e0b-9a4e-70327640b002}"

struct bcd_new {
    hive_h *h;
    const char *what;
    p2v_err *err;
};

/* The child `name` of parent (0: the root), made when missing. */
static hive_node_h child(struct bcd_new *c, hive_node_h parent, const char *name)
{
    hive_node_h n = win_hive_walk(c->h, parent, name, true);
    if (!n)
        p2v_errf_at(c->err, -EIO, c->what, "key %s cannot be made (%s)", name, strerror(errno));
    return n;
}

static int set_value(struct bcd_new *c, hive_node_h node, const char *key, hive_type t,
                     const void *data, size_t len)
{
    hive_set_value v = { .key = (char *)key, .t = t, .len = len, .value = (char *)data };
    if (hivex_node_set_value(c->h, node, &v, 0) != 0)
        return p2v_errf_at(c->err, -EIO, c->what, "value %s cannot be set (%s)", key,
                           strerror(errno));
    return 0;
}

/* UTF-16LE of an ASCII string, with NUL (two for a multi-string). */
static size_t utf16(const char *s, uint8_t *out, size_t cap, bool multi)
{
    size_t n = 0;
    for (; *s && n + 6 <= cap; s++, n += 2)
        put_le16(out + n, (uint16_t)(*s == '|' && multi ? 0 : (unsigned char)*s));
    put_le16(out + n, 0);
    n += 2;
    if (multi) {
        put_le16(out + n, 0);
        n += 2;
    }
    return n;
}

static int element(struct bcd_new *c, hive_node_h obj, const char *type, hive_type t,
                   const void *data, size_t len)
{
    hive_node_h els = child(c, obj, "Elements");
    hive_node_h el = els ? child(c, els, type) : 0;
    return el ? set_value(c, el, "Element", t, data, len) : -EIO;
}

static int el_string(struct bcd_new *c, hive_node_h obj, const char *type, const char *s,
                     bool multi)
{
    uint8_t buf[600];
    size_t n = utf16(s, buf, sizeof buf, multi);
    return element(c, obj, type, multi ? hive_t_REG_MULTI_SZ : hive_t_REG_SZ, buf, n);
}

static int el_device(struct bcd_new *c, hive_node_h obj, const char *type, const win_part_id *id)
{
    uint8_t d[WIN_BCD_GUID_LEN + WIN_BCD_PART_BLOCK] = { 0 };
    put_le32(d + WIN_BCD_GUID_LEN, 6);
    put_le32(d + WIN_BCD_GUID_LEN + 8, WIN_BCD_PART_BLOCK);
    win_bcd_device_set(d, WIN_BCD_GUID_LEN, id);
    return element(c, obj, type, hive_t_REG_BINARY, d, sizeof d);
}

static int el_integer(struct bcd_new *c, hive_node_h obj, const char *type, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    return element(c, obj, type, hive_t_REG_BINARY, b, sizeof b);
}

static hive_node_h object(struct bcd_new *c, hive_node_h objs, const char *guid, uint32_t type)
{
    hive_node_h o = child(c, objs, guid);
    hive_node_h d = o ? child(c, o, "Description") : 0;
    uint8_t t[4];
    put_le32(t, type);
    if (!d || set_value(c, d, "Type", hive_t_REG_DWORD, t, 4) < 0)
        return 0;
    return o;
}

/* What differs between the firmware kinds: the boot manager's own file
 * (none for BIOS: bootmgr sits at the root and the boot code loads it), the
 * loaders' files. */
struct bcd_paths {
    const char *bootmgr;      /* NULL: no path element */
    const char *winload;
    const char *winresume;
    const char *memtest;
};

static const struct bcd_paths paths_bios = {
    .bootmgr = NULL,
    .winload = "\\Windows\\system32\\winload.exe",
    .winresume = "\\Windows\\system32\\winresume.exe",
    .memtest = "\\boot\\memtest.exe",
};

static const struct bcd_paths paths_uefi = {
    .bootmgr = "\\EFI\\Microsoft\\Boot\\bootmgfw.efi",
    .winload = "\\Windows\\system32\\winload.efi",
    .winresume = "\\Windows\\system32\\winresume.efi",
    .memtest = "\\EFI\\Microsoft\\Boot\\memtest.efi",
};

static int make_bootmgr(struct bcd_new *c, hive_node_h bm, const win_bcd_new *b, const char *loc,
                        const struct bcd_paths *f)
{
    int r;
    if ((r = el_device(c, bm, "11000001", &b->boot)) < 0 ||
        (f->bootmgr && (r = el_string(c, bm, "12000002", f->bootmgr, false)) < 0) ||
        (r = el_string(c, bm, "12000004", "Windows Boot Manager", false)) < 0 ||
        (r = el_string(c, bm, "12000005", loc, false)) < 0 ||
        (r = el_string(c, bm, "23000003", LOADER, false)) < 0 ||
        (r = el_string(c, bm, "24000001", LOADER, true)) < 0 ||
        (r = el_string(c, bm, "24000010", MEMDIAG, true)) < 0 ||
        (r = el_integer(c, bm, "25000004", 30)) < 0)
        return r;
    return 0;
}

static int make_loaders(struct bcd_new *c, hive_node_h ld, hive_node_h rs, hive_node_h md,
                        const win_bcd_new *b, const char *desc, const char *loc,
                        const struct bcd_paths *f)
{
    int r;
    if ((r = el_device(c, ld, "11000001", &b->os)) < 0 ||
        (r = el_string(c, ld, "12000002", f->winload, false)) < 0 ||
        (r = el_string(c, ld, "12000004", desc, false)) < 0 ||
        (r = el_string(c, ld, "12000005", loc, false)) < 0 ||
        (r = el_device(c, ld, "21000001", &b->os)) < 0 ||
        (r = el_string(c, ld, "22000002", "\\Windows", false)) < 0 ||
        (r = el_string(c, ld, "23000003", RESUME, false)) < 0)
        return r;
    if ((r = el_device(c, rs, "11000001", &b->os)) < 0 ||
        (r = el_string(c, rs, "12000002", f->winresume, false)) < 0 ||
        (r = el_string(c, rs, "12000004", "Windows Resume Application", false)) < 0 ||
        (r = el_device(c, rs, "21000001", &b->os)) < 0 ||
        (r = el_string(c, rs, "22000002", "\\hiberfil.sys", false)) < 0)
        return r;
    if ((r = el_device(c, md, "11000001", &b->boot)) < 0 ||
        (r = el_string(c, md, "12000002", f->memtest, false)) < 0 ||
        (r = el_string(c, md, "12000004", "Windows Memory Diagnostic", false)) < 0)
        return r;
    return 0;
}

/* The objects bcdboot makes, for either firmware; one change line each. */
static int create(win_hive *bcd, const win_bcd_new *b, const struct bcd_paths *f,
                  win_report *rep, p2v_err *err)
{
    struct bcd_new c = { .h = win_hive_h(bcd), .what = win_hive_what(bcd), .err = err };
    const char *desc = b->description ? b->description : "Windows";
    const char *loc = b->locale ? b->locale : "en-US";
    hive_node_h objs = child(&c, 0, "Objects");
    hive_node_h bm = objs ? object(&c, objs, BOOTMGR, 0x10100002) : 0;
    hive_node_h ld = bm ? object(&c, objs, LOADER, 0x10200003) : 0;
    hive_node_h rs = ld ? object(&c, objs, RESUME, 0x10200004) : 0;
    hive_node_h md = rs ? object(&c, objs, MEMDIAG, 0x10200005) : 0;
    int r = md ? 0 : -EIO;
    if (r == 0 && (r = make_bootmgr(&c, bm, b, loc, f)) == 0)
        r = make_loaders(&c, ld, rs, md, b, desc, loc, f);
    if (r < 0)
        return r;
    char bs[160], os[160];
    win_part_id_format(&b->boot, bs, sizeof bs);
    win_part_id_format(&b->os, os, sizeof os);
    p2v_warn(&rep->changes, "%s: new \"Windows Boot Manager\" (%s)%s%s on %s", c.what, BOOTMGR,
             f->bootmgr ? ": " : "", f->bootmgr ? f->bootmgr : "", bs);
    p2v_warn(&rep->changes, "%s: new \"%s\" (%s): %s on %s", c.what, desc, LOADER, f->winload,
             os);
    p2v_warn(&rep->changes, "%s: new \"Windows Resume Application\" (%s): %s on %s", c.what,
             RESUME, f->winresume, os);
    p2v_warn(&rep->changes, "%s: new \"Windows Memory Diagnostic\" (%s): %s on %s", c.what,
             MEMDIAG, f->memtest, bs);
    return 0;
}

int win_bcd_create_bios(win_hive *bcd, const win_bcd_new *b, win_report *rep, p2v_err *err)
{
    return create(bcd, b, &paths_bios, rep, err);
}

int win_bcd_create_uefi(win_hive *bcd, const win_bcd_new *b, win_report *rep, p2v_err *err)
{
    return create(bcd, b, &paths_uefi, rep, err);
}
