/* Registry edits and file copies as data, and applying edits to a hivex handle. */
#include <errno.h>
#include <hivex.h>
#include <stdlib.h>
#include <string.h>

#include "util/endian.h"
#include "windows/drivers_edits.h"

static drv_edit *edit_new(drv_plan *p, enum drv_hive hive, enum drv_op op, const char *key,
                          const char *name)
{
    drv_edit *n = realloc(p->edits, (p->nedits + 1) * sizeof *n);
    if (!n)
        return NULL;
    p->edits = n;
    drv_edit *e = &p->edits[p->nedits];
    memset(e, 0, sizeof *e);
    e->hive = hive;
    e->op = op;
    e->key = strdup(key);
    e->name = name ? strdup(name) : NULL;
    p->nedits++;
    if (!e->key || (name && !e->name))
        return NULL;
    return e;
}

static int set_data(drv_edit *e, uint32_t type, uint8_t *data, size_t len, char *shown)
{
    e->type = type;
    e->data = data;
    e->len = len;
    e->shown = shown;
    return data && shown ? 0 : -ENOMEM;
}

int drv_edit_dword(drv_plan *p, enum drv_hive hive, const char *key, const char *name, uint32_t v)
{
    drv_edit *e = edit_new(p, hive, DRV_OP_SET, key, name);
    uint8_t *d = malloc(4);
    if (d)
        put_le32(d, v);
    if (!e) {
        free(d);
        return -ENOMEM;
    }
    return set_data(e, DRV_REG_DWORD, d, 4, drv_strf("0x%08x (%u)", v, v));
}

/* UTF-8 (ASCII in practice) to UTF-16LE code units appended at d. */
static size_t utf16_put(uint8_t *d, const char *s)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++)
        put_le16(d + 2 * n, *c < 0x80 ? *c : '?');
    return n;
}

int drv_edit_string(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                    uint32_t type, const char *v)
{
    drv_edit *e = edit_new(p, hive, DRV_OP_SET, key, name);
    size_t len = 2 * (strlen(v) + 1);
    uint8_t *d = calloc(1, len);
    if (d)
        utf16_put(d, v);
    if (!e) {
        free(d);
        return -ENOMEM;
    }
    return set_data(e, type, d, len, strdup(v));
}

int drv_edit_multi(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                   const char *const *v, size_t n)
{
    drv_edit *e = edit_new(p, hive, DRV_OP_SET, key, name);
    size_t units = 1, shown_len = 1;
    for (size_t i = 0; i < n; i++) {
        units += strlen(v[i]) + 1;
        shown_len += strlen(v[i]) + 2;
    }
    uint8_t *d = calloc(units, 2);
    char *shown = n ? calloc(1, shown_len) : strdup("(empty list)");
    if (d && shown) {
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            at += utf16_put(d + 2 * at, v[i]) + 1;
            if (i)
                strcat(shown, "; ");
            strcat(shown, v[i]);
        }
    }
    if (!e) {
        free(d);
        free(shown);
        return -ENOMEM;
    }
    return set_data(e, DRV_REG_MULTI_SZ, d, 2 * units, shown);
}

int drv_edit_binary(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                    const uint8_t *v, size_t len)
{
    drv_edit *e = edit_new(p, hive, DRV_OP_SET, key, name);
    uint8_t *d = malloc(len ? len : 1);
    char *shown = calloc(1, 3 * len + 1);
    if (d && shown) {
        memcpy(d, v, len);
        for (size_t i = 0; i < len; i++)
            snprintf(shown + 3 * i, 4, i + 1 < len ? "%02x " : "%02x", v[i]);
    }
    if (!e) {
        free(d);
        free(shown);
        return -ENOMEM;
    }
    return set_data(e, DRV_REG_BINARY, d, len, shown);
}

int drv_edit_note(drv_plan *p, const char *note)
{
    drv_edit *e = p->nedits ? &p->edits[p->nedits - 1] : NULL;
    char *shown = e ? drv_strf("%s  (%s)", e->shown ? e->shown : "", note) : NULL;
    if (!shown)
        return -ENOMEM;
    free(e->shown);
    e->shown = shown;
    return 0;
}

int drv_edit_delete_key(drv_plan *p, enum drv_hive hive, const char *key)
{
    return edit_new(p, hive, DRV_OP_DELETE_KEY, key, NULL) ? 0 : -ENOMEM;
}

int drv_copy_add(drv_plan *p, long src, uint8_t *data, size_t len, const char *dst)
{
    drv_copy *n = realloc(p->copies, (p->ncopies + 1) * sizeof *n);
    if (!n) {
        free(data);
        return -ENOMEM;
    }
    p->copies = n;
    drv_copy *c = &p->copies[p->ncopies++];
    c->src = src;
    c->data = data;
    c->len = len;
    c->dst = strdup(dst);
    return c->dst ? 0 : -ENOMEM;
}

void drv_plan_free(drv_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nedits; i++) {
        free(p->edits[i].key);
        free(p->edits[i].name);
        free(p->edits[i].data);
        free(p->edits[i].shown);
    }
    free(p->edits);
    for (size_t i = 0; i < p->ncopies; i++) {
        free(p->copies[i].data);
        free(p->copies[i].dst);
    }
    free(p->copies);
    free(p->firstboot);
    memset(p, 0, sizeof *p);
}

/* ---- reading and writing a hive ---- */

static int apply_one(const drv_edit *e, hive_h *h, p2v_err *err)
{
    if (e->op == DRV_OP_DELETE_KEY) {
        hive_node_h n = win_hive_walk(h, 0, e->key, false);
        if (n && hivex_node_delete_child(h, n) < 0)
            return p2v_errf(err, -errno ? -errno : -EIO, "registry: cannot delete %s: %s", e->key,
                            strerror(errno));
        return 0;
    }
    hive_node_h n = win_hive_walk(h, 0, e->key, true);
    if (!n)
        return p2v_errf(err, -errno ? -errno : -EIO, "registry: cannot create key %s: %s", e->key,
                        strerror(errno));
    hive_set_value v = {.key = e->name, .t = (hive_type)e->type, .len = e->len, .value = (char *)e->data};
    if (hivex_node_set_value(h, n, &v, 0) < 0)
        return p2v_errf(err, -errno ? -errno : -EIO, "registry: cannot set %s\\%s: %s", e->key,
                        *e->name ? e->name : "(default)", strerror(errno));
    return 0;
}

int drv_edits_apply(const drv_plan *p, enum drv_hive hive, hive_h *h, p2v_err *err)
{
    for (size_t i = 0; i < p->nedits; i++) {
        if (p->edits[i].hive != hive)
            continue;
        int rc = apply_one(&p->edits[i], h, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
