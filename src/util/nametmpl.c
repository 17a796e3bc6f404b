#include "util/nametmpl.h"

#include <errno.h>
#include <string.h>

static const char *const field_names[NT_NFIELDS] = {
    "serial", "uuid", "vendor", "model", "mac", "computername", "date",
};

const char *nametmpl_field_name(enum nametmpl_field f)
{
    return f < NT_NFIELDS ? field_names[f] : "?";
}

bool nametmpl_has_fields(const char *s)
{
    for (; s && *s; s++) {
        if (s[0] == '{' && s[1] == '{')
            s++;
        else if (*s == '{')
            return true;
    }
    return false;
}

/* The field named by the text between '{' at *p and '}'; *p is left after '}'. */
static int field_at(const char *tmpl, const char **p, enum nametmpl_field *f, p2v_err *err)
{
    const char *start = *p + 1, *end = strchr(start, '}');
    if (!end)
        return p2v_errf(err, -EINVAL, "%s: '{' at byte %zu is not closed", tmpl,
                        (size_t)(*p - tmpl));
    for (int i = 0; i < NT_NFIELDS; i++) {
        if (strlen(field_names[i]) == (size_t)(end - start) &&
            !strncmp(start, field_names[i], (size_t)(end - start))) {
            *f = (enum nametmpl_field)i;
            *p = end + 1;
            return 0;
        }
    }
    return p2v_errf(err, -EINVAL, "%s: unknown field {%.*s} (known: serial, uuid, vendor, model, "
                                  "mac, computername, date)", tmpl, (int)(end - start), start);
}

int nametmpl_fields(const char *tmpl, unsigned *used, p2v_err *err)
{
    *used = 0;
    for (const char *p = tmpl; *p;) {
        enum nametmpl_field f;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p += 2;
        } else if (*p == '{') {
            int r = field_at(tmpl, &p, &f, err);
            if (r < 0)
                return r;
            *used |= 1u << f;
        } else {
            p++;
        }
    }
    return 0;
}

static bool safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* The safe form of v into out (at most NAMETMPL_FIELD_MAX bytes + NUL). */
static void make_safe(const char *v, char *out)
{
    size_t n = 0;
    bool dots_only = true;
    if (v[0] == '.' || v[0] == '-')
        out[n++] = '_';
    for (const unsigned char *s = (const unsigned char *)v; *s && n < NAMETMPL_FIELD_MAX; s++) {
        if (*s >= 0x80) { /* one '_' for a whole UTF-8 sequence */
            while ((s[1] & 0xc0) == 0x80)
                s++;
            out[n++] = '_';
        } else {
            out[n++] = safe_char(*s) ? (char)*s : '_';
        }
        dots_only = dots_only && *s == '.';
    }
    out[n] = 0;
    if (dots_only && n) /* ".." or "." would name a directory */
        out[0] = '_';
}

int nametmpl_expand(const char *tmpl, const struct nametmpl_values *vals, char *out, size_t len,
                    p2v_err *err)
{
    size_t n = 0;
    char safe[NAMETMPL_FIELD_MAX + 2];
    for (const char *p = tmpl; *p;) {
        const char *piece;
        size_t plen;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            piece = p;
            plen = 1;
            p += 2;
        } else if (*p == '{') {
            enum nametmpl_field f;
            int r = field_at(tmpl, &p, &f, err);
            if (r < 0)
                return r;
            const char *v = vals->v[f];
            if (!v || !*v)
                return p2v_errf(err, -EINVAL, "%s: {%s} is not known on this PC%s%s", tmpl,
                                field_names[f], vals->why[f] && *vals->why[f] ? ": " : "",
                                vals->why[f] ? vals->why[f] : "");
            make_safe(v, safe);
            piece = safe;
            plen = strlen(safe);
        } else {
            piece = p++;
            plen = 1;
        }
        if (n + plen >= len)
            return p2v_errf(err, -ENAMETOOLONG, "%s: the name is longer than %zu bytes", tmpl,
                            len - 1);
        memcpy(out + n, piece, plen);
        n += plen;
    }
    out[n] = 0;
    return 0;
}
