/* Output names per PC: OUTPUT's {serial} {uuid} {vendor} {model} {mac}
 * {computername} {date} filled from the PC being converted (the SMBIOS
 * reader of src/vmdef, the ComputerName of the selected Windows), made safe
 * by util/nametmpl.c. docs/fleet.md. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "convert/convert_impl.h"
#include "util/nametmpl.h"
#include "vmdef/vmdef.h"
#include "windows/computername.h"

/* The ComputerName of the first selected partition holding a Windows. */
static void read_computername(const convert_request *rq, convert_pc *pc)
{
    convert_disk_opts o = { .sector_size = rq->sector_size };
    snprintf(pc->computername_why, sizeof pc->computername_why,
             "no Windows among the selected partitions");
    for (size_t i = 0; i < rq->nsels; i++) {
        convert_disk *d;
        p2v_err e;
        if (convert_disk_open(rq->sels[i].disk, &o, &d, &e) < 0)
            continue;   /* the conversion names it when it opens the disk */
        const convert_part *cp = convert_disk_part(d, rq->sels[i].number);
        bool win = cp && cp->win_probed && cp->win.win.present;
        int r = -ENOENT;
        if (win)
            r = win_computername_part(d->bd, cp->p->start * d->pt->sector_size,
                                      cp->p->size * d->pt->sector_size, pc->computername,
                                      sizeof pc->computername, &e);
        if (win && r < 0)
            snprintf(pc->computername_why, sizeof pc->computername_why, "%s:%u: %s",
                     rq->sels[i].disk, rq->sels[i].number, e.msg);
        convert_disk_free(d);
        if (win)
            return;
    }
}

int convert_pc_read(const convert_request *rq, const char *machine_root, bool want_computername,
                    convert_pc *pc, p2v_err *err)
{
    struct vm_machine m;
    time_t t = time(NULL);
    struct tm tm;
    memset(pc, 0, sizeof *pc);
    int r = vm_machine_read(machine_root ? machine_root : "/", &m, err);
    if (r < 0)
        return r;
    snprintf(pc->serial, sizeof pc->serial, "%s", m.serial);
    snprintf(pc->uuid, sizeof pc->uuid, "%s", m.uuid);
    snprintf(pc->vendor, sizeof pc->vendor, "%s", m.vendor);
    snprintf(pc->model, sizeof pc->model, "%s", m.product);
    if (m.nmacs)
        snprintf(pc->mac, sizeof pc->mac, "%s", m.macs[0]);
    gmtime_r(&t, &tm);
    strftime(pc->date, sizeof pc->date, "%Y-%m-%d", &tm);
    if (want_computername)
        read_computername(rq, pc);
    return 0;
}

int convert_output_fields(const char *output, bool *computername, p2v_err *err)
{
    unsigned used = 0;
    *computername = false;
    if (!output || !nametmpl_has_fields(output))
        return 0;
    int r = nametmpl_fields(output, &used, err);
    *computername = used & (1u << NT_COMPUTERNAME);
    return r;
}

int convert_output_expand(const char *output, const convert_pc *pc, char *out, size_t len,
                          p2v_err *err)
{
    struct nametmpl_values v = { .v = {
        [NT_SERIAL] = pc->serial, [NT_UUID] = pc->uuid, [NT_VENDOR] = pc->vendor,
        [NT_MODEL] = pc->model, [NT_MAC] = pc->mac, [NT_COMPUTERNAME] = pc->computername,
        [NT_DATE] = pc->date },
        .why = { [NT_COMPUTERNAME] = pc->computername_why } };
    int r = nametmpl_expand(output, &v, out, len, err);
    if (r < 0)
        p2v_err_prefix(err, r, "-o");
    return r;
}
