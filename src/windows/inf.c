/* INF syntax: decoding, lines, sections, fields and %string% substitution. */
#include "windows/inf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/array.h"
#include "util/endian.h"
#include "util/utf8.h"

typedef struct inf_string_ent {
    const char *name;
    const char *value;
} inf_string_ent;

struct inf {
    inf_section *secs;
    size_t nsecs;
    size_t cap;
    inf_string_ent *strings; /* sorted by name, case-insensitive */
    size_t nstrings;
};

/* ---- decoding to UTF-8 ---- */

typedef struct text {
    char *p;
    size_t len;
    size_t cap;
} text;

static int text_put(text *t, const char *s, size_t n)
{
    char *np = array_room_n(t->p, &t->cap, t->len, n + 1, 1, 256); /* and its NUL */
    if (!np)
        return -ENOMEM;
    t->p = np;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static int text_put_cp(text *t, uint32_t cp)
{
    char b[4];
    if (cp == 0)
        cp = ' '; /* a NUL would end the C string early */
    return text_put(t, b, utf8_encode(cp, b));
}

static int decode_utf16le(const uint8_t *buf, size_t len, text *t)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t cp = get_le16(buf + i);
        if (cp >= 0xD800 && cp < 0xDC00 && i + 3 < len) {
            uint32_t lo = get_le16(buf + i + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else {
                cp = '?';
            }
        } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = '?'; /* a lone surrogate */
        }
        if (text_put_cp(t, cp) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* UTF-8 passes through (NULs made spaces); other bytes >= 0x80 of an ANSI
 * file are taken as Latin-1. Only ASCII matters to the parser. */
static int decode_8bit(const uint8_t *buf, size_t len, bool utf8, text *t)
{
    for (size_t i = 0; i < len; i++) {
        int rc;
        if (utf8 && buf[i] >= 0x80) {
            char c = (char)buf[i];
            rc = text_put(t, &c, 1);
        } else {
            rc = text_put_cp(t, buf[i]);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool looks_utf8(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = buf[i] < 0x80 ? 1 : (buf[i] & 0xE0) == 0xC0 ? 2 : (buf[i] & 0xF0) == 0xE0 ? 3
                                   : (buf[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || i + n > len)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((buf[i + k] & 0xC0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

static int inf_decode(const uint8_t *buf, size_t len, text *t)
{
    int rc;
    if (len >= 2 && buf[0] == 0xFF && buf[1] == 0xFE)
        rc = decode_utf16le(buf + 2, len - 2, t);
    else if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        rc = decode_8bit(buf + 3, len - 3, true, t);
    else
        rc = decode_8bit(buf, len, looks_utf8(buf, len), t);
    if (rc == 0 && !t->p)
        rc = text_put(t, "", 0);
    return rc;
}

/* ---- building sections ---- */

static void line_free(inf_line *l)
{
    free(l->key);
    for (size_t i = 0; i < l->nfields; i++)
        free(l->fields[i]);
    free(l->fields);
}

void inf_free(inf *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nsecs; i++) {
        for (size_t j = 0; j < f->secs[i].nlines; j++)
            line_free(&f->secs[i].lines[j]);
        free(f->secs[i].lines);
        free(f->secs[i].name);
    }
    free(f->secs);
    free(f->strings);
    free(f);
}

static inf_section *section_get(inf *f, const char *name)
{
    for (size_t i = 0; i < f->nsecs; i++)
        if (strcasecmp(f->secs[i].name, name) == 0)
            return &f->secs[i];
    inf_section *n = array_room(f->secs, &f->cap, f->nsecs, sizeof *n, 16);
    if (!n)
        return NULL;
    f->secs = n;
    inf_section *s = &f->secs[f->nsecs];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name)
        return NULL;
    f->nsecs++;
    return s;
}

static int section_add_line(inf_section *s, inf_line *l)
{
    inf_line *n = array_room(s->lines, &s->cap, s->nlines, sizeof *n, 8);
    if (!n)
        return -ENOMEM;
    s->lines = n;
    s->lines[s->nlines++] = *l;
    return 0;
}

/* ---- one logical line into key and fields ---- */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

typedef struct field_buf {
    text cur;
    bool quoted_any;   /* the field had a quoted part: keep its spaces */
    size_t keep_until; /* length that trailing-space trimming must not cut */
} field_buf;

static char *field_take(field_buf *fb)
{
    if (!fb->cur.p && text_put(&fb->cur, "", 0) < 0)
        return NULL;
    while (fb->cur.len > fb->keep_until && is_blank(fb->cur.p[fb->cur.len - 1]))
        fb->cur.p[--fb->cur.len] = '\0';
    char *s = fb->cur.p;
    memset(fb, 0, sizeof *fb);
    return s;
}

static int fields_push(inf_line *l, char *s)
{
    if (!s)
        return -ENOMEM;
    char **n = realloc(l->fields, (l->nfields + 1) * sizeof *n);
    if (!n) {
        free(s);
        return -ENOMEM;
    }
    l->fields = n;
    l->fields[l->nfields++] = s;
    return 0;
}

/* Split body (comment already possible inside) into key/fields. */
static int line_split(const char *p, inf_line *l)
{
    field_buf fb = {0};
    bool in_quote = false;
    int rc = 0;
    for (; *p; p++) {
        char c = *p;
        if (in_quote) {
            if (c == '"' && p[1] == '"') {
                rc = text_put(&fb.cur, "\"", 1);
                p++;
            } else if (c == '"') {
                in_quote = false;
                fb.keep_until = fb.cur.len;
            } else {
                rc = text_put(&fb.cur, &c, 1);
            }
        } else if (c == ';') {
            break;
        } else if (c == '"') {
            in_quote = true;
            fb.quoted_any = true;
        } else if (c == '=' && !l->key && l->nfields == 0) {
            l->key = field_take(&fb);
            if (!l->key)
                rc = -ENOMEM;
        } else if (c == ',') {
            rc = fields_push(l, field_take(&fb));
        } else if (!is_blank(c) || fb.cur.len > 0) {
            rc = text_put(&fb.cur, &c, 1);
        }
        if (rc < 0)
            goto out;
    }
    /* A key with nothing after '=' has no field; anything else ends one. */
    if (fb.cur.len > 0 || fb.quoted_any || l->nfields > 0 || !l->key)
        rc = fields_push(l, field_take(&fb));
out:
    free(fb.cur.p);
    return rc;
}

/* ---- physical lines into logical lines and sections ---- */

/* The end of the next physical line starting at p. */
static const char *line_end(const char *p)
{
    const char *e = strchr(p, '\n');
    return e ? e : p + strlen(p);
}

/* True when the physical line [p, e) ends with a continuation '\' that is not
 * inside a comment or quotes; *cut is where the '\' is. */
static bool continues(const char *p, const char *e, const char **cut)
{
    bool q = false;
    const char *last = NULL;
    for (const char *c = p; c < e; c++) {
        if (*c == '"')
            q = !q;
        else if (*c == ';' && !q)
            return false;
        if (!is_blank(*c))
            last = c;
    }
    if (last && *last == '\\' && !q) {
        *cut = last;
        return true;
    }
    return false;
}

static int parse_header(const char *p, const char *what, unsigned lineno, inf *f,
                        inf_section **cur, p2v_err *err)
{
    const char *close = strchr(p, ']');
    if (!close)
        return p2v_errf(err, -EINVAL, "%s: line %u: section header without ']'", what, lineno);
    size_t n = (size_t)(close - p - 1);
    char *name = strndup(p + 1, n);
    if (!name)
        return -ENOMEM;
    char *s = name, *e = name + strlen(name);
    while (is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        *--e = '\0';
    *cur = section_get(f, s);
    free(name);
    return *cur ? 0 : -ENOMEM;
}

static int parse_logical(const char *body, unsigned lineno, const char *what, inf *f,
                         inf_section **cur, p2v_err *err)
{
    const char *p = body;
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == ';')
        return 0;
    if (*p == '[')
        return parse_header(p, what, lineno, f, cur, err);
    if (!*cur)
        return 0; /* text before the first section is ignored, as Windows does */
    inf_line l = {.lineno = lineno};
    int rc = line_split(p, &l);
    if (rc == 0 && (l.key || l.nfields > 0))
        rc = section_add_line(*cur, &l);
    else
        line_free(&l);
    if (rc < 0)
        line_free(&l);
    return rc;
}

static int parse_lines(const char *t, const char *what, inf *f, p2v_err *err)
{
    inf_section *cur = NULL;
    text logical = {0};
    unsigned lineno = 0, first = 0;
    int rc = 0;
    for (const char *p = t; *p || logical.len; ) {
        const char *e = line_end(p), *cut = NULL;
        lineno++;
        if (logical.len == 0)
            first = lineno;
        bool more = *p && continues(p, e, &cut);
        rc = text_put(&logical, p, (size_t)((more ? cut : e) - p));
        if (rc < 0)
            break;
        p = *e ? e + 1 : e;
        if (more && *p)
            continue;
        rc = parse_logical(logical.p, first, what, f, &cur, err);
        logical.len = 0;
        logical.p[0] = '\0';
        if (rc < 0 || !*p)
            break;
    }
    free(logical.p);
    return rc;
}

/* ---- [Strings] substitution ---- */

static int string_cmp(const void *a, const void *b)
{
    return strcasecmp(((const inf_string_ent *)a)->name, ((const inf_string_ent *)b)->name);
}

static int strings_index(inf *f)
{
    const inf_section *s = inf_section_find(f, "Strings");
    if (!s || s->nlines == 0)
        return 0;
    f->strings = calloc(s->nlines, sizeof *f->strings);
    if (!f->strings)
        return -ENOMEM;
    for (size_t i = 0; i < s->nlines; i++) {
        const inf_line *l = &s->lines[i];
        if (!l->key)
            continue;
        f->strings[f->nstrings].name = l->key;
        f->strings[f->nstrings].value = l->nfields ? l->fields[0] : "";
        f->nstrings++;
    }
    /* Stable choice among duplicates is not needed: Windows takes one of them too. */
    qsort(f->strings, f->nstrings, sizeof *f->strings, string_cmp);
    return 0;
}

const char *inf_string(const inf *f, const char *name)
{
    inf_string_ent key = {.name = name};
    const inf_string_ent *e = f->nstrings
        ? bsearch(&key, f->strings, f->nstrings, sizeof *f->strings, string_cmp) : NULL;
    return e ? e->value : NULL;
}

/* A new string with every %name% of s replaced; NULL on ENOMEM. */
static char *substitute(const inf *f, const char *s)
{
    text t = {0};
    if (text_put(&t, "", 0) < 0)
        return NULL;
    while (*s) {
        const char *pct = strchr(s, '%');
        const char *close = pct ? strchr(pct + 1, '%') : NULL;
        if (!close) {
            if (text_put(&t, s, strlen(s)) < 0)
                goto fail;
            break;
        }
        if (text_put(&t, s, (size_t)(pct - s)) < 0)
            goto fail;
        char *name = strndup(pct + 1, (size_t)(close - pct - 1));
        if (!name)
            goto fail;
        const char *v = *name ? inf_string(f, name) : "%";
        int rc = v ? text_put(&t, v, strlen(v)) : text_put(&t, pct, (size_t)(close - pct + 1));
        free(name);
        if (rc < 0)
            goto fail;
        s = close + 1;
    }
    return t.p;
fail:
    free(t.p);
    return NULL;
}

static int substitute_in_place(const inf *f, char **s)
{
    if (!*s || !strchr(*s, '%'))
        return 0;
    char *n = substitute(f, *s);
    if (!n)
        return -ENOMEM;
    free(*s);
    *s = n;
    return 0;
}

static int substitute_all(inf *f)
{
    for (size_t i = 0; i < f->nsecs; i++) {
        if (strcasecmp(f->secs[i].name, "Strings") == 0)
            continue; /* the table itself stays as written */
        for (size_t j = 0; j < f->secs[i].nlines; j++) {
            inf_line *l = &f->secs[i].lines[j];
            if (substitute_in_place(f, &l->key) < 0)
                return -ENOMEM;
            for (size_t k = 0; k < l->nfields; k++)
                if (substitute_in_place(f, &l->fields[k]) < 0)
                    return -ENOMEM;
        }
    }
    return 0;
}

int inf_parse(const uint8_t *buf, size_t len, const char *what, inf **out, p2v_err *err)
{
    text t = {0};
    inf *f = calloc(1, sizeof *f);
    int rc = f ? inf_decode(buf, len, &t) : -ENOMEM;
    if (rc == 0)
        rc = parse_lines(t.p, what, f, err);
    if (rc == 0)
        rc = strings_index(f);
    if (rc == 0)
        rc = substitute_all(f);
    if (rc == 0 && !inf_section_find(f, "Version"))
        rc = p2v_errf(err, -EINVAL, "%s: not an INF file: no [Version] section", what);
    if (rc == 0 && !inf_value(f, "Version", "Signature"))
        rc = p2v_errf(err, -EINVAL, "%s: not an INF file: [Version] has no Signature", what);
    if (rc == -ENOMEM)
        p2v_errf(err, rc, "%s: out of memory reading the INF file", what);
    free(t.p);
    if (rc < 0) {
        inf_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

size_t inf_section_count(const inf *f) { return f->nsecs; }

const inf_section *inf_section_at(const inf *f, size_t i) { return i < f->nsecs ? &f->secs[i] : NULL; }

const inf_section *inf_section_find(const inf *f, const char *name)
{
    for (size_t i = 0; i < f->nsecs; i++)
        if (strcasecmp(f->secs[i].name, name) == 0)
            return &f->secs[i];
    return NULL;
}

const inf_line *inf_line_find(const inf_section *s, const char *key)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->nlines; i++)
        if (s->lines[i].key && strcasecmp(s->lines[i].key, key) == 0)
            return &s->lines[i];
    return NULL;
}

const char *inf_value(const inf *f, const char *section, const char *key)
{
    const inf_line *l = inf_line_find(inf_section_find(f, section), key);
    return l && l->nfields ? l->fields[0] : NULL;
}
