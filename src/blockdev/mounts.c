/* Mounted filesystems on a source, from /proc/self/mountinfo. */
#include "blockdev/blockdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* Copy the space-separated field at text[*p..end) into out, decoding the
 * \\ooo escapes mountinfo uses for spaces, tabs, newlines and backslashes. */
static bool field(const char *text, size_t end, size_t *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p < end && text[*p] == ' ')
        (*p)++;
    if (*p >= end)
        return false;
    while (*p < end && text[*p] != ' ') {
        char c = text[(*p)++];
        if (c == '\\' && *p + 3 <= end && text[*p] >= '0' && text[*p] <= '3' &&
            text[*p + 1] >= '0' && text[*p + 1] <= '7' && text[*p + 2] >= '0' &&
            text[*p + 2] <= '7') {
            c = (char)((text[*p] - '0') * 64 + (text[*p + 1] - '0') * 8 + (text[*p + 2] - '0'));
            *p += 3;
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

/* Is "ro" one of the comma-separated options? */
static bool has_ro(const char *opts)
{
    for (const char *o = opts; *o;) {
        size_t l = strcspn(o, ",");
        if (l == 2 && !strncmp(o, "ro", 2))
            return true;
        o += l + (o[l] == ',');
    }
    return false;
}

static bool parse_line(const char *text, size_t end, size_t p, bd_mountinfo *e)
{
    char f[512];
    memset(e, 0, sizeof *e);
    /* mount ID, parent ID, major:minor, root, mount point, mount options */
    if (!field(text, end, &p, f, sizeof f) || !field(text, end, &p, f, sizeof f) ||
        !field(text, end, &p, f, sizeof f) || sscanf(f, "%u:%u", &e->major, &e->minor) != 2 ||
        !field(text, end, &p, f, sizeof f) || !field(text, end, &p, e->point, sizeof e->point) ||
        !field(text, end, &p, f, sizeof f))
        return false;
    e->ro = has_ro(f);
    do { /* optional fields up to "-" */
        if (!field(text, end, &p, f, sizeof f))
            return false;
    } while (strcmp(f, "-"));
    if (!field(text, end, &p, e->fstype, sizeof e->fstype) ||
        !field(text, end, &p, e->source, sizeof e->source))
        return false;
    if (field(text, end, &p, f, sizeof f) && has_ro(f))
        e->ro = true;
    return true;
}

int bd_mountinfo_next(const char *text, size_t len, size_t *pos, bd_mountinfo *e)
{
    while (*pos < len) {
        const char *nl = memchr(text + *pos, '\n', len - *pos);
        size_t start = *pos, end = nl ? (size_t)(nl - text) : len;
        *pos = nl ? end + 1 : len;
        if (parse_line(text, end, start, e))
            return 1;
    }
    return 0;
}

/* Does mount e lie on [off, off + len) of src? */
static bool mount_on(const bd_mountinfo *e, const bd_place *src, uint64_t off, uint64_t len)
{
    bd_place p;
    if (e->major != 0) {
        bd_place_of_rdev(makedev(e->major, e->minor), &p);
        if (bd_place_overlap(&p, 0, UINT64_MAX, src, off, len))
            return true;
    }
    /* FUSE (ntfs-3g: "fuseblk" on /dev/loop0) or a filesystem image mounted by path */
    return e->source[0] == '/' && bd_place_of_path(e->source, &p) == 0 &&
           bd_place_overlap(&p, 0, UINT64_MAX, src, off, len);
}

static char *slurp_mountinfo(size_t *len)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *text = NULL;
    size_t cap = 0;
    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len + 4096 > cap) {
            char *t = realloc(text, cap = cap ? cap * 2 : 65536);
            if (!t) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = t;
        }
        size_t n = fread(text + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return text;
}

int bd_find_mount(const blockdev *bd, uint64_t off, uint64_t len, bd_mountinfo *hit, p2v_err *err)
{
    size_t n, pos = 0;
    char *text = slurp_mountinfo(&n);
    bd_place src;
    bd_mountinfo e;
    int found = 0;
    if (!text)
        return p2v_errf(err, -errno ? -errno : -EIO, "/proc/self/mountinfo: cannot read it (%s)",
                        strerror(errno ? errno : EIO));
    bd_place_of(bd, &src);
    while (bd_mountinfo_next(text, n, &pos, &e)) {
        if (!mount_on(&e, &src, off, len))
            continue;
        if (!found || (hit->ro && !e.ro))
            *hit = e;
        found = 1;
        if (!e.ro)
            break;
    }
    free(text);
    return found;
}
