/* The strict reader of plan files: before json-c builds the tree, the bytes
 * must be exactly one JSON text as RFC 8259 defines it. json-c alone is
 * lenient (comments, single quotes, leading zeros, raw control characters,
 * invalid UTF-8 and lone surrogates pass; a later duplicate key silently
 * overrides an earlier one; \u0000 cuts a string short when it is read as a C
 * string), so a plan that is not JSON could run as something its author did
 * not write. Here every such text is refused with the byte offset and the
 * reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/planfile_impl.h"
#include "util/array.h"
#include "util/hex.h"
#include "util/utf8.h"

/* A plan is 3 levels deep; json-c itself stops at 32. */
enum { PLAN_JSON_MAX_DEPTH = 16 };

typedef struct jreader {
    const unsigned char *p;
    size_t len, pos;
    int depth;
    p2v_err *err;
} jreader;

/* A decoded string (object keys, to find duplicates). */
typedef struct jkey {
    char *s;
    size_t n;
    size_t at;          /* byte offset of its opening quote */
} jkey;

static int jfail(jreader *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(jreader *r, size_t at, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return p2v_errf(r->err, -EINVAL, "plan: not valid JSON at byte %zu: %s", at, why);
}

static void skip_ws(jreader *r)
{
    while (r->pos < r->len && (r->p[r->pos] == ' ' || r->p[r->pos] == '\t' ||
                               r->p[r->pos] == '\n' || r->p[r->pos] == '\r'))
        r->pos++;
}

/* What stands at the current byte, for "expected X, found Y" messages. */
static int unexpected(jreader *r, const char *expected)
{
    if (r->pos >= r->len)
        return jfail(r, r->pos, "the text ends where %s should be (the file is cut short?)",
                     expected);
    unsigned char c = r->p[r->pos];
    if (c == '/')
        return jfail(r, r->pos, "a comment, where %s should be (JSON has no comments)", expected);
    if (c == '\'')
        return jfail(r, r->pos, "a single quote, where %s should be (JSON strings take double "
                     "quotes)", expected);
    if (c > 0x20 && c < 0x7f)
        return jfail(r, r->pos, "'%c', where %s should be", c, expected);
    return jfail(r, r->pos, "byte 0x%02x, where %s should be", c, expected);
}

/* ---- strings ---- */

static int put(char **buf, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (!buf)
        return 0;
    char *nb = array_room_n(*buf, cap, *n, len, 1, 32);
    if (!nb)
        return -ENOMEM;
    *buf = nb;
    memcpy(*buf + *n, s, len);
    *n += len;
    return 0;
}

/* The length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static int hex4(jreader *r, size_t at, uint32_t *v)
{
    *v = 0;
    if (r->len - at < 4)
        return jfail(r, at - 2, "the text ends inside a \\u escape");
    for (size_t i = 0; i < 4; i++) {
        int d = hex_digit((char)r->p[at + i]);
        if (d < 0)
            return jfail(r, at - 2, "a \\u escape needs 4 hex digits");
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* \uXXXX at pos (just after the backslash and 'u'), a surrogate pair joined;
 * *cp the code point; r->pos moves past it. */
static int unicode_escape(jreader *r, uint32_t *cp)
{
    size_t start = r->pos - 2;
    uint32_t hi, lo;
    int e = hex4(r, r->pos, &hi);
    if (e < 0)
        return e;
    r->pos += 4;
    if (hi == 0)
        return jfail(r, start, "\\u0000 (a NUL character) in a string: no plan field can hold one");
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return jfail(r, start, "a lone low surrogate \\u%04X (not a character)", hi);
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return 0;
    }
    if (r->len - r->pos < 2 || r->p[r->pos] != '\\' || r->p[r->pos + 1] != 'u' ||
        hex4(r, r->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
        return jfail(r, start, "a lone high surrogate \\u%04X (not followed by a low one)", hi);
    r->pos += 6;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 0;
}

/* One escape after a backslash; the character it stands for appended. */
static int escape(jreader *r, char **buf, size_t *n, size_t *cap)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = r->pos - 1;
    if (r->pos >= r->len)
        return jfail(r, at, "the text ends inside a string");
    char c = (char)r->p[r->pos++];
    const char *k = c ? strchr(from, c) : NULL;
    if (k)
        return put(buf, n, cap, &to[k - from], 1);
    if (c != 'u')
        return jfail(r, at, "\\%c is not a JSON escape", c > 0x20 && c < 0x7f ? c : '?');
    uint32_t cp = 0;
    char u[4];
    int e = unicode_escape(r, &cp);
    return e < 0 ? e : put(buf, n, cap, u, utf8_encode(cp, u));
}

/* A string at pos (its opening quote); with buf, its decoded bytes. */
static int string(jreader *r, char **buf, size_t *n)
{
    size_t cap = 0, start = r->pos++;
    int e = 0;
    while (e == 0) {
        if (r->pos >= r->len)
            return jfail(r, start, "the text ends inside the string that starts here");
        unsigned char c = r->p[r->pos];
        size_t u;
        if (c == '"') {
            r->pos++;
            return 0;
        } else if (c == '\\') {
            r->pos++;
            e = escape(r, buf, n, &cap);
        } else if (c == '\t') {
            return jfail(r, r->pos, "a raw tab in a string (write it as \\t)");
        } else if (c < 0x20) {
            return jfail(r, r->pos, "a raw control character 0x%02x in a string (write it as "
                         "\\u%04x)", c, c);
        } else if (c < 0x80) {
            e = put(buf, n, &cap, (const char *)&r->p[r->pos++], 1);
        } else if ((u = utf8_len(r->p + r->pos, r->len - r->pos)) == 0) {
            return jfail(r, r->pos, "byte 0x%02x: not UTF-8 (the file must be UTF-8)", c);
        } else {
            e = put(buf, n, &cap, (const char *)&r->p[r->pos], u);
            r->pos += u;
        }
    }
    return e == -ENOMEM ? p2v_errf(r->err, e, "plan: out of memory") : e;
}

/* ---- numbers and literals ---- */

static bool digit(const jreader *r)
{
    return r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9';
}

static int digits(jreader *r, size_t start, const char *what)
{
    if (!digit(r))
        return jfail(r, start, "a number with no digits %s", what);
    while (digit(r))
        r->pos++;
    return 0;
}

static int number(jreader *r)
{
    size_t start = r->pos;
    if (r->p[r->pos] == '-')
        r->pos++;
    if (r->pos < r->len && r->p[r->pos] == '0') {
        r->pos++;
        if (digit(r))
            return jfail(r, start, "a number with a leading zero");
    } else if (digits(r, start, "before its end") < 0) {
        return -EINVAL;
    }
    if (r->pos < r->len && r->p[r->pos] == '.') {
        r->pos++;
        if (digits(r, start, "after its '.'") < 0)
            return -EINVAL;
    }
    if (r->pos < r->len && (r->p[r->pos] == 'e' || r->p[r->pos] == 'E')) {
        r->pos++;
        if (r->pos < r->len && (r->p[r->pos] == '+' || r->p[r->pos] == '-'))
            r->pos++;
        if (digits(r, start, "in its exponent") < 0)
            return -EINVAL;
    }
    return 0;
}

static int literal(jreader *r, const char *word)
{
    size_t n = strlen(word);
    if (r->len - r->pos < n || memcmp(r->p + r->pos, word, n) != 0)
        return unexpected(r, "a value");
    r->pos += n;
    return 0;
}

/* ---- objects and arrays ---- */

static int value(jreader *r);

static int key_cmp(const void *a, const void *b)
{
    const jkey *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    int c = x->n ? memcmp(x->s, y->s, x->n) : 0; /* "" has no buffer */
    return c ? c : x->at < y->at ? -1 : 1;
}

static bool printable(const jkey *k)
{
    for (size_t i = 0; i < k->n; i++)
        if ((unsigned char)k->s[i] < 0x20 || (unsigned char)k->s[i] >= 0x7f)
            return false;
    return k->n <= 64;
}

/* A later duplicate would silently override: refused, at its second place. */
static int no_duplicates(jreader *r, jkey *keys, size_t n)
{
    if (n < 2)
        return 0;
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (keys[i].n == keys[i - 1].n && (!keys[i].n || !memcmp(keys[i].s, keys[i - 1].s, keys[i].n)))
            return printable(&keys[i])
                ? jfail(r, keys[i].at, "the key \"%.*s\" again (first at byte %zu): a plan "
                        "names each field once", (int)keys[i].n, keys[i].s, keys[i - 1].at)
                : jfail(r, keys[i].at, "a key again (first at byte %zu): a plan names each "
                        "field once", keys[i - 1].at);
    return 0;
}

/* After white space, step over c when it comes next. */
static bool eat(jreader *r, char c)
{
    skip_ws(r);
    if (r->pos >= r->len || r->p[r->pos] != c)
        return false;
    r->pos++;
    return true;
}

/* One "key": value member; the key added to *keys. */
static int member(jreader *r, jkey **keys, size_t *n, size_t *cap)
{
    if (r->pos >= r->len || r->p[r->pos] != '"')
        return unexpected(r, "a key in double quotes");
    jkey *nk = array_room(*keys, cap, *n, sizeof *nk, 8);
    if (!nk)
        return p2v_errf(r->err, -ENOMEM, "plan: out of memory");
    *keys = nk;
    jkey *k = &(*keys)[*n];
    *k = (jkey){ .at = r->pos };
    int e = string(r, &k->s, &k->n);
    (*n)++;
    if (e < 0)
        return e;
    if (!eat(r, ':'))
        return unexpected(r, "':' after the key");
    return value(r);
}

static int object(jreader *r)
{
    jkey *keys = NULL;
    size_t n = 0, cap = 0;
    int e = 0;
    r->pos++;
    if (eat(r, '}'))
        return 0;
    for (;;) {
        if ((e = member(r, &keys, &n, &cap)) < 0)
            break;
        if (eat(r, ',')) {
            if (eat(r, '}')) {
                e = jfail(r, r->pos - 1, "a comma before '}' (JSON has no trailing commas)");
                break;
            }
            continue;
        }
        e = eat(r, '}') ? no_duplicates(r, keys, n) : unexpected(r, "',' or '}' in an object");
        break;
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i].s);
    free(keys);
    return e;
}

static int array(jreader *r)
{
    r->pos++;
    if (eat(r, ']'))
        return 0;
    for (;;) {
        int e = value(r);
        if (e < 0)
            return e;
        if (eat(r, ']'))
            return 0;
        if (!eat(r, ','))
            return unexpected(r, "',' or ']' in an array");
        if (eat(r, ']'))
            return jfail(r, r->pos - 1, "a comma before ']' (JSON has no trailing commas)");
    }
}

static int nested(jreader *r, int (*parse)(jreader *))
{
    if (++r->depth > PLAN_JSON_MAX_DEPTH)
        return jfail(r, r->pos, "nested deeper than %d levels (a plan is 3 deep)",
                     PLAN_JSON_MAX_DEPTH);
    int e = parse(r);
    r->depth--;
    return e;
}

static int value(jreader *r)
{
    skip_ws(r);
    if (r->pos >= r->len)
        return unexpected(r, "a value");
    switch (r->p[r->pos]) {
    case '{': return nested(r, object);
    case '[': return nested(r, array);
    case '"': return string(r, NULL, NULL);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return number(r);
    default: return unexpected(r, "a value");
    }
}

int planfile_json_check(const char *buf, size_t len, size_t *start, p2v_err *err)
{
    jreader r = { .p = (const unsigned char *)buf, .len = len, .err = err };
    /* RFC 8259 lets a parser ignore a UTF-8 byte order mark: editors on
     * Windows write one. */
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        r.pos = 3;
    *start = r.pos;
    skip_ws(&r);
    if (r.pos == r.len)
        return p2v_errf(err, -EINVAL, "plan: the file is empty (no JSON in it)");
    int e = value(&r);
    if (e < 0)
        return e;
    skip_ws(&r);
    if (r.pos < r.len)
        return jfail(&r, r.pos, "text after the JSON value (one plan per file)");
    return 0;
}

/* ---- from bytes and files to a plan ---- */

/* The checked text as json-c's tree; json-c's own verdict kept as a second
 * line of defence. */
static int json_tree(const char *buf, size_t len, json_object **root, p2v_err *err)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return p2v_errf(err, -ENOMEM, "plan: out of memory");
    int r = 0;
    *root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (!*root || je != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
        r = p2v_errf(err, -EINVAL, "plan: not valid JSON at byte %zu: %s",
                     json_tokener_get_parse_end(tok),
                     je == json_tokener_success ? "json-c read less than the whole text"
                                                : json_tokener_error_desc(je));
        json_object_put(*root);
        *root = NULL;
    }
    json_tokener_free(tok);
    return r;
}

int convert_planfile_parse(const char *buf, size_t len, convert_planfile **out, p2v_err *err)
{
    json_object *root = NULL;
    convert_planfile *pf = NULL;
    size_t start;
    int r;
    *out = NULL;
    if (len > INT32_MAX)
        return p2v_errf(err, -EFBIG, "plan: %zu bytes, too large for a plan", len);
    if ((r = planfile_json_check(buf, len, &start, err)) < 0 ||
        (r = json_tree(buf + start, len - start, &root, err)) < 0)
        return r;
    if (!(pf = calloc(1, sizeof *pf)))
        r = p2v_errf(err, -ENOMEM, "plan: out of memory");
    else if ((r = planfile_parse_root(root, pf, err)) == 0)
        *out = pf;
    else
        convert_planfile_free(pf);
    json_object_put(root);
    return r;
}

int convert_planfile_load(const char *path, convert_planfile **out, p2v_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int r;
    *out = NULL;
    if (fd < 0)
        return p2v_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
        r = p2v_errf(err, -EINVAL, "%s: not a plan file (a regular file of at most 16 MiB)",
                     path);
        close(fd);
        return r;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    ssize_t n = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        free(buf);
        return p2v_errf(err, -EIO, "%s: short read", path);
    }
    r = convert_planfile_parse(buf, (size_t)n, out, err);
    free(buf);
    return r < 0 ? p2v_err_prefix(err, r, "%s", path) : 0;
}
