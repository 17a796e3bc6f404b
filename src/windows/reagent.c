/* WinRE's \Windows\System32\Recovery\ReAgent.xml: where the recovery image
 * lives. reagentc writes elements such as
 *   <WinreLocation path="\Recovery\WindowsRE" id="0" offset="1048576"
 *                  guid="{...}"/>
 * naming a partition by its byte offset and its disk: on an MBR disk id is
 * the disk signature in decimal and guid is all zeros; on a GPT disk id is
 * 0 and guid is the disk GUID (docs/windows.md). The file is untrusted text:
 * it is scanned tag by tag within its length, and everything but the values
 * rewritten is copied byte for byte. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "windows/windows.h"

#define ATTR_MAX 16

struct span {
    size_t off, len;
};

struct tag {
    struct span name;
    struct span attr_name[ATTR_MAX], attr_val[ATTR_MAX];
    size_t nattr;
    size_t end;               /* just past '>' */
};

static bool is_name_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == ':' || c == '.';
}

static size_t skip_space(const uint8_t *x, size_t len, size_t i)
{
    while (i < len && (x[i] == ' ' || x[i] == '\t' || x[i] == '\r' || x[i] == '\n'))
        i++;
    return i;
}

/* The start tag at x[i] == '<': its name and attributes. false when it is
 * not a start tag with well-formed attributes (left alone). */
static bool parse_tag(const uint8_t *x, size_t len, size_t i, struct tag *t)
{
    size_t p = i + 1;
    t->nattr = 0;
    t->name.off = p;
    while (p < len && is_name_char(x[p]))
        p++;
    t->name.len = p - t->name.off;
    if (t->name.len == 0)
        return false;
    for (;;) {
        p = skip_space(x, len, p);
        if (p < len && x[p] == '/')
            p++;
        if (p >= len)
            return false;
        if (x[p] == '>') {
            t->end = p + 1;
            return true;
        }
        size_t n0 = p;
        while (p < len && is_name_char(x[p]))
            p++;
        if (p == n0 || t->nattr == ATTR_MAX)
            return false;
        size_t n1 = p;
        p = skip_space(x, len, p);
        if (p >= len || x[p] != '=')
            return false;
        p = skip_space(x, len, p + 1);
        if (p >= len || (x[p] != '"' && x[p] != '\''))
            return false;
        uint8_t q = x[p++];
        size_t v0 = p;
        while (p < len && x[p] != q)
            p++;
        if (p >= len)
            return false;
        t->attr_name[t->nattr] = (struct span){ n0, n1 - n0 };
        t->attr_val[t->nattr++] = (struct span){ v0, p - v0 };
        p++;
    }
}

/* Index of attribute `name`, or -1. */
static int attr(const uint8_t *x, const struct tag *t, const char *name)
{
    size_t nl = strlen(name);
    for (size_t k = 0; k < t->nattr; k++)
        if (t->attr_name[k].len == nl && !memcmp(x + t->attr_name[k].off, name, nl))
            return (int)k;
    return -1;
}

/* A value as a C string (truncated to cap). */
static void value(const uint8_t *x, struct span s, char *out, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(out, x + s.off, n);
    out[n] = '\0';
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    if (!*s || strlen(s) > 20)
        return false;
    uint64_t n = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *v = n;
    return n <= max;
}

/* The move of the partition a location names (MBR: signature + offset; GPT:
 * disk GUID + offset), or NULL. */
static const win_move *find_move(const win_map *m, bool gpt, uint32_t sig, const p2v_guid *disk,
                                 uint64_t offset)
{
    for (size_t i = 0; m && i < m->count; i++) {
        const win_part_id *f = &m->v[i].from;
        if (f->gpt == gpt && f->mbr_offset == offset &&
            (gpt ? guid_equal(&f->disk_guid, disk) : f->mbr_signature == sig))
            return &m->v[i];
    }
    return NULL;
}

struct outbuf {
    uint8_t *b;
    size_t n, cap;
    size_t copied;            /* input bytes copied so far */
};

static int put(struct outbuf *o, const void *d, size_t n)
{
    uint8_t *b = array_room_n(o->b, &o->cap, o->n, n, 1, 64);
    if (!b)
        return -ENOMEM;
    o->b = b;
    memcpy(o->b + o->n, d, n);
    o->n += n;
    return 0;
}

/* Copy input up to value span s, then the new text instead of it. */
static int replace(struct outbuf *o, const uint8_t *x, struct span s, const char *text)
{
    int r = put(o, x + o->copied, s.off - o->copied);
    if (r == 0)
        r = put(o, text, strlen(text));
    o->copied = s.off + s.len;
    return r;
}

struct loc_ctx {
    const uint8_t *x;
    const win_map *m;
    const char *what;
    win_report *rep;
    unsigned changed;
    unsigned seen;              /* *Location elements met, in use or not */
    struct outbuf o;
};

/* A *Location element's values and the partition they name. */
struct loc_ref {
    char path[256], id[32], off[32], g[48], tname[64];
    uint64_t sig, offset;
    p2v_guid disk;
    int ii, io, ig;             /* the attributes' indexes */
};

/* Read the reference of *Location element t: -1 when it is not in use (an
 * attribute missing, an empty path), 0 when its values are not a partition
 * reference p2v reads, 1 when r holds one. The one reading both the rewrite
 * and win_reagent_winre make. */
static int location_ref(const uint8_t *x, const struct tag *t, struct loc_ref *r)
{
    int ip = attr(x, t, "path");
    r->ii = attr(x, t, "id"), r->io = attr(x, t, "offset"), r->ig = attr(x, t, "guid");
    if (ip < 0 || r->ii < 0 || r->io < 0 || r->ig < 0 || t->attr_val[ip].len == 0)
        return -1;
    value(x, t->attr_val[ip], r->path, sizeof r->path);
    value(x, t->attr_val[r->ii], r->id, sizeof r->id);
    value(x, t->attr_val[r->io], r->off, sizeof r->off);
    value(x, t->attr_val[r->ig], r->g, sizeof r->g);
    value(x, t->name, r->tname, sizeof r->tname);
    return parse_u64(r->id, UINT32_MAX, &r->sig) && parse_u64(r->off, UINT64_MAX, &r->offset) &&
           guid_parse(r->g, &r->disk) == 0;
}

/* One *Location element: rewritten when it names a moved partition. */
static int do_location(struct loc_ctx *c, const struct tag *t)
{
    struct loc_ref lr;
    int k = location_ref(c->x, t, &lr);
    if (k < 0)
        return 0; /* not in use */
    const char *path = lr.path, *id = lr.id, *off = lr.off, *g = lr.g, *tname = lr.tname;
    uint64_t sig = lr.sig, offset = lr.offset;
    p2v_guid disk = lr.disk;
    int ii = lr.ii, io = lr.io, ig = lr.ig;
    if (k == 0) {
        p2v_warn(&c->rep->warnings, "%s: %s (%s): id \"%s\", offset \"%s\", guid \"%s\" are not "
                 "a partition reference p2v reads; left as it is", c->what, tname, path, id, off,
                 g);
        return 0;
    }
    bool gpt = !guid_is_zero(&disk);
    const win_move *mv = find_move(c->m, gpt, (uint32_t)sig, &disk, offset);
    if (!mv) {
        p2v_warn(&c->rep->warnings, "%s: %s (%s) points at a partition that is not in the "
                 "image; left as it is", c->what, tname, path);
        return 0;
    }
    char nid[16], noff[32], ng[40], gs[P2V_GUID_STRLEN];
    snprintf(nid, sizeof nid, "%" PRIu32, mv->to.gpt ? 0 : mv->to.mbr_signature);
    snprintf(noff, sizeof noff, "%" PRIu64, mv->to.mbr_offset);
    p2v_guid zero = { { 0 } };
    guid_format(mv->to.gpt ? &mv->to.disk_guid : &zero, gs);
    snprintf(ng, sizeof ng, "{%s}", gs);
    /* the attributes in the order they appear in the tag */
    int order[3] = { ii, io, ig };
    const char *text[3] = { nid, noff, ng };
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (t->attr_val[order[b]].off < t->attr_val[order[a]].off) {
                int ti = order[a];
                const char *tt = text[a];
                order[a] = order[b];
                text[a] = text[b];
                order[b] = ti;
                text[b] = tt;
            }
    for (int a = 0; a < 3; a++)
        if (replace(&c->o, c->x, t->attr_val[order[a]], text[a]) < 0)
            return -ENOMEM;
    p2v_warn(&c->rep->changes, "%s: %s (%s): id %s offset %s guid %s -> id %s offset %s guid %s "
             "(%s)", c->what, tname, path, id, off, g, nid, noff, ng, mv->what);
    c->changed++;
    return 0;
}

static bool ends_with(const uint8_t *x, struct span s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && !memcmp(x + s.off + s.len - n, suffix, n);
}

int win_reagent_rewrite(const uint8_t *xml, size_t len, const win_map *m, const char *what,
                        uint8_t **out, size_t *olen, win_report *rep, unsigned *changed,
                        p2v_err *err)
{
    struct loc_ctx c = { .x = xml, .m = m, .what = what, .rep = rep };
    *out = NULL;
    *olen = 0;
    *changed = 0;
    if (len >= 2 && ((xml[0] == 0xFF && xml[1] == 0xFE) || (xml[0] == 0xFE && xml[1] == 0xFF))) {
        p2v_warn(&rep->warnings, "%s: UTF-16 text, which p2v does not rewrite; WinRE shows as "
                 "disabled until reagentc /enable", what);
        return 0;
    }
    /* XML in UTF-8 or ANSI has no NUL byte; UTF-16 without a BOM has many. */
    if (memchr(xml, 0, len)) {
        p2v_warn(&rep->warnings, "%s: NUL bytes in it (UTF-16 without a byte order mark, or not "
                 "text), which p2v does not rewrite; WinRE shows as disabled until reagentc "
                 "/enable", what);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        struct tag t;
        if (xml[i] != '<' || !parse_tag(xml, len, i, &t))
            continue;
        c.seen += ends_with(xml, t.name, "Location");
        if (ends_with(xml, t.name, "Location") && do_location(&c, &t) < 0) {
            free(c.o.b);
            return p2v_errf(err, -ENOMEM, "out of memory");
        }
        i = t.end - 1;
    }
    if (c.seen == 0)
        p2v_warn(&rep->warnings, "%s: no WinreLocation (or other *Location) element p2v can read (damaged, cut short "
                 "or another format), so it is not rewritten; WinRE may show as disabled until "
                 "reagentc /enable", what);
    if (c.changed == 0) {
        free(c.o.b);
        return 0;
    }
    if (put(&c.o, xml + c.o.copied, len - c.o.copied) < 0) {
        free(c.o.b);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    *out = c.o.b;
    *olen = c.o.n;
    *changed = c.changed;
    return 0;
}

bool win_reagent_winre(const uint8_t *xml, size_t len, win_part_id *loc)
{
    memset(loc, 0, sizeof *loc);
    if (memchr(xml, 0, len))
        return false; /* UTF-16 (or not text): not read, as the rewrite does not */
    for (size_t i = 0; i < len; i++) {
        struct tag t;
        struct loc_ref lr;
        if (xml[i] != '<' || !parse_tag(xml, len, i, &t))
            continue;
        i = t.end - 1;
        if (t.name.len != strlen("WinreLocation") ||
            memcmp(xml + t.name.off, "WinreLocation", t.name.len) ||
            location_ref(xml, &t, &lr) != 1)
            continue;
        loc->gpt = !guid_is_zero(&lr.disk);
        loc->mbr_signature = loc->gpt ? 0 : (uint32_t)lr.sig;
        loc->disk_guid = lr.disk;
        loc->mbr_offset = lr.offset;
        return true;
    }
    return false;
}
