/* Inside the plan-file module (planfile.c: writing and the fields;
 * planfile_json.c: the strict JSON reader; planfile_resolve.c: finding the
 * disks again). Not for callers. */
#ifndef P2V_CONVERT_PLANFILE_IMPL_H
#define P2V_CONVERT_PLANFILE_IMPL_H

#include <stddef.h>

#include <json-c/json.h>

#include "convert/convert_impl.h"
#include "convert/planfile.h"

/* 0 when buf[0..len) is exactly one JSON text by RFC 8259 (UTF-8, an
 * optional byte order mark skipped: *start is where the text begins), with
 * no object naming a key twice, no \u0000 in a string and at most 16 levels
 * of nesting; else -EINVAL and "plan: not valid JSON at byte N: why". */
int planfile_json_check(const char *buf, size_t len, size_t *start, p2v_err *err);

/* The fields of a parsed plan (root: its JSON tree) into pf; errors name the
 * field. */
int planfile_parse_root(json_object *root, convert_planfile *pf, p2v_err *err);

/* The identity of an opened disk, as a plan records it. */
void planfile_disk_identity(const convert_disk *d, convert_planfile_disk *out);
/* A partition's type as a plan records it: "0x07" or a type GUID. */
void planfile_part_type(const ptable *t, const ptable_part *p, char *out, size_t len);

#endif
