/* The table of VM definition formats, the FORMAT[:FILE] option, the atomic
 * write, and the escaping every format shares. */
#include "vmdef/vmdef.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/markup.h"

static const struct vmdef_format *const formats[] = {
    &vmdef_libvirt,
    &vmdef_qemu,
    &vmdef_proxmox,
    &vmdef_openstack,
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const struct vmdef_format *vmdef_format_find(const char *name)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i]->name, name))
            return formats[i];
    return NULL;
}

const char *vmdef_format_names(void) { return "libvirt, qemu, proxmox, openstack"; }

int vmdef_parse_spec(const char *spec, const struct vmdef_format **f, const char **file,
                     p2v_err *err)
{
    char name[32];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    *f = NULL;
    *file = NULL;
    if (n == 0 || n >= sizeof name)
        return p2v_errf(err, -EINVAL, "--vm-def %s: expected FORMAT[:FILE], FORMAT one of %s",
                        spec, vmdef_format_names());
    memcpy(name, spec, n);
    name[n] = 0;
    if (!(*f = vmdef_format_find(name)))
        return p2v_errf(err, -EINVAL, "--vm-def %s: unknown format '%s' (%s)", spec, name,
                        vmdef_format_names());
    if (colon) {
        if (!colon[1])
            return p2v_errf(err, -EINVAL, "--vm-def %s: an empty FILE after ':'", spec);
        *file = colon + 1;
    }
    return 0;
}

const char *vm_bus_name(enum vm_bus b)
{
    static const char *const names[] = { "virtio-blk", "virtio-scsi", "sata", "ide" };
    return b <= VM_BUS_IDE ? names[b] : "?";
}

static bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

void vm_put_xml(FILE *out, const char *s)
{
    markup_put(out, s, MARKUP_APOS_XML);
}

void vm_put_shell(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; s && *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(is_ctl((unsigned char)*s) ? ' ' : *s, out);
    }
    fputc('\'', out);
}

void vm_put_qemu_opt(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == ',')
            fputs(",,", out);
        else
            fputc(is_ctl((unsigned char)*s) ? ' ' : *s, out);
    }
}

int vmdef_write_file(const struct vmdef_format *f, const struct vmdef_in *in, const char *path,
                     p2v_err *err)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return p2v_errf(err, -ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.p2v-XXXXXX", path);
    int fd = mkstemp(tmp), r = 0;
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        r = p2v_errf(err, -errno, "--vm-def: cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    r = f->write(in, out, err);
    if (fflush(out) || ferror(out) || fsync(fileno(out)))
        r = r < 0 ? r : p2v_errf(err, -EIO, "--vm-def: writing %s: %s", tmp, strerror(errno));
    if (fclose(out) && r == 0)
        r = p2v_errf(err, -EIO, "--vm-def: writing %s: %s", tmp, strerror(errno));
    if (r == 0 && f->executable)
        chmod(tmp, 0755);
    if (r == 0 && rename(tmp, path) < 0)
        r = p2v_errf(err, -errno, "--vm-def: cannot rename %s to %s: %s", tmp, path,
                     strerror(errno));
    if (r < 0)
        unlink(tmp);
out:
    free(tmp);
    return r;
}
