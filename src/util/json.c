#include "util/json.h"

#include <inttypes.h>

void json_init(json_writer *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

static void indent(json_writer *j)
{
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("    ", j->out);
}

/* Called before any value or key: comma and newline as the level needs. */
static void prefix(json_writer *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->out);
        indent(j);
    }
    j->first[j->depth] = false;
}

static void open(json_writer *j, char c)
{
    prefix(j);
    fputc(c, j->out);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

static void close(json_writer *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    fputc(c, j->out);
}

void json_obj_begin(json_writer *j) { open(j, '{'); }
void json_obj_end(json_writer *j) { close(j, '}'); }
void json_arr_begin(json_writer *j) { open(j, '['); }
void json_arr_end(json_writer *j) { close(j, ']'); }

static void write_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void json_key(json_writer *j, const char *key)
{
    prefix(j);
    write_escaped(j->out, key);
    fputs(": ", j->out);
    j->after_key = true;
}

void json_str(json_writer *j, const char *s)
{
    prefix(j);
    if (s)
        write_escaped(j->out, s);
    else
        fputs("null", j->out);
}

void json_u64(json_writer *j, uint64_t v) { prefix(j); fprintf(j->out, "%" PRIu64, v); }
void json_i64(json_writer *j, int64_t v) { prefix(j); fprintf(j->out, "%" PRId64, v); }
void json_boolean(json_writer *j, bool v) { prefix(j); fputs(v ? "true" : "false", j->out); }
void json_null(json_writer *j) { prefix(j); fputs("null", j->out); }
void json_double(json_writer *j, double v) { prefix(j); fprintf(j->out, "%.6g", v); }

void json_kstr(json_writer *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
void json_ku64(json_writer *j, const char *key, uint64_t v) { json_key(j, key); json_u64(j, v); }
void json_ki64(json_writer *j, const char *key, int64_t v) { json_key(j, key); json_i64(j, v); }
void json_kbool(json_writer *j, const char *key, bool v) { json_key(j, key); json_boolean(j, v); }
void json_kdouble(json_writer *j, const char *key, double v) { json_key(j, key); json_double(j, v); }
void json_knull(json_writer *j, const char *key) { json_key(j, key); json_null(j); }

void json_kstr_or_null(json_writer *j, const char *key, const char *s)
{
    if (s && s[0])
        json_kstr(j, key, s);
    else
        json_knull(j, key);
}

void json_ku64_or_null(json_writer *j, const char *key, uint64_t v)
{
    if (v)
        json_ku64(j, key, v);
    else
        json_knull(j, key);
}

void json_end(json_writer *j)
{
    fputc('\n', j->out);
    fflush(j->out);
}
