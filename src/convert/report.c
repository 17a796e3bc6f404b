/* The planned layout and the result as text (the dry run's table) and JSON. */
#include <stdio.h>
#include <string.h>

#include "convert/steps.h"
#include "convert/winfix.h"
#include "util/size.h"

static void part_type_str(const plan *p, const plan_part *pp, char *out, size_t len)
{
    if (p->table == PTABLE_MBR) {
        snprintf(out, len, "0x%02x %s", pp->mbr_type, ptable_mbr_type_name(pp->mbr_type));
    } else {
        snprintf(out, len, "%s", ptable_gpt_type_name(&pp->type_guid));
    }
}

/* What the Windows step changes in the image, one line each, after the
 * count of every fix that counts (the rows of convert_winfixes[]). */
static void windows_text(const convert_job *job, FILE *f)
{
    const win_report *w = &job->win.rep;
    if (job->rq.no_windows_fixups) {
        fprintf(f, "\nWindows changes: none (--no-windows-fixups)\n");
        return;
    }
    if (!w->changes.count && !w->warnings.count)
        return;
    fprintf(f, "\nWindows changes (");
    const char *sep = "";
    for (size_t k = 0; k < convert_nwinfixes; k++)
        if (convert_winfixes[k]->count.text) {
            fprintf(f, "%s%u %s", sep, job->win.changed[k], convert_winfixes[k]->count.text);
            sep = ", ";
        }
    fprintf(f, "):\n");
    for (size_t i = 0; i < w->changes.count; i++)
        fprintf(f, "  %s\n", w->changes.msgs[i]);
    for (size_t i = 0; i < w->warnings.count; i++)
        fprintf(f, "  warning: %s\n", w->warnings.msgs[i]);
}

static void windows_json(const convert_job *job, json_writer *j)
{
    const win_report *w = &job->win.rep;
    json_key(j, "windows");
    json_obj_begin(j);
    json_kbool(j, "fixups", !job->rq.no_windows_fixups);
    for (size_t k = 0; k < convert_nwinfixes; k++)
        if (convert_winfixes[k]->count.json)
            json_ku64(j, convert_winfixes[k]->count.json, job->win.changed[k]);
    json_key(j, "changes");
    json_arr_begin(j);
    for (size_t i = 0; i < w->changes.count; i++)
        json_str(j, w->changes.msgs[i]);
    json_arr_end(j);
    json_key(j, "warnings");
    json_arr_begin(j);
    for (size_t i = 0; i < w->warnings.count; i++)
        json_str(j, w->warnings.msgs[i]);
    json_arr_end(j);
    json_obj_end(j);
}

/* Partitions of another size than their source: old and new size, what
 * happens to the filesystem, the bytes moved inside it. */
static void resize_text(const convert_job *job, FILE *f)
{
    bool any = false;
    for (size_t i = 0; i < job->rs.n; i++) {
        const convert_resize_part *rp = &job->rs.parts[i];
        if (!rp->resized)
            continue;
        char name[300], h1[32], h2[32], h3[32];
        if (!any)
            fprintf(f, "\nResized partitions:\n");
        any = true;
        convert_part_source_name(job, &job->plan->parts[i], name, sizeof name);
        fprintf(f, "  %s: %s -> %s; %s; %s relocated\n", name,
                size_human(rp->old_bytes, h1, sizeof h1), size_human(rp->new_bytes, h2, sizeof h2),
                rp->fs.action, size_human(rp->fs.relocated, h3, sizeof h3));
    }
}

static void resize_json(const convert_job *job, json_writer *j, size_t i)
{
    const convert_resize_part *rp = convert_resize_part_of(job, i);
    json_key(j, "resize");
    if (!rp || !rp->resized) {
        json_null(j);
        return;
    }
    json_obj_begin(j);
    json_ku64(j, "old_bytes", rp->old_bytes);
    json_ku64(j, "new_bytes", rp->new_bytes);
    json_kstr(j, "fstype", rp->fi.fstype[0] ? rp->fi.fstype : NULL);
    json_ku64(j, "fs_old_bytes", rp->fi.fs_bytes);
    json_ku64(j, "fs_new_bytes", rp->fs.fs_new);
    json_ku64(j, "used_bytes", rp->fi.used_bytes);
    json_ku64(j, "relocated_bytes", rp->fs.relocated);
    json_kstr(j, "action", rp->fs.action);
    json_obj_end(j);
}

void convert_layout_text(const convert_job *job, FILE *f)
{
    const plan *p = job->plan;
    char h[32], id[P2V_GUID_STRLEN + 16];
    if (p->table == PTABLE_MBR)
        snprintf(id, sizeof id, "disk signature 0x%08x", p->mbr_signature);
    else {
        char g[P2V_GUID_STRLEN];
        guid_format(&p->disk_guid, g);
        snprintf(id, sizeof id, "disk GUID %s", g);
    }
    fprintf(f, "Target: %s table, %s (%llu bytes), %u-byte sectors, %s alignment\n",
            p->table == PTABLE_MBR ? "MBR" : "GPT", size_human(plan_disk_bytes(p), h, sizeof h),
            (unsigned long long)plan_disk_bytes(p), p->sector_size,
            size_human(p->align, (char[32]){ 0 }, 32));
    fprintf(f, "New identity: %s\n", id);
    fprintf(f, "Firmware: %s%s", plan_firmware_str(p->firmware),
            p->firmware_from_source ? " (from the source)" : "");
    if (p->table == PTABLE_MBR && p->firmware == PLAN_FW_BIOS)
        fprintf(f, ", boot code: %s", p->has_boot_code ? p->boot_code_from : "none");
    fputc('\n', f);
    if (p->has_extended)
        fprintf(f, "Extended partition %u: sectors %llu-%llu\n", p->ext_number,
                (unsigned long long)p->ext_start,
                (unsigned long long)(p->ext_start + p->ext_sectors - 1));
    int wsrc = 6, wtype = 4, wfs = 2, wlabel = 5;
    for (size_t i = 0; i < p->nparts; i++) {
        char srcname[300], type[128];
        convert_part_source_name(job, &p->parts[i], srcname, sizeof srcname);
        part_type_str(p, &p->parts[i], type, sizeof type);
        wsrc = (int)strlen(srcname) > wsrc ? (int)strlen(srcname) : wsrc;
        wtype = (int)strlen(type) > wtype ? (int)strlen(type) : wtype;
        wfs = (int)strlen(p->parts[i].fstype) > wfs ? (int)strlen(p->parts[i].fstype) : wfs;
        wlabel = (int)strlen(p->parts[i].label) > wlabel ? (int)strlen(p->parts[i].label) : wlabel;
    }
    fprintf(f, "\n%-3s  %-*s  %10s  %10s  %-*s  %-*s  %-*s  %s\n", "NEW", wsrc, "SOURCE", "START",
            "SIZE", wtype, "TYPE", wfs, "FS", wlabel, "LABEL", "FLAGS");
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        char srcname[300], type[128], flags[64] = "";
        convert_part_source_name(job, pp, srcname, sizeof srcname);
        part_type_str(p, pp, type, sizeof type);
        if (pp->bootable)
            strcat(flags, "active ");
        if (pp->logical)
            strcat(flags, "logical ");
        if (p->table == PTABLE_GPT && pp->attrs)
            snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "attrs=0x%llx",
                     (unsigned long long)pp->attrs);
        if (flags[0] && flags[strlen(flags) - 1] == ' ')
            flags[strlen(flags) - 1] = '\0';
        fprintf(f, "%-3u  %-*s  %10llu  %10s  %-*s  %-*s  %-*s  %s\n", pp->number, wsrc, srcname,
                (unsigned long long)pp->start,
                size_human(pp->sectors * p->sector_size, h, sizeof h), wtype, type, wfs,
                pp->fstype[0] ? pp->fstype : "-", wlabel, pp->label[0] ? pp->label : "-", flags);
    }
    resize_text(job, f);
    convert_sysfiles_text(job, f);
    windows_text(job, f);
    convert_drivers_text(job, f);
}


void convert_layout_json(const convert_job *job, json_writer *j, const convert_result *res)
{
    convert_layout_json_open(job, j, res);
    json_obj_end(j);
    json_end(j);
}

void convert_layout_json_open(const convert_job *job, json_writer *j, const convert_result *res)
{
    const plan *p = job->plan;
    char g[P2V_GUID_STRLEN], buf[64];
    json_obj_begin(j);
    json_kstr(j, "output", job->rq.output);
    json_kstr(j, "format", job->rq.sink.format == SINK_RAW ? "raw" : "qcow2");
    json_kbool(j, "dry_run", !(res && res->done));
    json_kstr(j, "table", ptable_type_str(p->table));
    json_kstr(j, "firmware", plan_firmware_str(p->firmware));
    json_kbool(j, "firmware_from_source", p->firmware_from_source);
    json_ku64(j, "virtual_size", plan_disk_bytes(p));
    json_ku64(j, "sector_size", p->sector_size);
    json_ku64(j, "align", p->align);
    if (p->table == PTABLE_MBR) {
        snprintf(buf, sizeof buf, "0x%08x", p->mbr_signature);
        json_kstr(j, "id", buf);
        json_kstr(j, "boot_code", p->has_boot_code ? p->boot_code_from : NULL);
    } else {
        guid_format(&p->disk_guid, g);
        json_kstr(j, "id", g);
    }
    json_key(j, "partitions");
    json_arr_begin(j);
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        json_obj_begin(j);
        json_ku64(j, "number", pp->number);
        json_kstr(j, "kind", pp->kind == PLAN_PART_COPY ? "copy"
                             : pp->kind == PLAN_PART_MSR ? "msr" : "new");
        if (pp->kind == PLAN_PART_COPY) {
            json_kstr(j, "source_disk", job->src[pp->disk]->path);
            json_ku64(j, "source_number", pp->src->number);
            json_ku64(j, "source_start", pp->src->start);
        } else {
            json_knull(j, "source_disk");
        }
        json_ku64(j, "start", pp->start);
        json_ku64(j, "size", pp->sectors);
        json_ku64(j, "start_bytes", pp->start * p->sector_size);
        json_ku64(j, "size_bytes", pp->sectors * p->sector_size);
        if (p->table == PTABLE_MBR) {
            snprintf(buf, sizeof buf, "0x%02x", pp->mbr_type);
            json_kstr(j, "type", buf);
            json_kstr(j, "type_name", ptable_mbr_type_name(pp->mbr_type));
            json_kbool(j, "bootable", pp->bootable);
            json_kbool(j, "logical", pp->logical);
        } else {
            guid_format(&pp->type_guid, g);
            json_kstr(j, "type", g);
            json_kstr(j, "type_name", ptable_gpt_type_name(&pp->type_guid));
            guid_format(&pp->uuid, g);
            json_kstr(j, "uuid", g);
            json_kstr(j, "name", pp->name);
            /* as in p2v disks --json: a hex string (JSON numbers lose bits above 2^53) */
            snprintf(buf, sizeof buf, "0x%016llx", (unsigned long long)pp->attrs);
            json_kstr(j, "attrs", buf);
        }
        json_kstr(j, "fstype", pp->fstype[0] ? pp->fstype : NULL);
        json_kstr(j, "label", pp->label[0] ? pp->label : NULL);
        if (pp->kind == PLAN_PART_COPY) {
            resize_json(job, j, i);
            convert_sysfiles_json(job, j, i);
        }
        json_obj_end(j);
    }
    json_arr_end(j);
    convert_drivers_json(job, j);
    json_key(j, "notices");
    json_arr_begin(j);
    for (size_t i = 0; i < p->notes.count; i++)
        json_str(j, p->notes.msgs[i]);
    json_arr_end(j);
    windows_json(job, j);
    if (res && res->done) {
        json_ku64(j, "copied_bytes", res->read);
        json_ku64(j, "written_bytes", res->written);
        json_ku64(j, "system_files_bytes", res->system_files_bytes);
        json_ku64(j, "image_bytes", res->file_bytes);
        json_key(j, "seconds");
        json_double(j, res->seconds);
        json_kbool(j, "verified", res->verify_ok);
        json_ku64(j, "verified_bytes", res->verified);
        json_ku64(j, "bad_sectors", res->bad_sectors);
        json_ku64(j, "bad_bytes", res->bad_bytes);
        if (res->badmap[0])
            json_kstr(j, "bad_sector_map", res->badmap);
    }
    if (res && res->done && job->rq.output) {
        struct sink_target_info ti;
        sink_target_info(job->rq.output, &ti);
        json_key(j, "output_target");
        json_obj_begin(j);
        json_kstr(j, "name", ti.name);
        json_kstr(j, "what", ti.what);
        if (res->target[0])
            json_kstr(j, "description", res->target);
        json_obj_end(j);
    }
}

