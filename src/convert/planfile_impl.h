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

/* Field access for the parsers (planfile.c): each names the field and
 * `where` in its error ("plan: options: \"size\" is out of range"). */
int planfile_get(json_object *o, const char *key, json_type want, bool optional,
                 json_object **out, const char *where, p2v_err *err);
int planfile_get_u64(json_object *o, const char *key, bool optional, uint64_t max, uint64_t *v,
                     const char *where, p2v_err *err);
int planfile_get_str(json_object *o, const char *key, bool optional, const char **v,
                     const char *where, p2v_err *err);
int planfile_get_bool(json_object *o, const char *key, bool *v, const char *where, p2v_err *err);
/* -EINVAL naming the first key of o that is not in keys (NULL-ended). */
int planfile_check_keys(json_object *o, const char *const *keys, const char *where,
                        p2v_err *err);
/* "options" of either schema. */
int planfile_parse_options(json_object *o, convert_planfile *pf, p2v_err *err);
/* options.vm_def (planfile_vmdef.c): null or its object. */
int planfile_parse_vmdef(json_object *opts, convert_planfile *pf, p2v_err *err);
json_object *planfile_vmdef_json(const convert_vmdef_opts *vm);
#define PLANFILE_ROLES_MAX 128   /* "select" entries (roles_resolve's bound) */

/* The rest of a version 2 plan (planfile_roles.c): "select", "keep_order". */
int planfile_parse_roles(json_object *root, convert_planfile *pf, p2v_err *err);
void planfile_roles_free(convert_planfile *pf);
/* What detection found of partition i of d, as role resolution takes it
 * (planfile_roles_resolve.c); the strings point into d and what. all[0..nall)
 * are the disks at hand (d among them): a partition a Windows volume on
 * them names in its ReAgent.xml as WinRE's place is recovery whatever its
 * type (planfile_winre_named). */
void planfile_role_part(const convert_disk *const *all, size_t nall, const convert_disk *d,
                        size_t i, unsigned disk_index, const char *what, char *version,
                        size_t vlen, struct role_part *rp);
/* Whether a Windows volume on all[0..nall) names partition p of d in its
 * ReAgent.xml as where WinRE lives: the same disk identity (MBR signature,
 * or GPT disk GUID) and byte offset. Never the Windows volume itself
 * (WinRE in C:\Recovery is no partition of its own). */
bool planfile_winre_named(const convert_disk *const *all, size_t nall, const convert_disk *d,
                          const ptable_part *p);
/* "options" of a job's request (planfile.c), for either schema. */
json_object *planfile_options_json(const convert_request *rq, const convert_vmdef_opts *vm);

/* root written to PATH (pretty JSON), under a temporary name renamed. */
int planfile_save_root(json_object *root, const char *path, p2v_err *err);

/* The identity of an opened disk, as a plan records it. */
void planfile_disk_identity(const convert_disk *d, convert_planfile_disk *out);
/* A partition's type as a plan records it: "0x07" or a type GUID. */
void planfile_part_type(const ptable *t, const ptable_part *p, char *out, size_t len);

#endif
