/* A small streaming JSON writer: it tracks nesting so callers never place
 * commas by hand, and it escapes every string. Output is pretty-printed
 * with 4-space indentation like qemu-img's --output=json. */
#ifndef P2V_UTIL_JSON_H
#define P2V_UTIL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    FILE *out;
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no element written yet at this level */
    bool after_key;
} json_writer;

void json_init(json_writer *j, FILE *out);
void json_obj_begin(json_writer *j);
void json_obj_end(json_writer *j);
void json_arr_begin(json_writer *j);
void json_arr_end(json_writer *j);
void json_key(json_writer *j, const char *key);

void json_str(json_writer *j, const char *s); /* NULL writes null */
void json_u64(json_writer *j, uint64_t v);
void json_i64(json_writer *j, int64_t v);
void json_boolean(json_writer *j, bool v);
void json_null(json_writer *j);
void json_double(json_writer *j, double v);

/* key + value shorthands */
void json_kstr(json_writer *j, const char *key, const char *s);
void json_ku64(json_writer *j, const char *key, uint64_t v);
void json_ki64(json_writer *j, const char *key, int64_t v);
void json_kbool(json_writer *j, const char *key, bool v);
void json_kdouble(json_writer *j, const char *key, double v);
void json_knull(json_writer *j, const char *key);
/* Unknown as null: a string that is NULL or "", a count that is 0. */
void json_kstr_or_null(json_writer *j, const char *key, const char *s);
void json_ku64_or_null(json_writer *j, const char *key, uint64_t v);

/* Finish the document with a newline. */
void json_end(json_writer *j);

#endif
