/* Output names per PC: "-o rbd:vdi/{computername}-{serial}" filled from the PC
 * being converted. Each field's value is made safe for a file, RBD or NBD
 * name: letters, digits, '.', '_' and '-' stay, every other character (each
 * UTF-8 sequence counts as one) becomes '_', a value made only of dots or
 * starting with '.' or '-' gets a '_' in front, and it is cut at
 * NAMETMPL_FIELD_MAX bytes. A field that is empty or unknown is an error. */
#ifndef P2V_UTIL_NAMETMPL_H
#define P2V_UTIL_NAMETMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define NAMETMPL_FIELD_MAX 64

enum nametmpl_field {
    NT_SERIAL, NT_UUID, NT_VENDOR, NT_MODEL, NT_MAC, NT_COMPUTERNAME, NT_DATE, NT_NFIELDS
};

struct nametmpl_values {
    const char *v[NT_NFIELDS];   /* NULL or "": not known on this PC */
    const char *why[NT_NFIELDS]; /* NULL, or why that value is not known */
};

/* Whether s holds a {field} at all (a plain name is used as it is). */
bool nametmpl_has_fields(const char *s);

/* Which fields tmpl uses (bit i for enum value i); -EINVAL for an unknown
 * field or an unclosed '{', naming it. */
int nametmpl_fields(const char *tmpl, unsigned *used, p2v_err *err);

/* Expand tmpl into out; -EINVAL naming the field that is empty (and its why,
 * when given), -ENAMETOOLONG when out is too small. "{{" and "}}" stand for
 * literal braces. */
int nametmpl_expand(const char *tmpl, const struct nametmpl_values *vals, char *out, size_t len,
                    p2v_err *err);

/* The field's name as written in a template ("serial", ...). */
const char *nametmpl_field_name(enum nametmpl_field f);

#endif
