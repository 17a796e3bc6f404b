/* --vm-def: while planning, what the VM definition decides that other steps
 * follow (this machine read once, the MAC the VM's NIC gets, which the
 * network step picks the new adapter by; BitLocker in use, a TPM); after
 * the image is committed, the VM around it (vmdef/) from what the
 * conversion knows: the firmware it planned, the bus and NIC the Windows
 * drivers were prepared for, the Windows version, and with --keep-mac /
 * --keep-smbios this machine's identity (P2V_MACHINE_ROOT in tests).
 * docs/vm-definition.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert_impl.h"
#include "convert/layers.h"
#include "vmdef/vmdef.h"
#include "windows/drivers.h"

#define GIB ((uint64_t)1 << 30)
#define MSDM_MAX (64u * 1024)

/* The VM's name: OUTPUT's last name without its extension (an RBD image
 * without its options, an NBD export without its query), in [A-Za-z0-9._-]. */
static void vm_name(const char *output, char *name, size_t len)
{
    const char *s = output, *end;
    if (!strncmp(s, "rbd:", 4)) {
        s += 4;
        end = strchr(s, ':');
    } else {
        end = strchr(s, '?');
    }
    if (!end)
        end = s + strlen(s);
    for (const char *p = s; p < end; p++)
        if (*p == '/')
            s = p + 1;
    const char *dot = NULL;
    for (const char *p = s + 1; p < end; p++)
        if (*p == '.')
            dot = p;
    if (dot && s < end)
        end = dot;
    size_t n = 0;
    for (const char *p = s; p < end && n + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        name[n++] = ok ? (char)c : '_';
    }
    name[n] = 0;
    if (!n)
        snprintf(name, len, "p2v-vm");
}

/* FILE when not given: OUTPUT without its extension, with the format's. */
static int default_file(const char *output, const char *ext, char *out, size_t len, p2v_err *err)
{
    const char *slash = strrchr(output, '/');
    const char *base = slash ? slash + 1 : output;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - output) : strlen(output);
    if ((size_t)snprintf(out, len, "%.*s%s", (int)n, output, ext) >= len)
        return p2v_errf(err, -ENAMETOOLONG, "--vm-def: %s: name too long", output);
    return 0;
}

/* Whether a driver service was chosen for any converted Windows. */
static bool staged(const convert_job *job, const char *service)
{
    for (size_t i = 0; job->drv && i < job->plan->nparts; i++) {
        const drv_job *dj = job->drv[i];
        if (dj && dj->has_sel && drv_selection_find(&dj->sel, service))
            return true;
    }
    return false;
}

/* The Windows the driver step read (the first), if any. */
static bool windows_version(const convert_job *job, char *ver, size_t len)
{
    for (size_t i = 0; job->drv && i < job->plan->nparts; i++)
        if (job->drv[i]) {
            const drv_windows *w = &job->drv[i]->win;
            if (w->version_unknown)
                ver[0] = 0;
            else
                snprintf(ver, len, "%u.%u", w->major, w->minor);
            return true;
        }
    return false;
}

static enum vm_bus vm_bus_of(const convert_job *job)
{
    switch ((enum drv_bus)job->rq.target_bus) {
    case DRV_BUS_VIRTIO_BLK: return VM_BUS_VIRTIO_BLK;
    case DRV_BUS_VIRTIO_SCSI: return VM_BUS_VIRTIO_SCSI;
    case DRV_BUS_SATA: return VM_BUS_SATA;
    case DRV_BUS_IDE: return VM_BUS_IDE;
    case DRV_BUS_NONE: break;
    }
    return staged(job, "viostor") ? VM_BUS_VIRTIO_BLK : VM_BUS_SATA;
}

/* Every source is a block device of this machine: the PC itself. */
static bool sources_are_this_machine(const convert_job *job)
{
    for (size_t i = 0; i < job->nsrc; i++)
        if (!job->src[i]->has_st || !S_ISBLK(job->src[i]->st.st_mode))
            return false;
    return job->nsrc > 0;
}

/* The machine's figure when it is the source (capped by the option), else
 * the option, else the default. */
static uint64_t pick(bool machine, uint64_t have, uint64_t cap, uint64_t dflt)
{
    if (machine && have)
        return cap && cap < have ? cap : have;
    return cap ? cap : dflt;
}

/* Read the machine's MSDM table whole (sysfs hands it out in pieces). */
static int read_msdm(const char *from, unsigned char *buf, size_t *len, p2v_err *err)
{
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return p2v_errf(err, -errno, "%s: %s", from, strerror(errno));
    size_t n = 0;
    ssize_t r;
    while (n < MSDM_MAX && (r = read(fd, buf + n, MSDM_MAX - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return p2v_errf(err, -e, "%s: %s", from, strerror(e));
        }
        n += (size_t)r;
    }
    close(fd);
    if (n == MSDM_MAX)   /* an MSDM table is about a hundred bytes */
        return p2v_errf(err, -EFBIG, "%s: larger than %u bytes", from, MSDM_MAX - 1);
    *len = n;
    return 0;
}

/* Copy the machine's MSDM table to path (atomically: a temporary file renamed). */
static int copy_msdm(const char *from, const char *path, p2v_err *err)
{
    unsigned char *buf = malloc(MSDM_MAX);
    size_t n = 0;
    char tmp[PATH_MAX];
    int rc = buf ? read_msdm(from, buf, &n, err) : p2v_errf(err, -ENOMEM, "out of memory");
    if (rc == 0 && (size_t)snprintf(tmp, sizeof tmp, "%s.p2vtmp", path) >= sizeof tmp)
        rc = p2v_errf(err, -ENAMETOOLONG, "%s: name too long", path);
    int fd = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (rc == 0 && fd < 0)
        rc = p2v_errf(err, -errno, "%s: %s", tmp, strerror(errno));
    if (fd >= 0) {
        bool ok = write(fd, buf, n) == (ssize_t)n;
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp, path) < 0) {
            int e = errno ? errno : EIO;
            unlink(tmp);
            rc = p2v_errf(err, -e, "%s: %s", path, strerror(e));
        }
    }
    free(buf);
    return rc;
}

/* NAME.msdm.bin beside file, as an absolute path (the VM's config must
 * find it from anywhere). */
static int msdm_path(const char *file, const char *name, char *out, size_t len, p2v_err *err)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(file, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) + (slash == file) : 1,
             slash ? file : ".");
    if (!realpath(dir, real))
        return p2v_errf(err, -errno, "%s: %s", dir, strerror(errno));
    if ((size_t)snprintf(out, len, "%s/%s.msdm.bin", strcmp(real, "/") ? real : "", name) >= len)
        return p2v_errf(err, -ENAMETOOLONG, "%s: name too long", real);
    return 0;
}

/* The definition's inputs other than the machine's identity. */
static void fill_in(const convert_job *job, bool here, struct vmdef_in *in)
{
    const convert_vmdef_opts *o = &job->rq.vmdef;
    const struct vm_machine *m = job->machine;
    in->format = job->rq.sink.format == SINK_RAW ? VM_DISK_RAW : VM_DISK_QCOW2;
    in->disk_bytes = plan_disk_bytes(job->plan);
    in->uefi = job->plan->firmware == PLAN_FW_UEFI;
    in->secure_boot = o->secure_boot && in->uefi;
    in->bus = vm_bus_of(job);
    in->nic = staged(job, "netkvm") ? VM_NIC_VIRTIO : VM_NIC_E1000E;
    in->windows = windows_version(job, in->os_version, sizeof in->os_version);
    in->memory = pick(here, m->memory, o->memory, 4 * GIB);
    in->cpus = (unsigned)pick(here, m->cpus, o->cpus, 2);
    in->mac = job->vm_mac[0] ? job->vm_mac : NULL;
    in->smbios = o->keep_smbios ? m : NULL;
    in->tpm = o->tpm == CONVERT_TPM_YES || (o->tpm == CONVERT_TPM_AUTO && job->bitlocker);
}

/* A selected partition BitLocker-encrypted ("-FVE-FS-" in its boot sector,
 * fs/probe.c): Windows sealed its key in the PC's TPM. */
static bool find_bitlocker(const convert_job *job, char *what, size_t len)
{
    for (size_t i = 0; i < job->plan->nparts; i++) {
        const plan_part *pp = &job->plan->parts[i];
        const convert_part *cp = pp->kind == PLAN_PART_COPY ? convert_part_source(job, pp) : NULL;
        if (cp && cp->probed && cp->fs.bitlocker) {
            convert_part_source_name(job, pp, what, len);
            return true;
        }
    }
    return false;
}

int convert_vmdef_prepare(convert_job *job, const convert_events *ev, p2v_err *err)
{
    const convert_vmdef_opts *o = &job->rq.vmdef;
    char what[300];
    job->bitlocker = find_bitlocker(job, what, sizeof what);
    if (job->bitlocker)
        convert_say(ev, CONVERT_NOTICE,
                    "%s: BitLocker-encrypted (copied whole); its key was sealed in the PC's TPM, "
                    "so Windows asks for the recovery key on the VM's first boot; %s", what,
                    o->tpm == CONVERT_TPM_NO ? "the VM definition gets no TPM (--tpm no)"
                                             : "a VM definition (--vm-def) gives the VM a TPM");
    if (!o->spec)
        return 0;
    if (!(job->machine = calloc(1, sizeof *job->machine)))
        return p2v_errf(err, -ENOMEM, "out of memory");
    int rc = vm_machine_read(o->machine_root ? o->machine_root : "/", job->machine, err);
    if (rc < 0)
        return p2v_err_prefix(err, rc, "--vm-def: reading this machine");
    /* --keep-mac: the first wired NIC's; the network step follows it when
     * it is the only one (the Windows' one wired interface was on it) */
    if (o->keep_mac && job->machine->nmacs) {
        snprintf(job->vm_mac, sizeof job->vm_mac, "%s", job->machine->macs[0]);
        job->vm_mac_only = job->machine->nmacs == 1;
    }
    return 0;
}

void convert_vmdef_free(convert_job *job)
{
    free(job->machine);
    job->machine = NULL;
}

int convert_vmdef_check(const char *spec, p2v_err *err)
{
    const struct vmdef_format *f;
    const char *file;
    return vmdef_parse_spec(spec, &f, &file, err);
}

int convert_write_vmdef(const convert_job *job, convert_vmdef_done *done, p2v_err *err)
{
    const convert_vmdef_opts *o = &job->rq.vmdef;
    const struct vmdef_format *f;
    const char *file;
    int rc = vmdef_parse_spec(o->spec, &f, &file, err);
    if (rc < 0)
        return rc;
    if (!job->machine)
        return p2v_errf(err, -EINVAL, "--vm-def: the job was planned without it");
    memset(done, 0, sizeof *done);
    done->format = f->name;
    if (file)
        snprintf(done->file, sizeof done->file, "%s", file);
    else if ((rc = default_file(job->rq.output, f->ext, done->file, sizeof done->file, err)) < 0)
        return rc;
    char name[128], disk[PATH_MAX];
    vm_name(job->rq.output, name, sizeof name);
    struct sink_target_info ti;
    sink_target_info(job->rq.output, &ti);
    if (!ti.is_file || !realpath(job->rq.output, disk))
        snprintf(disk, sizeof disk, "%s", job->rq.output);
    struct vmdef_in in = { .name = name, .disk = disk };
    fill_in(job, sources_are_this_machine(job), &in);
    snprintf(done->name, sizeof done->name, "%s", name);
    snprintf(done->disk, sizeof done->disk, "%s", disk);
    done->memory = in.memory;
    done->cpus = in.cpus;
    done->uefi = in.uefi;
    done->secure_boot = in.secure_boot;
    done->tpm = in.tpm;
    done->bus = vm_bus_name(in.bus);
    done->nic = in.nic == VM_NIC_VIRTIO ? "virtio" : "e1000e";
    done->mac = in.mac;
    done->smbios = in.smbios != NULL;
    snprintf(done->os_version, sizeof done->os_version, "%s", in.os_version);
    done->secure_boot_ignored = o->secure_boot && !in.uefi;
    if (o->keep_smbios && job->machine->msdm) {
        if ((rc = msdm_path(done->file, name, done->msdm, sizeof done->msdm, err)) < 0 ||
            (rc = copy_msdm(job->machine->msdm_path, done->msdm, err)) < 0)
            return p2v_err_prefix(err, rc, "--vm-def: the MSDM table");
        in.msdm_file = done->msdm;
    }
    return vmdef_write_file(f, &in, done->file, err);
}
