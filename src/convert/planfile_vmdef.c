/* Plan files: options.vm_def, the VM definition written beside the image
 * (--vm-def and its companions), saved so that a plan replays to the same
 * result (docs/plan-files.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/planfile_impl.h"
#include "plan/plan.h"
#include "vmdef/vmdef.h"

#define WHERE "options.vm_def"

static const char *const tpm_names[] = { [CONVERT_TPM_AUTO] = "auto", [CONVERT_TPM_YES] = "yes",
                                         [CONVERT_TPM_NO] = "no" };

json_object *planfile_vmdef_json(const convert_vmdef_opts *vm)
{
    const struct vmdef_format *f;
    const char *file;
    p2v_err e;
    if (!vm || !vm->spec || vmdef_parse_spec(vm->spec, &f, &file, &e) < 0)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "format", json_object_new_string(f->name));
    json_object_object_add(o, "file", file ? json_object_new_string(file) : NULL);
    json_object_object_add(o, "keep_mac", json_object_new_boolean(vm->keep_mac));
    json_object_object_add(o, "keep_smbios", json_object_new_boolean(vm->keep_smbios));
    json_object_object_add(o, "secure_boot", json_object_new_boolean(vm->secure_boot));
    json_object_object_add(o, "memory", json_object_new_int64((int64_t)vm->memory));
    json_object_object_add(o, "cpus", json_object_new_int64(vm->cpus));
    json_object_object_add(o, "tpm", json_object_new_string(
                                          (unsigned)vm->tpm < 3 ? tpm_names[vm->tpm] : "auto"));
    return o;
}

int planfile_parse_vmdef(json_object *opts, convert_planfile *pf, p2v_err *err)
{
    static const char *const keys[] = { "format", "file", "keep_mac", "keep_smbios",
                                        "secure_boot", "memory", "cpus", "tpm", NULL };
    json_object *o;
    const char *format, *file, *tpm;
    uint64_t memory = 0, cpus = 0;
    convert_vmdef_opts *vm = &pf->rq.vmdef;
    int r = planfile_get(opts, "vm_def", json_type_object, true, &o, "options", err);
    if (r < 0 || !o)
        return r;
    if ((r = planfile_check_keys(o, keys, WHERE, err)) < 0 ||
        (r = planfile_get_str(o, "format", false, &format, WHERE, err)) < 0 ||
        (r = planfile_get_str(o, "file", true, &file, WHERE, err)) < 0 ||
        (r = planfile_get_bool(o, "keep_mac", &vm->keep_mac, WHERE, err)) < 0 ||
        (r = planfile_get_bool(o, "keep_smbios", &vm->keep_smbios, WHERE, err)) < 0 ||
        (r = planfile_get_bool(o, "secure_boot", &vm->secure_boot, WHERE, err)) < 0 ||
        (r = planfile_get_u64(o, "memory", true, PLAN_MAX_DISK_BYTES, &memory, WHERE, err)) < 0 ||
        (r = planfile_get_u64(o, "cpus", true, 1024, &cpus, WHERE, err)) < 0 ||
        (r = planfile_get_str(o, "tpm", true, &tpm, WHERE, err)) < 0)
        return r;
    int t = tpm ? -1 : CONVERT_TPM_AUTO;
    for (int i = 0; tpm && i < 3; i++)
        if (!strcmp(tpm, tpm_names[i]))
            t = i;
    if (t < 0)
        return p2v_errf(err, -EINVAL, "plan: " WHERE ": \"tpm\": unknown value \"%.32s\" "
                                      "(auto, yes or no)", tpm);
    vm->tpm = (enum convert_tpm)t;
    if (!vmdef_format_find(format))
        return p2v_errf(err, -EINVAL, "plan: " WHERE ": \"format\": unknown value \"%s\" (%s)",
                        format, vmdef_format_names());
    if (file && !*file)
        return p2v_errf(err, -EINVAL, "plan: " WHERE ": \"file\" is empty (null: named after "
                                      "OUTPUT)");
    if (asprintf(&pf->vmdef_spec, "%s%s%s", format, file ? ":" : "", file ? file : "") < 0) {
        pf->vmdef_spec = NULL;
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    vm->spec = pf->vmdef_spec;
    vm->memory = memory;
    vm->cpus = (unsigned)cpus;
    return 0;
}
