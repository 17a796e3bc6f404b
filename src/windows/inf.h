/* Windows setup information (INF) files: the syntax, not the meaning.
 *
 * inf_parse reads the bytes of an .inf (UTF-16LE with a byte-order mark, UTF-8
 * with or without one, or ANSI taken as Latin-1) into sections of lines. A line
 * is "key = field, field, ..." or just "field, field, ...". Comments (';' outside
 * quotes) are dropped, a '\' at the end of a line joins the next one, quoted
 * fields keep their spaces and commas ("" inside quotes is one quote), and
 * every %name% in keys and fields is replaced by its value from [Strings]
 * ("%%" is one '%'; %12% and other names [Strings] lacks stay as written).
 * Sections that appear twice are merged; section names and keys compare
 * without regard to case, as Windows does.
 *
 * What the lines mean for a driver package (models, services, files) is
 * drivers.h's business. */
#ifndef P2V_WINDOWS_INF_H
#define P2V_WINDOWS_INF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct inf_line {
    char *key;      /* NULL when the line has no '=' */
    char **fields;  /* the values after '=' (or the whole line), substituted */
    size_t nfields; /* may be 0 ("key =") */
    unsigned lineno;
} inf_line;

typedef struct inf_section {
    char *name;
    inf_line *lines;
    size_t nlines;
    size_t cap;
} inf_section;

typedef struct inf inf;

/* Parse len bytes; what names the file in messages ("viostor/w10/amd64/viostor.inf").
 * Refused (-EINVAL, message names what and the line): an unterminated section
 * header, no [Version] section, a [Version] without Signature. -ENOMEM. */
int inf_parse(const uint8_t *buf, size_t len, const char *what, inf **out, p2v_err *err);
void inf_free(inf *f);

size_t inf_section_count(const inf *f);
const inf_section *inf_section_at(const inf *f, size_t i);
/* The section named name (case-insensitive), or NULL. */
const inf_section *inf_section_find(const inf *f, const char *name);
/* The first line of s whose key is key (case-insensitive), or NULL. */
const inf_line *inf_line_find(const inf_section *s, const char *key);
/* First field of the first line key in section, or NULL (missing section,
 * key, or a line with no field). */
const char *inf_value(const inf *f, const char *section, const char *key);
/* The value of "%name%" in [Strings] (name without the percent signs), or NULL. */
const char *inf_string(const inf *f, const char *name);

#endif
