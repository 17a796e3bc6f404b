/* convert --vm-def on the command line: its checks before the run, the
 * notices after it, and its --json entry. The work is convert/vmdef.c's. */
#include "cli/convert_vmdef.h"

#include "cli/commands.h"
#include "sink/sink.h"
#include "util/json.h"
#include "vmdef/vmdef.h"

/* --json: "vm_definition", what the definition holds and where it went. */
void cli_vmdef_json(json_writer *j, const convert_vmdef_done *d)
{
    json_key(j, "vm_definition");
    json_obj_begin(j);
    json_kstr(j, "format", d->format);
    json_kstr(j, "file", d->file);
    json_kstr(j, "name", d->name);
    json_kstr(j, "disk", d->disk);
    json_kstr(j, "firmware", d->uefi ? "uefi" : "bios");
    json_kbool(j, "secure_boot", d->secure_boot);
    json_kstr(j, "bus", d->bus);
    json_kstr(j, "nic", d->nic);
    json_kstr(j, "mac", d->mac);
    json_ku64(j, "memory", d->memory);
    json_ku64(j, "cpus", d->cpus);
    json_kbool(j, "smbios", d->smbios);
    json_kstr(j, "msdm", *d->msdm ? d->msdm : NULL);
    json_kbool(j, "tpm", d->tpm);
    json_kstr(j, "os_version", *d->os_version ? d->os_version : NULL);
    json_obj_end(j);
}

int cli_write_vmdef(const convert_job *job, const char *output, convert_vmdef_done *done)
{
    p2v_err err;
    if (convert_write_vmdef(job, done, &err) < 0) {
        cli_error("%s (the image %s is kept)", err.msg, output);
        return P2V_EXIT_FAIL;
    }
    if (done->secure_boot_ignored)
        cli_warning("--secure-boot: the image boots with BIOS; the VM gets no Secure Boot");
    if (*done->msdm)
        cli_notice("the machine's ACPI MSDM table copied to %s", done->msdm);
    cli_notice("VM definition (%s) written to %s%s", done->format, done->file,
               done->tpm ? " (with a TPM)" : "");
    return P2V_EXIT_OK;
}

/* --vm-def without FILE names it after OUTPUT, which must then be a file. */
int cli_check_vmdef(const struct convert_args *a, const char *output)
{
    const struct vmdef_format *f;
    const char *file;
    p2v_err err;
    struct sink_target_info ti;
    if (a->dry_run && !a->save_plan)
        return convert_usage_error("%s", "--vm-def describes the written image: not with "
                                         "--dry-run (but with --save-plan, to save it)");
    if (vmdef_parse_spec(a->vmdef.spec, &f, &file, &err) < 0)
        return convert_usage_error("%s", err.msg);
    if (!output)
        return 0;   /* --save-plan alone: nothing written */
    sink_target_info(output, &ti);
    if (!file && !ti.is_file)
        return convert_usage_error("--vm-def: the %s has no file name to follow; give "
                                   "FORMAT:FILE", ti.what);
    return 0;
}

